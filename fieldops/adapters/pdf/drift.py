"""The drift report as a PDF: one page per rack with drift, for the technician who fixes it.

Each rack's page shows the rack (both faces, the devices involved highlighted), what is wrong
there, most severe first (a line per item with its category and the fix-up step that puts it
right), then the fix-up steps located in that rack, drawn as the cut sheets draw steps
(:class:`fieldops.adapters.pdf.cutsheet.StepRow`: a check box, where to stand, how to confirm,
the step ID as a QR code the tablet app scans). Suspect cords are listed as checks
(no step). A rack whose items overflow the page continues on the next one; every rack starts on
a new page. reportlab runs in invariant mode: the same report gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from fieldops.adapters.pdf.cutsheet import StepRow
from fieldops.adapters.pdf.document import write_flow_pdf
from fieldops.adapters.pdf.elevation import RackElevation
from fieldops.adapters.pdf.text import para, pdf_text
from fieldops.core.drift import SEVERITY
from fieldops.core.fixups import fixup_index

MM = 72 / 25.4
MAX_CELL = 300  # characters of one item's message in the table's narrow column
TITLE = ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=15, leading=18, spaceAfter=2)
SUB = ParagraphStyle("sub", fontName="Helvetica", fontSize=8, leading=10, spaceAfter=4)
H2 = ParagraphStyle(
    "h2", fontName="Helvetica-Bold", fontSize=10, leading=13, spaceBefore=4, spaceAfter=2
)
BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=7.5, leading=9)
WORDS = {(kind, status): one for kind, status, one, _ in SEVERITY}
SEVERITY_COLOUR = {
    "missing": colors.Color(0.85, 0.2, 0.2),
    "wrong_u": colors.Color(0.85, 0.2, 0.2),
    "swapped": colors.Color(0.9, 0.45, 0.1),
    "wrong_port": colors.Color(0.9, 0.45, 0.1),
    "unexpected": colors.Color(0.75, 0.6, 0.1),
    "mislabelled": colors.Color(0.4, 0.4, 0.75),
    "suspect": colors.Color(0.5, 0.5, 0.5),
}


def _cap(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rack_pages(report, steps) -> list[tuple[str, list, list]]:
    """``[(rack, items, steps)]`` for every rack with a drift or suspect item or a fix-up step,
    items most severe first, steps in their safe order (pure: what the PDF shows)."""
    items: dict[str, list] = {}
    for d in report.items():
        items.setdefault(d.rack or "", []).append(d)
    placed: dict[str, list] = {}
    for s in steps:
        placed.setdefault(s.location.rack or "", []).append(s)
    racks = sorted(set(items) | set(placed))
    return [(r, items.get(r, []), placed.get(r, [])) for r in racks]


def _item_table(items, index: dict, width: float) -> Table:
    rows = [["", "what", "wrong here", "fix-up step"]]
    style = [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7.5),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]
    col = [4 * MM, 34 * MM, width - 4 * MM - 34 * MM - 38 * MM, 38 * MM]
    for i, d in enumerate(items, start=1):
        kind = "cable" if hasattr(d, "cable") else "device"
        ident = d.cable if kind == "cable" else d.device
        step = index.get(ident, "")
        words = WORDS.get((kind, d.status), d.status)
        rows.append(
            [
                "",
                Paragraph(f"<b>{para(d.status.replace('_', ' '))}</b><br/>{para(words)}", BODY),
                Paragraph(para(_cap(d.message, MAX_CELL)), BODY),
                Paragraph(
                    para(_cap(step, 120) or ("check only" if d.status == "suspect" else "-")), BODY
                ),
            ]
        )
        style.append(("BACKGROUND", (0, i), (0, i), SEVERITY_COLOUR.get(d.status, colors.grey)))
        style.append(("LINEBELOW", (0, i), (-1, i), 0.25, colors.Color(0.7, 0.7, 0.7)))
    t = Table(rows, colWidths=col, repeatRows=1)
    t.setStyle(TableStyle(style))
    return t


def _device_names(design, items) -> set[str]:
    names = set()
    for d in items:
        if hasattr(d, "device"):
            names.add(d.device)
            continue
        for port in (*d.designed, *d.observed):
            names.add(port.partition(":")[0])
    return {n for n in names if design.device(n) is not None}


def drift_story(design, report, steps, width: float) -> list:
    index = fixup_index(steps)
    fp = design.floorplan
    story: list = []
    pages = rack_pages(report, steps)
    for k, (rack, items, rack_steps) in enumerate(pages):
        if k:
            story.append(PageBreak())
        r = fp.rack(rack) if rack else None
        loc = fp.grid.location_id(*r.position) if r else ""
        story.append(
            Paragraph(para(f"Rack {rack or '(no rack)'}" + (f"  {loc}" if loc else "")), TITLE)
        )
        counts: dict[str, int] = {}
        for d in items:
            counts[d.status] = counts.get(d.status, 0) + 1
        summary = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items())
        story.append(
            Paragraph(
                para(
                    f"{design.name} rev {design.revision}, hall {fp.name}: {summary or 'no items'}; "
                    f"{len(rack_steps)} fix-up step(s) here"
                ),
                SUB,
            )
        )
        if r is not None:
            story.append(
                RackElevation(
                    design,
                    rack,
                    targets=_device_names(design, items),
                    max_width=width,
                    max_height=95 * MM,
                )
            )
        story.append(Paragraph("What is wrong here, most severe first", H2))
        story.append(_item_table(items, index, width) if items else Paragraph("nothing", BODY))
        if rack_steps:
            story.append(Paragraph("Fix-up steps, in this order", H2))
            for n, s in enumerate(rack_steps, start=1):
                story.append(KeepTogether([StepRow(n, s, width)]))
        story.append(Spacer(1, 2 * MM))
    return story


def write_drift_pdf(path, design, report, steps) -> Path:
    """Write the drift report PDF (one page per rack with drift); all or nothing."""
    return write_flow_pdf(
        path,
        pdf_text(f"{design.name} rev {design.revision} drift"),
        lambda width: (
            drift_story(design, report, list(steps), width)
            or [Paragraph("No drift: the hall is as designed.", BODY)]
        ),
    )
