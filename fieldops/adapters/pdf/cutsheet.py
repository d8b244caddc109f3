"""Cut sheets (per work order) and rack sheets (per rack), rendered with reportlab platypus.

A work order's cut sheet is what a technician works from: a cover with the floor map (racks,
trays, doors, staging, the walking path and numbered stops) and the parts to collect; the
**step table** in walking order (one row per step, one row per end for a cable, each with a
check box, the label to match, location, DEVICE:PORT, length and SKU); then each step's
instruction once, with a QR code of its step ID; then the elevations of the racks it works in.

Every page carries a header with the design name, revision, the section (work order or rack)
and ``page x/y``. reportlab runs in invariant mode, so the same plan gives byte-identical
files. Text that could overflow is wrapped or cut with an ellipsis (single-line cells);
hostile lengths are capped before layout so nothing can exceed a page.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from fieldops.adapters.pdf import qr
from fieldops.adapters.pdf.document import written_whole
from fieldops.adapters.pdf.elevation import RackElevation
from fieldops.adapters.pdf.floormap import FloorMap
from fieldops.adapters.pdf.sheetlayout import build_table
from fieldops.adapters.pdf.steptable import step_tables
from fieldops.adapters.pdf.text import fit, para, pdf_text
from fieldops.core.problems import DesignError, Problem
from fieldops.core.workorder import PHASES

MM = 72 / 25.4
PAGESIZES = {"A4": A4, "letter": letter}
MARGIN = 14 * MM
HEADER_H = 10 * MM
MAX_TITLE = 200
MAX_INSTRUCTION = 2000
MAX_QR_BYTES = 200  # longer step IDs are printed, not encoded
TABLE_CHUNK = 40  # rows per Table: platypus splits long tables quadratically
CONFIRM_TEXT = {
    "scan_label": "scan both cable labels",
    "scan_asset": "scan the asset tag",
    "manual": "tick the box",
    "robot": "robot reports FINISHED",
    "robot+technician": "robot FINISHED + technician",
}

BODY = ParagraphStyle("body", fontName="Helvetica", fontSize=8, leading=9.6)
VALUE = ParagraphStyle("value", fontName="Helvetica", fontSize=9, leading=10.5)
SMALL = ParagraphStyle("small", fontName="Helvetica", fontSize=7, leading=8.2)
H1 = ParagraphStyle("h1", fontName="Helvetica-Bold", fontSize=15, leading=18, spaceAfter=4)
H2 = ParagraphStyle(
    "h2",
    fontName="Helvetica-Bold",
    fontSize=11,
    leading=14,
    spaceBefore=6,
    spaceAfter=3,
    keepWithNext=1,
)
H2_FLOW = ParagraphStyle("h2flow", parent=H2, keepWithNext=0)  # before a table that may split


def page_size(name: str):
    for key, size in PAGESIZES.items():
        if key.lower() == str(name).lower():
            return size
    raise DesignError(
        [Problem("--pagesize", 0, str(name), f"unknown page size '{name}' (A4 or letter)")]
    )


def _cap(text, limit: int) -> str:
    text = pdf_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- page furniture


def _canvas_maker(left: str):
    class HeaderCanvas(rl_canvas.Canvas):
        """Defers the header until the page count is known (``page x/y``)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._fo_pages: list[dict] = []
            self._fo_section = ""

        def showPage(self):  # noqa: N802 - reportlab's name
            self._fo_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._fo_pages)
            for n, state in enumerate(self._fo_pages, start=1):
                self.__dict__.update(state)
                self._fo_header(n, total)
                rl_canvas.Canvas.showPage(self)
            rl_canvas.Canvas.save(self)

        def _fo_header(self, n: int, total: int):
            w, h = self._pagesize
            y = h - MARGIN + 2
            self.saveState()
            self.setFont("Helvetica-Bold", 8)
            self.setFillColor(colors.black)
            right = f"page {n}/{total}"
            self.drawRightString(w - MARGIN, y, right)
            room = w - 2 * MARGIN - 60
            self.drawString(MARGIN, y, fit(left, "Helvetica-Bold", 8, room * 0.5))
            self.setFont("Helvetica", 8)
            self.drawCentredString(
                w / 2 + 20, y, fit(self._fo_section, "Helvetica", 8, room * 0.45)
            )
            self.setLineWidth(0.5)
            self.line(MARGIN, y - 3, w - MARGIN, y - 3)
            self.restoreState()

    return HeaderCanvas


class Section(Flowable):
    """Zero-size marker: pages from here on show ``text`` in their header."""

    def __init__(self, text: str):
        super().__init__()
        self.text = pdf_text(text)
        self.width = self.height = 0

    def wrap(self, aw, ah):
        return 0, 0

    def draw(self):
        self.canv._fo_section = self.text


def _build(path: Path, story: list, *, pagesize: str, title: str, left: str) -> Path:
    size = page_size(pagesize)
    with written_whole(path) as part:
        doc = BaseDocTemplate(
            str(part),
            pagesize=size,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN + HEADER_H,
            bottomMargin=MARGIN,
            title=pdf_text(title),
            author="fieldops",
            creator="fieldops",
            subject="",
            invariant=1,
            pageCompression=1,
        )
        frame = Frame(
            doc.leftMargin,
            doc.bottomMargin,
            doc.width,
            doc.height,
            id="body",
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
        )
        doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
        doc.build(story or [Paragraph("nothing to print", BODY)], canvasmaker=_canvas_maker(left))
    return path


def frame_size(pagesize: str) -> tuple[float, float]:
    w, h = page_size(pagesize)
    return w - 2 * MARGIN, h - 2 * MARGIN - HEADER_H


# ---------------------------------------------------------------- steps


class StepRow(Flowable):
    """One step's instruction, kept once below the step table: number, title, instruction,
    parts; then location, confirm rule and a QR code of the step ID."""

    NUMBER = 9 * MM
    INFO = 44 * MM
    QR_BOX = 15 * MM

    def __init__(self, n: int, step, width: float):
        super().__init__()
        self.n = n
        self.step = step
        self.width = width
        parts = ", ".join(f"{p.quantity} x {p.sku or p.kind} ({p.ref})" for p in step.parts[:12])
        if len(step.parts) > 12:
            parts += f", ... {len(step.parts) - 12} more"
        text = f"<b>{para(_cap(step.title, MAX_TITLE))}</b><br/>{para(_cap(step.instruction, MAX_INSTRUCTION))}"
        if parts:
            text += f"<br/><font size=7>Parts: {para(_cap(parts, 600))}</font>"
        self.para = Paragraph(text, BODY)
        self.text_w = width - self.NUMBER - self.INFO - self.QR_BOX - 6
        payload = step.id
        self.symbol = (
            qr.cached(payload) if payload and len(payload.encode()) <= MAX_QR_BYTES else None
        )

    def wrap(self, aw, ah):
        _, ph = self.para.wrap(self.text_w, ah)
        self.height = max(ph, 4 * 9, self.QR_BOX + 6) + 6
        return self.width, self.height

    def draw(self):
        c = self.canv
        h = self.height
        top = h - 3
        c.setFont("Helvetica-Bold", 11)
        c.setFillColor(colors.black)
        c.drawRightString(self.NUMBER - 3, top - 10, f"{self.n}.")
        self.para.drawOn(c, self.NUMBER, top - self.para.height)
        loc = self.step.location
        x = self.NUMBER + self.text_w + 4
        where = " ".join(
            p for p in (loc.rack, loc.face, f"U{loc.u}" if loc.u is not None else "") if p
        )
        lines = [
            ("Helvetica-Bold", 8, loc.location_id or "-"),
            ("Helvetica", 7, where or "-"),
            ("Helvetica", 7, f"{self.step.phase} / {self.step.kind}"),
            (
                "Helvetica-Oblique",
                7,
                "confirm: " + CONFIRM_TEXT.get(self.step.confirm, self.step.confirm),
            ),
        ]
        y = top - 8
        for font, size, text in lines:
            c.setFont(font, size)
            c.drawString(x, y, fit(text, font, size, self.INFO - 4))
            y -= size + 2
        qx = self.width - self.QR_BOX
        if self.symbol is not None:
            side = qr.module_side(self.symbol, self.QR_BOX)
            quiet = (self.QR_BOX - side) / 2
            c.addLiteral(qr.pdf_ops(self.symbol, qx + quiet, top - self.QR_BOX + quiet, side))
        c.setFont("Helvetica", 5)
        c.drawCentredString(
            qx + self.QR_BOX / 2,
            top - self.QR_BOX - 3,
            fit(self.step.id, "Helvetica", 5, self.QR_BOX + 6),
        )
        c.setLineWidth(0.25)
        c.setStrokeColor(colors.Color(0.6, 0.6, 0.6))
        c.line(0, 0.5, self.width, 0.5)


# ---------------------------------------------------------------- tables


def _end_cell(end) -> Paragraph:
    u = f" U{end.u}" if end.u is not None else ""
    return Paragraph(
        f"<b>{para(end.location_id)}</b>{para(u)} {para(end.face)}<br/>{para(_cap(end.device, 120))}:{para(_cap(end.port, 80))}",
        SMALL,
    )


def cable_tables(runs, width: float) -> list:
    """Cable ID, A end, B end, media, ordered length, SKU; chunked so long lists stay fast."""
    cols = [24 * MM, None, None, 24 * MM, 15 * MM, 30 * MM]
    rest = (width - sum(c for c in cols if c)) / 2
    cols = [c or rest for c in cols]
    header = ["Cable ID", "A end", "B end", "Media", "Ordered", "SKU"]
    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7),
            ("FONT", (0, 1), (-1, -1), "Helvetica", 7),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.Color(0.6, 0.6, 0.6)),
            ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
            ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ]
    )
    out = []
    runs = list(runs)
    for i in range(0, len(runs), TABLE_CHUNK):
        rows = [header]
        for r in runs[i : i + TABLE_CHUNK]:
            ordered = f"{r.ordered_mm / 1000:g} m" if r.ordered_mm else "NONE"
            rows.append(
                [
                    fit(r.id, "Helvetica", 7, cols[0] - 4),
                    _end_cell(r.a),
                    _end_cell(r.b),
                    fit(r.media, "Helvetica", 7, cols[3] - 4),
                    ordered,
                    fit(r.sku, "Helvetica", 7, cols[5] - 4),
                ]
            )
        out.append(Table(rows, colWidths=cols, repeatRows=1, style=style))
    return out


def _kv_table(rows, width: float) -> Table:
    data = [[k, fit(v, "Helvetica", 9, width * 0.7 - 6)] for k, v in rows]
    return Table(
        data,
        colWidths=[width * 0.3, width * 0.7],
        style=TableStyle(
            [
                ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9),
                ("FONT", (1, 0), (1, -1), "Helvetica", 9),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
            ]
        ),
        hAlign="LEFT",
    )


def _parts_tables(steps, width: float) -> list:
    counts: Counter = Counter()
    for s in steps:
        for p in s.parts:
            counts[(p.kind, p.sku or p.ref)] += p.quantity
    if not counts:
        return [Paragraph("No parts.", BODY)]
    items = sorted(counts.items())
    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
            ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.Color(0.6, 0.6, 0.6)),
            ("ALIGN", (2, 0), (2, -1), "RIGHT"),
        ]
    )
    cols = [30 * MM, width - 55 * MM, 25 * MM]
    out = []
    for i in range(0, len(items), TABLE_CHUNK):
        rows = [["Kind", "SKU / part", "Qty"]]
        rows += [
            [fit(k, "Helvetica", 8, cols[0] - 6), fit(sku, "Helvetica", 8, cols[1] - 6), str(q)]
            for (k, sku), q in items[i : i + TABLE_CHUNK]
        ]
        out.append(Table(rows, colWidths=cols, repeatRows=1, style=style, hAlign="LEFT"))
    return out


# ---------------------------------------------------------------- documents


def _kv_grid(pairs, width: float) -> Table:
    """Key-value pairs in two columns of (key, value), filling row by row."""
    rows = []
    for i in range(0, len(pairs), 2):
        row = []
        for k, v in pairs[i : i + 2]:
            row += [k, Paragraph(para(_cap(v, 200)), VALUE)]
        rows.append(row + [""] * (4 - len(row)))
    return Table(
        rows,
        colWidths=[width * 0.13, width * 0.37, width * 0.13, width * 0.37],
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
                ("FONT", (0, 0), (0, -1), "Helvetica-Bold", 9),
                ("FONT", (2, 0), (2, -1), "Helvetica-Bold", 9),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        ),
        hAlign="LEFT",
    )


def _elevations(design, steps, rows) -> dict[str, tuple[set, dict]]:
    """Racks the work order works in: {rack: (stack targets, {device: faces of its cabled
    ports})}, in the order first met."""
    fp = design.floorplan
    racks: dict[str, tuple[set, dict]] = {}

    def rack(name: str):
        if name and fp.rack(name) is not None:
            return racks.setdefault(name, (set(), {}))
        return None

    for s in steps:
        got = rack(s.location.rack)
        if got is not None and s.phase == "stack":
            got[0].update(p.ref for p in s.parts if p.kind == "device")
        if s.kind == "run_cable" and isinstance(s.action, dict):
            for key in ("a", "b"):
                end = s.action.get(key) or {}
                got = rack(end.get("rack", ""))
                if got is not None and end.get("device"):
                    got[1].setdefault(end["device"], set()).add(end.get("face", ""))
        elif s.kind == "connect_power" and isinstance(s.action, dict):
            got = rack(s.action.get("rack", ""))
            if got is not None and s.action.get("device"):
                got[1].setdefault(s.action["device"], set()).add(s.action.get("face", ""))
    return racks


def workorder_story(
    design, cable_plan, work, wo, *, width: float, height: float, paths=None, tray_fill=None
) -> list:
    index = work.step_index()
    steps = [index[sid] for sid in wo.steps if sid in index]
    phases = Counter(s.phase for s in steps)
    media_classes = {slug: m.media_class for slug, m in design.media.items()}
    rows, _ = build_table(steps, cable_plan.by_id(), media_classes)
    story: list = [
        Section(f"{wo.id} {wo.assignee}"),
        Paragraph(f"Work order {para(_cap(wo.id, 80))}: {para(_cap(wo.title, 120))}", H1),
    ]
    skipped = len(wo.steps) - len(steps)
    story.append(
        _kv_grid(
            [
                ("Hall", design.floorplan.name),
                ("Crew", wo.assignee or "-"),
                ("Area", wo.area or "-"),
                ("Shift", str(wo.shift)),
                (
                    "Steps",
                    f"{len(steps):,}" + (f" ({skipped} unknown IDs skipped)" if skipped else ""),
                ),
                ("Phases", ", ".join(f"{p} {phases[p]}" for p in PHASES if phases[p]) or "-"),
                ("Walking", f"{wo.walking_m:,.0f} m"),
            ],
            width,
        )
    )
    story.append(Spacer(1, 3 * MM))
    story.append(
        FloorMap(
            design,
            steps,
            paths=paths,
            tray_fill=tray_fill,
            width=width,
            max_height=min(170 * MM, height * 0.66),
        )
    )
    story.append(CondPageBreak(30 * MM))
    story.append(Paragraph("Parts to collect", H2_FLOW))
    story.extend(_parts_tables(steps, width))
    story.append(CondPageBreak(height * 0.4))  # the table starts on the cover when it has room
    story.append(Paragraph(f"Steps in walking order ({len(steps):,})", H2))
    story.append(
        Paragraph(
            "Tick each row when done: a cable has a row per end; match the label, plug it into "
            "DEVICE:PORT at the location, scan it. Stop = the number on the floor map. "
            "The instructions follow the table.",
            SMALL,
        )
    )
    story.append(Spacer(1, 2 * MM))
    story.extend(step_tables(rows, width))
    if steps:
        story.append(PageBreak())
        story.append(Paragraph("Instructions", H2))
        story.extend(StepRow(n, s, width) for n, s in enumerate(steps, start=1))
    racks = _elevations(design, steps, rows)
    if racks:
        story.append(PageBreak())
        story.append(Paragraph("Rack elevations", H2))
        for name, (targets, ports) in racks.items():
            story.append(
                RackElevation(
                    design,
                    name,
                    targets=sorted(targets),
                    ports=ports,
                    max_width=width,
                    max_height=min(height - 30, 200 * MM),
                )
            )
            story.append(Spacer(1, 4 * MM))
    return story


def render_cutsheets(
    path: Path, design, cable_plan, work, *, pagesize: str = "A4", paths=None, tray_fill=None
) -> Path:
    width, height = frame_size(pagesize)
    story: list = []
    for wo in work.workorders:
        if story:
            story.append(PageBreak())
        story.extend(
            workorder_story(
                design,
                cable_plan,
                work,
                wo,
                width=width,
                height=height,
                paths=paths,
                tray_fill=tray_fill,
            )
        )
    left = f"{design.name} rev {design.revision}"
    return _build(path, story, pagesize=pagesize, title=f"{left} cut sheets", left=left)


def render_rack_sheets(path: Path, design, cable_plan, *, pagesize: str = "A4", racks=None) -> Path:
    fp = design.floorplan
    names = sorted(r.name for r in fp.racks)
    if racks:
        unknown = [r for r in racks if fp.rack(r) is None]
        if unknown:
            known = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
            raise DesignError(
                [
                    Problem("--rack", 0, r, f"no rack '{r}' on the floor plan (known: {known})")
                    for r in unknown
                ]
            )
        names = [n for n in names if n in set(racks)]
    width, height = frame_size(pagesize)
    touching: dict[str, list] = {n: [] for n in names}
    for run in cable_plan.runs:
        for rack in dict.fromkeys((run.a.rack, run.b.rack)):
            if rack in touching:
                touching[rack].append(run)
    story: list = []
    for name in names:
        if story:
            story.append(PageBreak())
        rack = fp.rack(name)
        devices = [d for d in design.devices if d.rack == name]
        story.append(Section(f"rack {name}"))
        story.append(Paragraph(f"Rack {para(_cap(name, 80))}", H1))
        story.append(
            _kv_table(
                [
                    ("Location", fp.grid.location_id(*rack.position)),
                    ("Hall / row", f"{fp.name} / {rack.row or '-'}"),
                    ("Rack type", rack.rack_type),
                    ("Devices", str(len(devices))),
                    ("Cables", str(len(touching[name]))),
                ],
                width,
            )
        )
        story.append(
            RackElevation(design, name, max_width=width, max_height=min(height - 150, 200 * MM))
        )
        if touching[name]:
            story.append(
                Paragraph(f"Cables touching {para(_cap(name, 80))} ({len(touching[name]):,})", H2)
            )
            story.extend(cable_tables(touching[name], width))
        else:
            story.append(Paragraph("No cables touch this rack.", BODY))
    left = f"{design.name} rev {design.revision}"
    return _build(path, story, pagesize=pagesize, title=f"{left} rack sheets", left=left)
