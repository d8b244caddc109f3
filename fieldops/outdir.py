"""Write output files so that a failure leaves nothing half-written, and never over files
fieldops did not write.

Each output folder gets a manifest (``.fieldops-outputs``) of the files fieldops wrote there.
A folder holding anything else is refused unless ``force``: a person's notes, another tool's
files or a design are never overwritten by accident. The files of an earlier run that this run
does not write again are removed, so the folder never mixes two plans.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

_FLUSH_CHARS = 1 << 20  # buffer streamed chunks into ~1 MB writes
MANIFEST = ".fieldops-outputs"
_SHOWN = 5


class OutdirError(Exception):
    """The output folder cannot be written as asked; the message says why and what to do."""


def _manifest(outdir: Path) -> dict[str, str]:
    """file (relative) -> the fieldops command that wrote it."""
    try:
        data = json.loads((outdir / MANIFEST).read_text(encoding="utf-8"))
        files = data.get("files", {})
        return {f: str(c) for f, c in files.items() if isinstance(f, str)}
    except (OSError, ValueError, AttributeError):
        return {}


def _present(outdir: Path) -> list[str]:
    return sorted(
        str(p.relative_to(outdir))
        for p in outdir.rglob("*")
        if not p.is_dir()
        and p.name != MANIFEST
        and not p.relative_to(outdir).parts[0].startswith(".fieldops-")  # our staging
    )


def check_outdir(outdir: str | Path, *, force: bool = False) -> None:
    """Raise OutdirError unless ``outdir`` is missing, empty, or holds only files fieldops
    wrote there (or ``force``). Called before any work, and again before writing."""
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise OutdirError(f"{outdir} exists and is not a folder")
    if force or not outdir.is_dir():
        return
    foreign = [f for f in _present(outdir) if f not in _manifest(outdir)]
    if foreign:
        shown = ", ".join(foreign[:_SHOWN]) + (", ..." if len(foreign) > _SHOWN else "")
        raise OutdirError(
            f"{outdir} holds {len(foreign)} file(s) fieldops did not write ({shown}); "
            "choose an empty or new folder, or pass --force to write into it anyway"
        )


@contextmanager
def staged_outdir(outdir: Path, *, force: bool = False, command: str = ""):
    """Yield a staging directory; on success move its files into ``outdir`` (atomic per file)
    and record them in the folder's manifest; files an earlier run of the same ``command``
    wrote and this one did not are removed (another command's files stay).

    On any exception the staging directory is removed and ``outdir`` is left as it was.
    """
    outdir = Path(outdir)
    check_outdir(outdir, force=force)
    outdir.mkdir(parents=True, exist_ok=True)
    before = _manifest(outdir)
    stage = Path(tempfile.mkdtemp(prefix=".fieldops-", dir=outdir))
    try:
        yield stage
        written = []
        for path in sorted(stage.rglob("*")):
            if path.is_file():
                rel = path.relative_to(stage)
                target = outdir / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
                written.append(str(rel))
        files = dict(before)
        for stale in sorted(f for f, c in before.items() if c == command and f not in written):
            del files[stale]
            if ".." not in Path(stale).parts and not Path(stale).is_absolute():
                (outdir / stale).unlink(missing_ok=True)
        files.update(dict.fromkeys(written, command))
        doc = {"files": dict(sorted(files.items()))}
        atomic_write(outdir / MANIFEST, json.dumps(doc, indent=1) + "\n")
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
