"""Cut-sheet cells a technician matches against the cable (fieldops.adapters.pdf.steptable):
a DEVICE:PORT or SKU too wide for its column is set a little smaller, then broken only after a
separator, never inside a name ("swp3" / "6" on the paper reads as port swp3)."""

from __future__ import annotations

from reportlab.platypus import Paragraph

from fieldops.adapters.pdf.steptable import PORT, SKU, _token_cell
from fieldops.adapters.pdf.text import text_width

BOLD = "Helvetica-Bold"


def test_a_port_that_fits_stays_plain_text():
    assert _token_cell("leaf-a:swp1", BOLD, 8.5, 100, PORT, min_size=8.0) == "leaf-a:swp1"


def test_a_port_a_little_too_wide_is_set_smaller_but_not_under_the_minimum():
    text = "ns-leaf-su01-4:swp36"
    width = text_width(text, BOLD, 8.0) + 0.1  # fits at 8 pt, not at 8.5
    cell = _token_cell(text, BOLD, 8.5, width, PORT, min_size=8.0)
    assert isinstance(cell, Paragraph) and cell.style.fontSize == 8.0 and cell.text == text


def test_a_port_far_too_wide_breaks_only_after_separators():
    text = "ns-leaf-su01-4:swp36"
    width = text_width("ns-leaf-su01-4:", BOLD, 8.5) + 1  # the device name fits, the port not
    cell = _token_cell(text, BOLD, 8.5, width, PORT, min_size=8.0)
    lines = cell.text.split("<br/>")
    assert lines == ["ns-leaf-su01-4:", "swp36"]
    assert cell.style.fontSize == 8.5  # never under the size the column promises


def test_a_long_sku_is_printed_whole():
    sku = "PWR-WHIP-3P63A-4M"
    width = text_width(sku, "Helvetica", 7.0) + 0.1
    cell = _token_cell(sku, "Helvetica", 8.0, width, SKU, min_size=6.5)
    assert cell.text == sku and cell.style.fontSize == 7.0
    narrow = _token_cell(sku, "Helvetica", 8.0, 40, SKU, min_size=6.5)
    assert "".join(narrow.text.split("<br/>")) == sku
    assert all(line[-1] in ":-/_" for line in narrow.text.split("<br/>")[:-1])
