"""Text helpers for the reportlab documents: safe characters, markup escaping, ellipsis."""

from __future__ import annotations

import unicodedata
from xml.sax.saxutils import escape

from reportlab.pdfbase.pdfmetrics import getFont, stringWidth


def pdf_text(text) -> str:
    """Text the standard fonts can show: Windows-1252 characters kept, accents dropped
    from others where that helps, anything else replaced by '?'; control characters removed."""
    text = str(text)
    if text.isascii() and text.isprintable():  # the common case, ~50x faster than the loop
        return text
    out = []
    for ch in str(text):
        if ch in "\t\n\r":
            out.append(" ")
            continue
        if unicodedata.category(ch).startswith("C"):
            continue
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
            )
            try:
                base.encode("cp1252")
                out.append(base or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def para(text) -> str:
    """Escaped Paragraph markup for plain text."""
    return escape(pdf_text(text))


_WIDTHS: dict[str, list[float]] = {}


def text_width(text: str, font: str, size: float) -> float:
    """``stringWidth`` for the standard fonts from their Windows-1252 width table (reportlab's
    own runs in pure Python here; the cut sheets measure tens of thousands of strings)."""
    table = _WIDTHS.get(font)
    if table is None:
        table = _WIDTHS[font] = [w / 1000 for w in getFont(font).widths]
    try:
        data = text.encode("cp1252")
    except UnicodeEncodeError:
        return stringWidth(text, font, size)
    return sum(map(table.__getitem__, data)) * size


def fit(text, font: str, size: float, width: float) -> str:
    """``text`` cut with an ellipsis to fit ``width`` points."""
    text = pdf_text(text)
    if text_width(text, font, size) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid] + "…", font, size) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo] + "…" if lo else ""
