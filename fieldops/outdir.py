"""Write output files so that a failure leaves nothing half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

_FLUSH_CHARS = 1 << 20  # buffer streamed chunks into ~1 MB writes


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


def atomic_write(path: str | Path, text: str | Iterable[str], *, mode: int = 0o644) -> Path:
    """Write ``text`` (a str or an iterable of str chunks) to ``path`` atomically; return ``path``.

    The text goes, UTF-8 and with line endings as given (``newline=""``), to a temporary file
    beside ``path``, which gets permission bits ``mode`` and is then renamed over ``path``.
    On any failure the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    chunks = (text,) if isinstance(text, str) else text
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            buf: list[str] = []
            size = 0
            for chunk in chunks:
                buf.append(chunk)
                size += len(chunk)
                if size > _FLUSH_CHARS:
                    f.write("".join(buf))
                    buf, size = [], 0
            f.write("".join(buf))
        os.chmod(tmp, mode)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
