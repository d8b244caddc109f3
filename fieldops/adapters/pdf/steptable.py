"""The step table of a cut sheet: one row per step in walking order, one row per end for a cable.

Columns: check box, step number, stop (the map's number), what, the label to match, location,
DEVICE:PORT, length and SKU. A cable's two rows share its number, description, length and
SKU (spanned cells); each end has its own check box. Long tables are cut into chunks of
whole steps so platypus splits them quickly (it splits one long table quadratically).
"""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from fieldops.adapters.pdf.sheetlayout import TableRow
from fieldops.adapters.pdf.text import fit, para, pdf_text, text_width

MM = 72 / 25.4
STOP_BLUE = colors.Color(0.10, 0.35, 0.80)
STOP_GREEN = colors.Color(0.05, 0.55, 0.20)
ROWS_PER_TABLE = 40
FONT_PT = 8.0
LABEL_PT = 8.5  # the label and DEVICE:PORT: what a technician matches against the cable
HEADER = ("", "#", "Stop", "Step", "Label", "Location", "Device:port", "Length", "SKU")
# column widths in mm; the SKU column takes the rest of the frame
COLUMNS_MM = (7.0, 8.0, 9.0, 29.0, 30.0, 22.0, 31.0, 17.0)
WHAT = ParagraphStyle("what", fontName="Helvetica", fontSize=7.5, leading=8.6)
PORT = ParagraphStyle("port", fontName="Helvetica-Bold", fontSize=LABEL_PT, leading=9.6)
SKU = ParagraphStyle("sku", fontName="Helvetica", fontSize=FONT_PT, leading=9.2)


class CheckBox(Flowable):
    """An empty square to tick, 4.5 mm."""

    SIDE = 4.5 * MM

    def wrap(self, aw, ah):
        return self.SIDE, self.SIDE

    def draw(self):
        self.canv.setLineWidth(0.9)
        self.canv.setStrokeColor(colors.black)
        self.canv.rect(0, 0, self.SIDE, self.SIDE, stroke=1, fill=0)


class StopBadge(Flowable):
    """A stop number as the floor map draws it: white on a blue disc (green for stop 1)."""

    SIZE = 8.0

    def __init__(self, number: int):
        super().__init__()
        self.number = number
        self.text = str(number)
        self.r = max(5.6, stringWidth(self.text, "Helvetica-Bold", self.SIZE) / 2 + 2.2)

    def wrap(self, aw, ah):
        return 2 * self.r, 2 * self.r

    def draw(self):
        c = self.canv
        c.setFillColor(STOP_GREEN if self.number == 1 else STOP_BLUE)
        c.circle(self.r, self.r, self.r, stroke=0, fill=1)
        c.setFillColor(colors.white)
        c.setFont("Helvetica-Bold", self.SIZE)
        c.drawCentredString(self.r, self.r - self.SIZE * 0.35, self.text)


def column_widths(width: float) -> list[float]:
    cols = [w * MM for w in COLUMNS_MM]
    return cols + [max(15 * MM, width - sum(cols))]


def _cell(text: str, font: str, size: float, width: float, style: ParagraphStyle):
    """Plain text when it fits (cheap), a wrapping Paragraph when it does not."""
    text = pdf_text(text)
    if text_width(text, font, size) <= width:
        return text
    return Paragraph(para(text), style)


def _token_cell(
    text: str, font: str, size: float, width: float, style: ParagraphStyle, min_size: float
):
    """A DEVICE:PORT or SKU that does not fit: smaller type down to ``min_size``, then lines broken
    only after a ``:``, ``-``, ``/`` or ``_`` — never inside a name ("swp3" / "6" reads as
    swp3)."""
    text = pdf_text(text)
    if text_width(text, font, size) <= width:
        return text
    smaller = size
    while smaller - 0.5 >= min_size:
        smaller -= 0.5
        if text_width(text, font, smaller) <= width:
            return Paragraph(
                para(text), ParagraphStyle("fit", style, fontSize=smaller, leading=smaller * 1.15)
            )
    lines, cur = [], ""
    for piece in _pieces(text):
        if cur and text_width(cur + piece, font, size) > width:
            lines.append(cur)
            cur = ""
        cur += piece
    lines.append(cur)
    return Paragraph("<br/>".join(para(line) for line in lines), style)


def _pieces(text: str) -> list[str]:
    """``text`` cut after each separator: "ns-leaf:swp36" -> ["ns-", "leaf:", "swp36"]."""
    out, cur = [], ""
    for ch in text:
        cur += ch
        if ch in ":-/_":
            out.append(cur)
            cur = ""
    return [*out, cur] if cur else out


def _row_cells(row: TableRow, cols: list[float]) -> list:
    inner = [c - 4 for c in cols]
    length = row.length + (f"\nneed {row.routed}" if row.routed else "")
    return [
        CheckBox(),
        str(row.number) if row.first else "",
        StopBadge(row.stop) if row.stop is not None else "",
        _cell(row.what, "Helvetica", WHAT.fontSize, inner[3], WHAT) if row.first else "",
        fit(row.label, "Helvetica-Bold", LABEL_PT, inner[4]),
        f"{fit(row.place, 'Helvetica', FONT_PT, inner[5])}\n{row.where}",
        _token_cell(row.port, "Helvetica-Bold", LABEL_PT, inner[6], PORT, min_size=8.0),
        length if row.first else "",
        _token_cell(row.sku, "Helvetica", FONT_PT, inner[8], SKU, min_size=6.5)
        if row.first
        else "",
    ]


def _chunks(rows: list[TableRow]) -> list[list[TableRow]]:
    """Rows cut into tables of about ROWS_PER_TABLE rows, never inside a step."""
    out: list[list[TableRow]] = []
    cur: list[TableRow] = []
    for row in rows:
        if row.first and len(cur) >= ROWS_PER_TABLE:
            out.append(cur)
            cur = []
        cur.append(row)
    if cur:
        out.append(cur)
    return out


BASE_STYLE = [
    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", FONT_PT),
    ("FONT", (0, 1), (-1, -1), "Helvetica", FONT_PT),
    ("FONT", (1, 1), (1, -1), "Helvetica-Bold", 9),
    ("FONT", (4, 1), (4, -1), "Helvetica-Bold", LABEL_PT),
    ("FONT", (6, 1), (6, -1), "Helvetica-Bold", LABEL_PT),
    ("FONT", (7, 1), (7, -1), "Helvetica", FONT_PT),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ("ALIGN", (0, 0), (2, -1), "CENTER"),
    ("LEADING", (0, 1), (-1, -1), FONT_PT * 1.2),
    ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.85, 0.85, 0.85)),
    ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
    ("LEFTPADDING", (0, 0), (-1, -1), 2),
    ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ("TOPPADDING", (0, 0), (-1, -1), 2.5),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
]
SHADE = colors.Color(0.94, 0.95, 0.97)
RULE = colors.Color(0.55, 0.55, 0.55)


def step_tables(rows: list[TableRow], width: float) -> list[Table]:
    """The step table as platypus Tables (header repeated on every page)."""
    cols = column_widths(width)
    out = []
    for chunk in _chunks(rows):
        data = [list(HEADER)]
        style = list(BASE_STYLE)
        for r, row in enumerate(chunk, start=1):
            data.append(_row_cells(row, cols))
            if row.first:
                last = r + row.rows - 1
                style.append(("LINEABOVE", (0, r), (-1, r), 0.6, RULE))
                if row.number % 2 == 0:
                    style.append(("BACKGROUND", (0, r), (-1, last), SHADE))
                if row.rows > 1:
                    for col in (1, 3, 7, 8):
                        style.append(("SPAN", (col, r), (col, last)))
                    style.append(("LINEBELOW", (4, r), (6, r), 0.25, RULE))
        out.append(Table(data, colWidths=cols, repeatRows=1, style=TableStyle(style)))
    return out
