"""QR symbols: payload format, module matrix, drawing operators, label text fitting."""

from __future__ import annotations

import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from reportlab.pdfbase.pdfmetrics import stringWidth

from fieldops.adapters.pdf import qr
from fieldops.adapters.pdf.labels import (
    FONT,
    FONT_BOLD,
    LEADING,
    SIZES_PT,
    ellipsize,
    fit_fields,
    label_text,
    wrap,
)


def symbol_image(symbol: qr.QrSymbol, px: int = 6) -> Image.Image:
    """Paint the module matrix (with a 4-module quiet zone) as a greyscale image."""
    n = symbol.size + 2 * qr.QUIET_ZONE
    img = Image.new("L", (n * px, n * px), 255)
    for y, row in enumerate(symbol.rows):
        for x, bit in enumerate(row):
            if bit == "1":
                img.paste(0, ((x + 4) * px, (y + 4) * px, (x + 5) * px, (y + 5) * px))
    return img


def test_payload_is_cable_id_slash_end_upper_case():
    assert qr.qr_payload("C-4K7Q2M9", "A") == "C-4K7Q2M9/A"
    assert qr.qr_payload("C-4K7Q2M9", "b") == "C-4K7Q2M9/B"


@pytest.mark.parametrize("encoder", ["zxing", "qrcode"])
def test_cable_payload_uses_version_1_and_decodes(encoder):
    """An 11-character alphanumeric payload fits version 1 (21 x 21) at level M."""
    symbol = qr.encode("C-4K7Q2M9/A", encoder=encoder)
    assert symbol.size == 21 and len(symbol.rows) == 21 and all(len(r) == 21 for r in symbol.rows)
    # the three finder patterns: 7 dark modules across the top-left and top-right corners
    assert (
        symbol.rows[0][:7] == "1111111"
        and symbol.rows[0][-7:] == "1111111"
        and symbol.rows[-1][:7] == "1111111"
    )
    [result] = zxingcpp.read_barcodes(symbol_image(symbol))
    assert result.text == "C-4K7Q2M9/A" and result.ec_level == "M"


def test_byte_mode_payloads_decode_too():
    symbol = qr.encode("stack:srv-01 été")
    assert [r.text for r in zxingcpp.read_barcodes(symbol_image(symbol))] == ["stack:srv-01 été"]


def test_pdf_ops_are_one_rect_per_horizontal_run():
    symbol = qr.QrSymbol("x", 3, ("110", "011", "101"), qr._runs_ops(["110", "011", "101"]))
    # PDF y points up: the top row is y = 2
    assert symbol.ops == "0 2 2 1 re\n1 1 2 1 re\n0 0 1 1 re\n2 0 1 1 re\nf"
    assert (
        qr.pdf_ops(symbol, 10, 20, 30)
        == "q 0 g 10.0000 0 0 10.0000 10.000 20.000 cm\n" + symbol.ops + "\nQ"
    )


def test_module_side_leaves_the_quiet_zone():
    symbol = qr.encode("C-1/A")
    assert qr.module_side(symbol, 29.0) == pytest.approx(21.0)


def test_empty_payload_and_unknown_encoder_are_errors():
    with pytest.raises(ValueError):
        qr.encode("")
    with pytest.raises(ValueError):
        qr.encode("X", encoder="segno")


def test_label_text_is_upper_case_ascii():
    assert label_text("srv-été:eth0 ✓") == "SRV-ETE:ETH0 ?"
    assert label_text("  a\tb\n c ") == "A B C"


def test_ellipsize_hand_computed():
    # Helvetica 10 pt: "ABCDEF" = 6.67+6.67+7.22+7.22+6.67+6.11 = 40.56 pt; "..." = 8.34 pt
    assert ellipsize("ABCDEF", FONT, 10, 41) == "ABCDEF"
    assert ellipsize("ABCDEF", FONT, 10, 30) == "ABC..."  # 20.56 + 8.34 = 28.9 <= 30
    assert ellipsize("ABCDEF", FONT, 10, 5) == ""


def test_wrap_breaks_at_spaces_and_inside_long_words():
    assert wrap("AB CD", FONT, 10, 20) == ["AB", "CD"]
    assert wrap("ABCDEF", FONT, 10, 21) == ["ABC", "DEF"]  # "ABC" = 20.56 pt


def test_fit_prefers_the_largest_size():
    size, lines = fit_fields(("C-1 A", "1A-A01"), 200, 40)
    assert size == SIZES_PT[0] and lines == [(FONT_BOLD, "C-1 A"), (FONT, "1A-A01")]


@settings(max_examples=150, deadline=None)
@given(
    fields=st.lists(st.text(min_size=0, max_size=200).map(label_text), min_size=1, max_size=3),
    width=st.floats(10, 200),
    height=st.floats(6, 80),
)
def test_fitted_text_never_overflows_its_box(fields, width, height):
    size, lines = fit_fields(tuple(fields), width, height)
    assert SIZES_PT[-1] <= size <= SIZES_PT[0]
    assert all(stringWidth(text, font, size) <= width + 1e-6 for font, text in lines)
    assert len(lines) * size * LEADING <= height + 1e-6
