"""Label sheets: one label per cable end, then device asset labels and rack labels.

Each label carries a QR code (top-left, with its 4-module quiet zone inside the print zone)
and upper-case machine text: right of the code, and under it at the full width of the print
zone when the zone is taller than the code. The text is set at the largest size from 9 pt
down to 4 pt at which every field fits, wrapping only between tokens (a location, rack, U or
DEVICE:PORT is never cut or split); only a label that does not fit at 4 pt is cut (words
broken, an ellipsis), and such labels are reported. Text never leaves the print zone.
Pages are streamed to disk (:mod:`.pdfstream`): memory stays flat at 100,000 cables.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reportlab.pdfbase.pdfmetrics import getFont, stringWidth

from fieldops.adapters.pdf import qr
from fieldops.adapters.pdf.labelstock import LabelStock
from fieldops.adapters.pdf.pdfstream import StreamingPdf, deflate, pdf_string
from fieldops.core.labels import end_reference, label_lines, machine_text

MM = 72 / 25.4
FONT, FONT_BOLD = "Helvetica", "Helvetica-Bold"
SIZES_PT = (9.0, 8.0, 7.5, 7.0, 6.5, 6.0, 5.5, 5.0, 4.5, 4.0)  # 4 pt is the smallest we print
LEADING = 1.12
ELLIPSIS = "..."
PAD_MM = 0.8


def label_text(text: str) -> str:
    """Machine label text: upper case printable ASCII (accents dropped, other characters '?').

    >>> label_text("srv-été:eth0 ✓")
    'SRV-ETE:ETH0 ?'
    """
    return machine_text(text)


@dataclass(frozen=True, slots=True)
class Label:
    """One label: the QR payload and up to three text fields (the first printed bold)."""

    payload: str
    fields: tuple[str, ...]


_TABLES: dict[str, list[float]] = {}
_WORDS: dict[tuple[str, str], float] = {}


def _table(font: str) -> list[float]:
    table = _TABLES.get(font)
    if table is None:
        table = _TABLES[font] = [w / 1000 for w in getFont(font).widths]
    return table


def _width(text: str, font: str, size: float) -> float:
    """``stringWidth`` for label text, from the font's WinAnsi width table (reportlab's own
    stringWidth runs in pure Python here and was 80 % of label time)."""
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        return stringWidth(text, font, size)
    return sum(map(_table(font).__getitem__, data)) * size


def _word_width(word: str, font: str) -> float:
    """Width of a word at 1 pt, memoised (label words repeat: locations, U numbers, 'TO')."""
    key = (word, font)
    w = _WORDS.get(key)
    if w is None:
        if len(_WORDS) > 50_000:
            _WORDS.clear()
        w = _WORDS[key] = _width(word, font, 1.0)
    return w


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
    return _wrap_unit(
        text.split(" "), [_word_width(w, font) for w in text.split(" ")], font, width / size
    )


def _wrap_unit(words: list[str], widths: list[float], font: str, limit: float) -> list[str]:
    """Greedy line breaking with word widths at 1 pt and the line width ``limit`` in 1 pt units."""
    space = _word_width(" ", font)
    lines: list[str] = []
    line: list[str] = []
    used = 0.0
    eps = 1e-9
    for word, w in zip(words, widths, strict=True):
        if line and used + space + w <= limit + eps:
            line.append(word)
            used += space + w
            continue
        if not line and w <= limit + eps:
            line, used = [word], w
            continue
        if line:
            lines.append(" ".join(line))
            line, used = [], 0.0
        if w > limit + eps and len(word) > 1:  # a word longer than a line: cut it
            try:
                table = _table(font)
                prefix = list(itertools.accumulate(table[b] for b in word.encode("latin-1")))
            except UnicodeEncodeError:
                prefix = [_width(word[: k + 1], font, 1.0) for k in range(len(word))]
            start = 0
            while (
                len(word) - start > 1
                and prefix[-1] - (prefix[start - 1] if start else 0.0) > limit + eps
            ):
                base = prefix[start - 1] if start else 0.0
                cut = bisect.bisect_right(prefix, base + limit + eps, lo=start) - start
                cut = max(1, min(cut, len(word) - start - 1))
                lines.append(word[start : start + cut])
                start += cut
            word = word[start:]
            w = prefix[-1] - (prefix[start - 1] if start else 0.0)
        line, used = [word], w
    if line:
        lines.append(" ".join(line))
    return lines or [""]


@dataclass(frozen=True, slots=True)
class FittedText:
    """Text laid out in a label's print zone: font size, ``(font, x, text)`` lines from the top
    (``x`` in points from the zone's left edge), and whether every field is there in full."""

    size: float
    lines: tuple[tuple[str, float, str], ...]
    complete: bool


def _place(
    words: list[list[str]],
    widths: list[list[float]],
    fonts: list[str],
    size: float,
    room,
    max_lines: int,
) -> list[list[str]] | None:
    """Greedy line breaking at ``size`` between words only: each field starts a new line and
    line ``k`` is ``room(k, size)`` points wide. None when a word fits no line or the lines
    run past ``max_lines``."""
    out: list[list[str]] = []
    k = 0
    for ws, wd, font in zip(words, widths, fonts, strict=True):
        space = _word_width(" ", font) * size
        lines: list[str] = []
        line: list[str] = []
        used = 0.0
        for word, w1 in zip(ws, wd, strict=True):
            w = w1 * size
            if line and used + space + w <= room(k, size) + 1e-9:
                line.append(word)
                used += space + w
                continue
            if line:
                lines.append(" ".join(line))
                k += 1
            if k >= max_lines or w > room(k, size) + 1e-9:
                return None
            line, used = [word], w
        lines.append(" ".join(line))
        k += 1
        if k > max_lines:
            return None
        out.append(lines)
    return out


def layout_text(
    fields: tuple[str, ...], zone_w: float, zone_h: float, qr_box: float = 0.0
) -> FittedText:
    """Lay ``fields`` out in a ``zone_w`` x ``zone_h`` print zone (points) whose top-left
    ``qr_box`` square holds the QR code; the first field is bold.

    The largest of :data:`SIZES_PT` at which every field fits wins, lines breaking between
    words only: lines beside the code are narrower than those under it. When nothing fits at
    4 pt, the text is set at 4 pt in the column right of the code with words broken and each
    field's last kept line ending in an ellipsis, and ``complete`` is False.
    """
    pad = PAD_MM * MM
    fonts = [FONT_BOLD if i == 0 else FONT for i in range(len(fields))]
    words = [f.split(" ") for f in fields]
    widths = [[_word_width(w, font) for w in ws] for ws, font in zip(words, fonts, strict=True)]
    beside_x = qr_box + pad * 0.5 if qr_box else pad
    beside_w = zone_w - beside_x - pad
    full_w = zone_w - 2 * pad

    def room(k: int, size: float) -> float:
        return beside_w if pad + k * size * LEADING < qr_box - 1e-6 else full_w

    def x_of(k: int, size: float) -> float:
        return beside_x if pad + k * size * LEADING < qr_box - 1e-6 else pad

    widest = max((max(wd) for wd in widths if wd), default=0.0)  # the longest word, at 1 pt
    room_max = max(beside_w, full_w)
    if beside_w > 4:
        for size in SIZES_PT:
            max_lines = int((zone_h - 2 * pad) / (size * LEADING) + 1e-9)
            if max_lines < len(fields) or widest * size > room_max + 1e-9:
                continue  # too few lines, or a word wider than any line: no need to try
            placed = _place(words, widths, fonts, size, room, max_lines)
            if placed is not None:
                lines = []
                k = 0
                for font, field_lines in zip(fonts, placed, strict=True):
                    for text in field_lines:
                        lines.append((font, x_of(k, size), text))
                        k += 1
                return FittedText(size, tuple(lines), True)
    if beside_w <= 4:
        return FittedText(SIZES_PT[-1], (), not any(fields))
    size, cut = fit_fields(fields, beside_w, zone_h - 2 * pad)
    return FittedText(size, tuple((font, beside_x, text) for font, text in cut), False)


def fit_fields(
    fields: tuple[str, ...], width: float, height: float
) -> tuple[float, list[tuple[str, str]]]:
    """Choose a font size and lines (font, text) so every field fits ``width`` x ``height`` points.

    The largest size at which every field wraps into the box wins; at the smallest size each
    field keeps at least its first line, words longer than a line are broken, and cut lines
    end with an ellipsis. (:func:`layout_text` never breaks words; it falls back to this.)
    """
    fonts = [FONT_BOLD if i == 0 else FONT for i in range(len(fields))]
    words = [f.split(" ") for f in fields]
    widths = [[_word_width(w, font) for w in ws] for ws, font in zip(words, fonts, strict=True)]

    def attempt(size: float) -> list[list[str]] | None:
        max_lines = int(height / (size * LEADING) + 1e-9)
        if max_lines < len(fields):
            return None
        wrapped = [
            _wrap_unit(ws, wd, font, width / size)
            for ws, wd, font in zip(words, widths, fonts, strict=True)
        ]
        return wrapped if sum(len(w) for w in wrapped) <= max_lines else None

    # binary search for the largest size that fits (a smaller size never needs more lines)
    lo, hi, best = 0, len(SIZES_PT) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        got = attempt(SIZES_PT[mid])
        if got is not None:
            best, hi = (SIZES_PT[mid], got), mid - 1
        else:
            lo = mid + 1
    if best is not None:
        size, wrapped = best
        return size, [(fonts[i], line) for i, w in enumerate(wrapped) for line in w]
    size = SIZES_PT[-1]
    max_lines = max(1, int(height / (size * LEADING) + 1e-9))
    wrapped = [
        _wrap_unit(ws, wd, font, width / size)
        for ws, wd, font in zip(words, widths, fonts, strict=True)
    ]
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


def label_ops(
    label: Label, x: float, y_top: float, zone_w: float, zone_h: float, qr_box: float
) -> tuple[str, bool]:
    """PDF operators for one label whose print zone's top-left corner is at (x, y_top), points,
    and whether its text is complete (see :func:`layout_text`)."""
    symbol = qr.cached(label.payload) if len(label.payload) < 64 else qr.encode(label.payload)
    box = min(qr_box, zone_h, zone_w)
    side = qr.module_side(symbol, box)
    quiet = (box - side) / 2
    ops = [qr.pdf_ops(symbol, x + quiet, y_top - box + quiet, side)]
    fitted = layout_text(label.fields, zone_w, zone_h, box)
    size = fitted.size
    lead = size * LEADING
    ty = y_top - PAD_MM * MM - size * 0.8
    for font, dx, text in fitted.lines:
        fname = "F2" if font == FONT_BOLD else "F1"
        ops.append(f"BT /{fname} {size:g} Tf {x + dx:.2f} {ty:.2f} Td {pdf_string(text)} Tj ET")
        ty -= lead
    return "\n".join(ops), fitted.complete


def _reference(end) -> str:
    return end_reference(end.location_id, end.rack, end.u, end.device, end.port)


def cable_labels(cable_plan) -> Iterator[Label]:
    """Two labels per cable, A end then B end, in plan order (``core.labels.label_lines``)."""
    for run in cable_plan.runs:
        a, b = _reference(run.a), _reference(run.b)
        yield Label(qr.qr_payload(run.id, "A"), label_lines(run.id, "A", a, b))
        yield Label(qr.qr_payload(run.id, "B"), label_lines(run.id, "B", b, a))


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


PAGES_PER_BATCH = 32  # pages handed to the workers at a time: bounds memory


def _page_stream(job) -> tuple[bytes, list[str]]:
    """Worker: one page's labels -> its compressed content stream and the payloads of labels
    whose text did not fit in full."""
    labels, slots, zone_w, zone_h, qr_box = job
    ops, cut = [], []
    for lab, (x, y) in zip(labels, slots, strict=False):
        text, complete = label_ops(lab, x, y, zone_w, zone_h, qr_box)
        ops.append(text)
        if not complete:
            cut.append(lab.payload)
    return deflate("\n".join(ops)), cut


def _pages(labels: Iterable[Label], per_page: int) -> Iterator[list[Label]]:
    page: list[Label] = []
    for label in labels:
        page.append(label)
        if len(page) == per_page:
            yield page
            page = []
    if page:
        yield page


def write_label_pdf(
    path: str | Path,
    labels: Iterable[Label],
    stock: LabelStock,
    *,
    title: str = "",
    workers: int = 1,
    cut: list[str] | None = None,
) -> Path:
    """Lay ``labels`` out on ``stock`` and stream the pages to ``path``.

    With ``workers`` > 1, pages are encoded and drawn by that many processes (QR encoding
    dominates), a bounded batch at a time; the file is byte-identical to a serial run. The
    payloads of labels whose text had to be cut (it fits nowhere at 4 pt) are appended to
    ``cut`` when given.
    """
    page_w, page_h = stock.page_mm[0] * MM, stock.page_mm[1] * MM
    zone_w, zone_h = stock.printable_mm[0] * MM, stock.printable_mm[1] * MM
    qr_box = stock.qr_mm * MM
    slots = [
        (sx * MM, page_h - sy * MM) for sx, sy in (stock.slot_mm(i) for i in range(stock.per_page))
    ]
    jobs = ((page, slots, zone_w, zone_h, qr_box) for page in _pages(labels, stock.per_page))
    pool = None
    if workers > 1:
        import multiprocessing

        pool = multiprocessing.get_context("spawn").Pool(workers)
    try:
        with StreamingPdf(path, title=title) as pdf:
            while True:
                batch = list(itertools.islice(jobs, PAGES_PER_BATCH * max(1, workers)))
                if not batch:
                    break
                streams = (
                    pool.map(_page_stream, batch, chunksize=4) if pool else map(_page_stream, batch)
                )
                for data, short in streams:
                    pdf.add_page(page_w, page_h, data, deflated=True)
                    if cut is not None:
                        cut.extend(short)
            if pdf.pages == 0:
                pdf.add_page(page_w, page_h, "")
            return pdf.close()
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def all_labels(design, cable_plan) -> Iterator[Label]:
    yield from cable_labels(cable_plan)
    yield from asset_labels(design)
    yield from rack_labels(design)
