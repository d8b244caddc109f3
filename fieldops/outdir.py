"""Write a set of output files so that a failure leaves nothing half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_outdir(outdir: Path):
    """Yield a staging directory; on success move its files into ``outdir`` (atomic per file).

    On any exception the staging directory is removed and ``outdir`` is left as it was.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".fieldops-", dir=outdir))
    try:
        yield stage
        for path in sorted(stage.rglob("*")):
            if path.is_file():
                target = outdir / path.relative_to(stage)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
