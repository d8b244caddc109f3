"""PDF output: cut sheets per work order, per-rack sheets, and QR label sheets.

``write_cutsheets`` and ``write_rack_sheets`` use reportlab (platypus) in invariant mode;
``write_labels`` streams label pages with a small writer of its own (:mod:`.pdfstream`) so
memory stays flat at 100,000 cables. See docs/printing.md.
"""

from __future__ import annotations

import os
from pathlib import Path

from fieldops.adapters.pdf.labelstock import DEFAULT_STOCK, get_stock

PARALLEL_FROM = 20_000  # labels; below this a process pool costs more than it saves
MAX_WORKERS = 4


def write_labels(
    path, design, cable_plan, *, stock: str = DEFAULT_STOCK, pagesize: str = "A4", warn=None
) -> Path:
    """Write ``labels.pdf``: two labels per cable (A end, B end), then device and rack labels,
    on ``stock`` laid out for ``pagesize`` (A4 or letter: the same setting as the cut sheets).

    ``warn(message)`` is told when some labels' text does not fit the stock in full (it
    names them and suggests a larger stock); the file is written either way.
    """
    from fieldops.adapters.pdf.labels import all_labels, write_label_pdf  # reportlab, zxing

    chosen = get_stock(stock, pagesize=pagesize)
    title = f"{design.name} rev {design.revision} labels ({chosen.name}, {chosen.paper})"
    count = 2 * len(cable_plan.runs) + len(design.devices) + len(design.floorplan.racks)
    workers = min(os.cpu_count() or 1, MAX_WORKERS) if count >= PARALLEL_FROM else 1
    cut: list[str] = []
    out = write_label_pdf(
        Path(path), all_labels(design, cable_plan), chosen, title=title, workers=workers, cut=cut
    )
    if cut and warn is not None:
        names = ", ".join(cut[:5]) + (f" and {len(cut) - 5} more" if len(cut) > 5 else "")
        warn(
            f"{len(cut):,} of {count:,} labels do not fit {chosen.name} in full even at 4 pt and "
            f"were cut: {names}; print them on a larger stock (--stock, see docs/printing.md)"
        )
    return out


def write_cutsheets(
    path, design, cable_plan, work, *, pagesize: str = "A4", paths=None, tray_fill=None
) -> Path:
    """Write ``cutsheets.pdf``: per work order a cover with the floor map and parts, the step
    table in walking order, each step's instruction, and the racks' elevations.

    ``paths`` maps a step ID to the walking polyline (mm) that reaches it, as the plan
    decided it (the map draws them; it never computes one). ``tray_fill`` maps
    ``(tray name, segment index)`` to a fill ratio; trays are shaded by it when given.
    """
    from fieldops.adapters.pdf.cutsheet import render_cutsheets

    return render_cutsheets(
        Path(path), design, cable_plan, work, pagesize=pagesize, paths=paths, tray_fill=tray_fill
    )


def write_rack_sheets(path, design, cable_plan, *, pagesize: str = "A4", racks=None) -> Path:
    """Write ``racks.pdf``: per rack its elevation (front and rear) and every cable touching it."""
    from fieldops.adapters.pdf.cutsheet import render_rack_sheets

    return render_rack_sheets(Path(path), design, cable_plan, pagesize=pagesize, racks=racks)


__all__ = ["write_cutsheets", "write_labels", "write_rack_sheets"]
