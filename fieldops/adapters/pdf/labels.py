"""Label sheets: one label per cable end, then device asset labels and rack labels.

Each label carries a QR code (left, with its 4-module quiet zone inside the print zone) and
upper-case machine text (right), shrunk from 9 pt down to 4 pt to fit and then wrapped;
anything that still does not fit is cut with an ellipsis, so text never leaves the print zone.
Pages are streamed to disk (:mod:`.pdfstream`): memory stays flat at 100,000 cables.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase.pdfmetrics import stringWidth

from fieldops.adapters.pdf import qr
from fieldops.adapters.pdf.labelstock import LabelStock
from fieldops.adapters.pdf.pdfstream import StreamingPdf, pdf_string

MM = 72 / 25.4
FONT, FONT_BOLD = "Helvetica", "Helvetica-Bold"
SIZES_PT = (9.0, 8.0, 7.0, 6.5, 6.0, 5.5, 5.0, 4.5, 4.0)  # 4 pt is the smallest we print
LEADING = 1.12
ELLIPSIS = "..."
PAD_MM = 0.8


def label_text(text: str) -> str:
    """Machine label text: upper case printable ASCII (accents dropped, other characters '?').

    >>> label_text("srv-été:eth0 ✓")
    'SRV-ETE:ETH0 ?'
    """
    out = []
    for ch in unicodedata.normalize("NFKD", str(text)):
        if unicodedata.combining(ch):
            continue
        if " " <= ch <= "~":
            out.append(ch)
        elif ch.isspace():
            out.append(" ")
        else:
            out.append("?")
    return " ".join("".join(out).upper().split())


@dataclass(frozen=True, slots=True)
class Label:
    """One label: the QR payload and up to three text fields (the first printed bold)."""

    payload: str
    fields: tuple[str, ...]


def _width(text: str, font: str, size: float) -> float:
    return stringWidth(text, font, size)


def ellipsize(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis so it fits ``width`` points ('' when not even '...' fits)."""
    if _width(text, font, size) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if _width(text[:mid] + ELLIPSIS, font, size) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + ELLIPSIS if _width(ELLIPSIS, font, size) <= width else ""


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Break ``text`` at spaces (and inside words longer than a line) into lines of ``width``."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if _width(candidate, font, size) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        while _width(word, font, size) > width and len(word) > 1:
            cut = max(1, int(len(word) * width / _width(word, font, size)))
            while cut > 1 and _width(word[:cut], font, size) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines or [""]


def fit_fields(
    fields: tuple[str, ...], width: float, height: float
) -> tuple[float, list[tuple[str, str]]]:
    """Choose a font size and lines (font, text) so every field fits ``width`` x ``height`` points.

    The largest size at which every field wraps into the box wins; at the smallest size each
    field keeps at least its first line and cut lines end with an ellipsis.
    """
    for size in SIZES_PT:
        wrapped = [
            wrap(f, FONT_BOLD if i == 0 else FONT, size, width) for i, f in enumerate(fields)
        ]
        if sum(len(w) for w in wrapped) * size * LEADING <= height:
            return size, [
                (FONT_BOLD if i == 0 else FONT, line) for i, w in enumerate(wrapped) for line in w
            ]
    size = SIZES_PT[-1]
    max_lines = max(1, int(height // (size * LEADING)))
    wrapped = [wrap(f, FONT_BOLD if i == 0 else FONT, size, width) for i, f in enumerate(fields)]
    quota = [1 if w else 0 for w in wrapped]  # each field keeps its first line ...
    quota = quota[:max_lines] + [0] * (len(quota) - max_lines) if sum(quota) > max_lines else quota
    spare = max_lines - sum(quota)
    while spare > 0:  # ... then lines go round-robin to fields that need more
        gave = False
        for i, w in enumerate(wrapped):
            if spare and quota[i] and quota[i] < len(w):
                quota[i] += 1
                spare -= 1
                gave = True
        if not gave:
            break
    lines = []
    for i, w in enumerate(wrapped):
        font = FONT_BOLD if i == 0 else FONT
        keep = w[: quota[i]]
        if keep and len(keep) < len(w):
            keep[-1] = ellipsize(keep[-1] + " " + w[len(keep)], font, size, width)
        lines += [(font, line) for line in keep]
    return size, lines


def label_ops(label: Label, x: float, y_top: float, zone_w: float, zone_h: float) -> str:
    """PDF operators for one label whose print zone's top-left corner is at (x, y_top), points."""
    symbol = qr.cached(label.payload) if len(label.payload) < 64 else qr.encode(label.payload)
    box = min(zone_h, zone_w * 0.55)
    side = qr.module_side(symbol, box)
    quiet = (box - side) / 2
    ops = [qr.pdf_ops(symbol, x + quiet, y_top - box + quiet, side)]
    pad = PAD_MM * MM
    tx = x + box + pad * 0.5
    tw = zone_w - box - pad * 1.5
    th = zone_h - 2 * pad
    if tw > 4:
        size, lines = fit_fields(label.fields, tw, th)
        lead = size * LEADING
        ty = y_top - pad - size * 0.8
        for font, text in lines:
            fname = "F2" if font == FONT_BOLD else "F1"
            ops.append(f"BT /{fname} {size:g} Tf {tx:.2f} {ty:.2f} Td {pdf_string(text)} Tj ET")
            ty -= lead
    return "\n".join(ops)


def _end_text(end) -> str:
    u = f" U{end.u}" if end.u is not None else ""
    return label_text(f"{end.location_id}{u} {end.device}:{end.port}")


def cable_labels(cable_plan) -> Iterator[Label]:
    """Two labels per cable, A end then B end, in plan order."""
    for run in cable_plan.runs:
        for end, this, far in (("A", run.a, run.b), ("B", run.b, run.a)):
            yield Label(
                qr.qr_payload(run.id, end),
                (label_text(f"{run.id} {end}"), _end_text(this), "TO " + _end_text(far)),
            )


def asset_labels(design) -> Iterator[Label]:
    """One label per device: the QR encodes the asset tag exactly (the device name when it has none)."""
    fp = design.floorplan
    for dev in sorted(design.devices, key=lambda d: (d.rack, -(d.position or 0), d.name)):
        rack = fp.rack(dev.rack)
        loc = fp.grid.location_id(*rack.position) if rack else ""
        u = f" U{dev.position}" if dev.position is not None else " 0U"
        code = dev.asset_tag or dev.name
        yield Label(
            code,
            (
                label_text(dev.asset_tag or dev.name),
                label_text(dev.name if dev.asset_tag else dev.role),
                label_text(f"{loc} {dev.rack}{u}"),
            ),
        )


def rack_labels(design) -> Iterator[Label]:
    fp = design.floorplan
    for rack in sorted(fp.racks, key=lambda r: r.name):
        loc = fp.grid.location_id(*rack.position)
        yield Label(
            rack.name,
            (label_text(rack.name), label_text(loc), label_text(f"{fp.name} {rack.row}".strip())),
        )


def write_label_pdf(
    path: str | Path, labels: Iterable[Label], stock: LabelStock, *, title: str = ""
) -> Path:
    """Lay ``labels`` out on ``stock`` and stream the pages to ``path``."""
    page_w, page_h = stock.page_mm[0] * MM, stock.page_mm[1] * MM
    zone_w, zone_h = stock.printable_mm[0] * MM, stock.printable_mm[1] * MM
    slots = [
        (sx * MM, page_h - sy * MM) for sx, sy in (stock.slot_mm(i) for i in range(stock.per_page))
    ]
    with StreamingPdf(path, title=title) as pdf:
        ops: list[str] = []
        for label in labels:
            x, y_top = slots[len(ops)]
            ops.append(label_ops(label, x, y_top, zone_w, zone_h))
            if len(ops) == len(slots):
                pdf.add_page(page_w, page_h, "\n".join(ops))
                ops = []
        if ops or pdf.pages == 0:
            pdf.add_page(page_w, page_h, "\n".join(ops))
        return pdf.close()


def all_labels(design, cable_plan) -> Iterator[Label]:
    yield from cable_labels(cable_plan)
    yield from asset_labels(design)
    yield from rack_labels(design)
