"""A platypus document written all or nothing: a ``.part`` file renamed into place, reportlab's
invariant mode (same input, same bytes), the margins the single-flow sheets share."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate

MARGIN = 14 * mm


@contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """The ``.part`` file to build ``path`` in, renamed into place when the block ends well and
    removed when it fails; reportlab in invariant mode meanwhile (same input, same bytes)."""
    part = path.with_name(path.name + ".part")
    old = rl_config.invariant
    rl_config.invariant = 1
    try:
        yield part
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        rl_config.invariant = old


def write_flow_pdf(path, title: str, story: Callable[[float], list], *, pagesize=A4) -> Path:
    """Write ``story(frame_width)`` to ``path`` in one frame per page; nothing is left at
    ``path`` (nor a ``.part``) when building fails."""
    path = Path(path)
    with written_whole(path) as part:
        doc = SimpleDocTemplate(
            str(part),
            pagesize=pagesize,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN,
            title=title,
            author="fieldops",
            creator="fieldops",
            invariant=1,
            pageCompression=1,
        )
        doc.build(story(doc.width))
    return path
