"""The loop test sheet: one page per liquid-cooled rack, for the technician with the gauge.

Each rack's page lists its hoses (ID, both ends, SKU and length, a box per end), then fill
and bleed, the pressure test and the leak check with a box per reading and its limit, as the
plan carries them (``action.readings`` and ``action.limits`` of the steps, see docs/liquid.md).
The tablet is where readings are confirmed; the sheet is the paper record signed at the rack.
reportlab runs in invariant mode: the same plan gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import PageBreak, Paragraph, Spacer, Table, TableStyle

from fieldops.adapters.pdf.cutsheet import PAGESIZES
from fieldops.adapters.pdf.document import write_flow_pdf
from fieldops.adapters.pdf.text import para, pdf_text
from fieldops.core.workorder import natural_key

MM = 72 / 25.4
TITLE = ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=14, leading=17, spaceAfter=2)
H2 = ParagraphStyle("h2", fontName="Helvetica-Bold", fontSize=10, leading=13, spaceBefore=6)
BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=7.5, leading=9)
GRID = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
)
BOX = "[   ]"


def _limit(r: dict) -> str:
    parts = []
    if r.get("min") is not None:
        parts.append(f">= {r['min']:g}")
    if r.get("max") is not None:
        parts.append(f"<= {r['max']:g}")
    return " and ".join(parts) or "-"


def _readings_table(step, width: float) -> Table:
    a = step.action
    rows = [["reading", "unit", "passes when", "value"]]
    rows += [[pdf_text(r["label"]), r["unit"], _limit(r), ""] for r in a.get("readings") or ()]
    for lim in a.get("limits") or ():
        of = " - ".join(lim["of"])
        rows.append(
            [pdf_text(f"{lim['label']} ({of})"), lim.get("unit", ""), f"<= {lim['max']:g}", ""]
        )
    t = Table(rows, colWidths=[width * 0.45, width * 0.1, width * 0.2, width * 0.25], rowHeights=16)
    t.setStyle(GRID)
    return t


def _hose_table(hoses, width: float) -> Table:
    rows = [["hose", "end A", "end B", "SKU", "length", "A", "B"]]
    for s in hoses:
        a = s.action
        ea, eb = a.get("a") or {}, a.get("b") or {}
        rows.append(
            [
                a.get("cable", ""),
                pdf_text(f"{ea.get('device')}:{ea.get('port')}"),
                pdf_text(f"{eb.get('device')}:{eb.get('port')}"),
                pdf_text(a.get("sku", "")),
                f"{int(a.get('length_mm') or 0) / 1000:g} m",
                BOX,
                BOX,
            ]
        )
    w = [0.17, 0.24, 0.24, 0.17, 0.08, 0.05, 0.05]
    t = Table(rows, colWidths=[width * x for x in w], repeatRows=1)
    t.setStyle(GRID)
    return t


def loop_story(name: str, steps, width: float) -> list:
    """The flowables: a page per rack that has a pressure test, racks in name order."""
    by_id = {s.id: s for s in steps}
    tests = sorted((s for s in steps if s.kind == "pressure_test"), key=lambda s: s.id)
    story: list = []
    for pressure in tests:
        rack = pressure.action.get("rack", pressure.location.rack)
        fill, leak = by_id.get(f"fill:{rack}"), by_id.get(f"leak:{rack}")
        hoses = sorted(  # in the order of the rack: by the A end's device and port
            (by_id[h] for h in pressure.action.get("hoses") or () if h in by_id),
            key=lambda s: (natural_key(str((s.action.get("a") or {}).get("device", ""))), s.id),
        )
        if story:
            story.append(PageBreak())
        story += [
            Paragraph(para(f"{name}: coolant loop of rack {rack}"), TITLE),
            Paragraph(
                para(
                    f"{len(hoses)} hoses, {2 * len(hoses)} joints. Confirm each test on the tablet with its "
                    "readings; a failing reading blocks power-on of the rack. Sign each section here."
                ),
                BODY,
            ),
            Paragraph("Hoses (scan both labels; tick each end when the coupling clicks)", H2),
            _hose_table(hoses, width),
        ]
        for step, head in (
            (fill, "Fill and bleed"),
            (pressure, "Pressure test"),
            (leak, "Leak check"),
        ):
            if step is None:
                continue
            story += [
                Paragraph(para(f"{head} ({step.id})"), H2),
                Paragraph(para(step.instruction), BODY),
            ]
            if step.action.get("readings"):
                story += [Spacer(1, 3), _readings_table(step, width)]
            story.append(
                Paragraph(para("Done by ____________________   date/time ______________"), BODY)
            )
    return story


def write_loop_sheets(path, name: str, work, *, pagesize: str = "A4") -> Path | None:
    """Write ``looptests.pdf`` when the plan has loop tests (else nothing, None); all or nothing."""
    steps = list(work.steps)
    if not any(s.kind == "pressure_test" for s in steps):
        return None
    return write_flow_pdf(
        path,
        pdf_text(f"{name} loop tests"),
        lambda width: loop_story(name, steps, width),
        pagesize=PAGESIZES.get(pagesize, PAGESIZES["A4"]),
    )
