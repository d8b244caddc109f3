"""Resolve the files a design names, confined to its folder, and walk folders on a budget.

A design is often someone else's folder: a symlink or ``..`` in it must not make fieldops read
``/etc`` or walk the whole file system, and a symlink loop, an over-long name, an unreadable
file or a FIFO must end as a problem, not a traceback or a hang. Every check here raises
:class:`Refused` with a one-line reason; the loaders turn it into a ``file:line`` problem.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

MB = 1024 * 1024
MAX_WALK_FILES = 20_000  # YAML files in one device-type folder
MAX_WALK_BYTES = 256 * MB  # their total size
MAX_WALK_ENTRIES = 50_000  # directory entries looked at (YAML or not)
MAX_WALK_DEPTH = 32  # folder levels below the device-type folder
YAML_SUFFIXES = (".yaml", ".yml")
# kernel file systems: "files" there are endless, blocking or secret, never design input
SPECIAL_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))

_REASONS = {
    errno.ENOENT: "not found",
    errno.ENOTDIR: "not found (a part of the path is not a folder)",
    errno.ELOOP: "symlink loop (a link that points back at itself)",
    errno.ENAMETOOLONG: "file name too long",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


class Refused(Exception):
    """A path fieldops will not read; ``str()`` is the reason, in one line."""


def reason(exc: BaseException) -> str:
    """A one-line reason for an error from the file system (OSError, loops, NUL bytes)."""
    if isinstance(exc, RuntimeError):  # pathlib's "Symlink loop from ..." (Python 3.11)
        return _REASONS[errno.ELOOP]
    if isinstance(exc, ValueError):
        return "the path contains a NUL character"
    if isinstance(exc, OSError):
        return _REASONS.get(exc.errno, exc.strerror or type(exc).__name__).lower()
    return f"{type(exc).__name__}: {str(exc)[:120]}"


def real_path(path: Path) -> Path:
    """``path`` with every symlink resolved; it must exist. Raises Refused."""
    try:
        return Path(os.path.realpath(path, strict=True))
    except (OSError, RuntimeError, ValueError) as exc:
        raise Refused(reason(exc)) from None


def shown(path: Path, base: Path | None) -> str:
    """``path`` for a message: relative to ``base`` as the design wrote it (``../x.yaml``
    stays that), an absolute reference as it is; at most 120 characters."""
    if base is not None:
        try:
            return str(path.relative_to(base))[:120]
        except ValueError:
            pass
    return str(path)[:120]


def is_inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def confine(path: Path, root: Path | None) -> Path:
    """The real path of ``path``, refused when it leaves ``root`` (None: anywhere but the
    kernel's /proc, /sys and /dev). ``root`` must itself be a real path."""
    real = real_path(path)
    if root is not None and not is_inside(real, root):
        raise Refused(
            f"leads outside the design folder (to {real}); copy the file into the design, "
            "or set 'allow_outside: true' in design.yaml"
        )
    if any(is_inside(real, special) for special in SPECIAL_ROOTS):
        raise Refused(f"is in /{real.parts[1]}, a kernel file system, not a design file")
    return real


def regular_file(path: Path, root: Path | None) -> Path:
    """The confined real path of a regular file (not a folder, FIFO, socket or device)."""
    real = confine(path, root)
    try:
        mode = os.stat(real).st_mode
    except OSError as exc:
        raise Refused(reason(exc)) from None
    if stat.S_ISDIR(mode):
        raise Refused("is a directory, expected a file")
    if not stat.S_ISREG(mode):
        raise Refused("is not a regular file (a FIFO, socket or device)")
    return real


def folder(path: Path, root: Path | None) -> Path:
    """The confined real path of a folder."""
    real = confine(path, root)
    if not real.is_dir():
        raise Refused("is not a folder")
    return real


@dataclass
class Walk:
    """What :func:`walk_yaml` found: files (sorted) and the entries it skipped, with why."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def walk_yaml(top: Path, root: Path | None) -> Walk:
    """Every ``*.yaml``/``*.yml`` regular file under the real folder ``top``, without following
    symlinked folders or leaving ``top``'s file system; a symlinked file is taken only when it
    resolves inside ``root`` (None: anywhere but the kernel's file systems).

    Raises Refused when the folder holds more than ``MAX_WALK_FILES`` YAML files or
    ``MAX_WALK_BYTES`` of them, or more than ``MAX_WALK_ENTRIES`` entries in all: a device-type
    folder is a library, not a disk.
    """
    out = Walk()
    try:
        device = os.stat(top).st_dev
    except OSError as exc:
        raise Refused(reason(exc)) from None
    stack: list[tuple[Path, int]] = [(top, 0)]
    entries = total = 0
    while stack:
        here, depth = stack.pop()
        try:
            with os.scandir(here) as it:
                listing = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            out.skipped.append((here, reason(exc)))
            continue
        entries += len(listing)
        if entries > MAX_WALK_ENTRIES:
            raise Refused(
                f"holds over {MAX_WALK_ENTRIES:,} entries; point device_types at the folder "
                "of the device types the design uses"
            )
        for entry in listing:
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    if entry.name.endswith(YAML_SUFFIXES):
                        real = regular_file(path, root)
                        size = real.stat().st_size
                        out.files.append(path)
                        total += size
                    continue  # symlinked folders are never followed
                st = entry.stat(follow_symlinks=False)
            except Refused as exc:
                out.skipped.append((path, str(exc)))
                continue
            except OSError as exc:
                out.skipped.append((path, reason(exc)))
                continue
            if stat.S_ISDIR(st.st_mode):
                if st.st_dev != device:
                    out.skipped.append((path, "is another file system (not walked)"))
                elif depth + 1 > MAX_WALK_DEPTH:
                    out.skipped.append((path, f"nested deeper than {MAX_WALK_DEPTH} folders"))
                else:
                    stack.append((path, depth + 1))
            elif entry.name.endswith(YAML_SUFFIXES):
                if not stat.S_ISREG(st.st_mode):
                    out.skipped.append((path, "is not a regular file (a FIFO, socket or device)"))
                    continue
                out.files.append(path)
                total += st.st_size
            if len(out.files) > MAX_WALK_FILES:
                raise Refused(f"holds over {MAX_WALK_FILES:,} YAML files")
            if total > MAX_WALK_BYTES:
                raise Refused(f"holds over {MAX_WALK_BYTES // MB} MB of YAML files")
    out.files.sort()
    return out
