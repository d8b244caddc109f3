"""Labels of real halls carry both ends in full on the default stock (issue 16, item 8).

Both sample halls are routed by the real planner and printed on the default stock (A4); every
label's text is read back from the PDF with pypdfium2 inside its own print zone and compared
token by token with what the test builds from the cable's two ends: the ID with its end
letter on the first line, then ``LOCATION RACK U## DEVICE:PORT`` of this end and ``TO`` the
far end's. Every QR code is decoded with zxing-cpp at 300 dpi and must sit on the label whose
text names it. Halls expanded from the built-in blueprints are checked through the layout
itself (every label complete, lines joined back give the fields).
"""

from __future__ import annotations

from collections import Counter

import pypdfium2 as pdfium
import pytest
import zxingcpp

from fieldops.adapters.designfile import load_design
from fieldops.adapters.pdf import write_labels
from fieldops.adapters.pdf.labels import MM, all_labels, layout_text
from fieldops.adapters.pdf.labelstock import DEFAULT_STOCK, get_stock
from fieldops.cli import main
from fieldops.core.routing import build_cable_plan
from tests.samples import GPU_HALL, LAB_HALL


def end_tokens(end) -> list[str]:
    """``LOCATION RACK U## DEVICE:PORT`` of one end, built here from the cable end's fields
    (a space inside a name prints as ``_``: console ports are called ``PORT 23``)."""
    u = "U--" if end.u is None else f"U{end.u:02d}"
    return [end.location_id, end.rack, u, f"{end.device}:{end.port}".upper().replace(" ", "_")]


def expected_cable_labels(plan) -> list[tuple[str, list[str]]]:
    """(payload, printed tokens) of every cable-end label, A end then B end, in plan order."""
    out = []
    for run in plan.runs:
        for end, this, far in (("A", run.a, run.b), ("B", run.b, run.a)):
            payload = f"{run.id}/{end}"
            out.append((payload, [payload, *end_tokens(this), "TO", *end_tokens(far)]))
    return out


def slot_texts(path, stock) -> list[str]:
    """The text inside every label's print zone, page by page, slot by slot."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        out = []
        for i in range(len(pdf)):
            page = pdf[i]
            text = page.get_textpage()
            _, page_h = page.get_size()
            for k in range(stock.per_page):
                x, y = stock.slot_mm(k)
                w, h = stock.printable_mm
                out.append(
                    text.get_text_bounded(
                        left=x * MM,
                        bottom=page_h - (y + h) * MM,
                        right=(x + w) * MM,
                        top=page_h - y * MM,
                    )
                )
        return out
    finally:
        pdf.close()


def slot_codes(path, stock, dpi: int = 300) -> dict[int, list[str]]:
    """Decoded QR payloads per label slot (index over the whole document) at ``dpi``."""
    px = dpi / 25.4
    found: dict[int, list[str]] = {}
    pdf = pdfium.PdfDocument(str(path))
    try:
        for i in range(len(pdf)):
            image = pdf[i].render(scale=dpi / 72, grayscale=True).to_pil()
            for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
                p = r.position
                cx = (p.top_left.x + p.bottom_right.x) / 2 / px
                cy = (p.top_left.y + p.bottom_right.y) / 2 / px
                col = int((cx - stock.origin_mm[0]) // stock.pitch_mm[0])
                row = int((cy - stock.origin_mm[1]) // stock.pitch_mm[1])
                found.setdefault(i * stock.per_page + row * stock.grid[0] + col, []).append(r.text)
        return found
    finally:
        pdf.close()


@pytest.mark.slow
@pytest.mark.parametrize("hall", [LAB_HALL, GPU_HALL], ids=["lab-hall", "gpu-hall"])
def test_every_label_prints_both_ends_in_full_and_its_qr_reads_back(tmp_path, hall):
    design = load_design(hall).design
    plan = build_cable_plan(design)
    warnings: list[str] = []
    path = write_labels(tmp_path / "labels.pdf", design, plan, warn=warnings.append)
    assert warnings == []  # no label had to be cut
    stock = get_stock(DEFAULT_STOCK)
    assert stock.paper == "A4" and pdfium.PdfDocument(str(path))[0].get_size() == pytest.approx(
        (595.28, 841.89), abs=0.01
    )
    want = expected_cable_labels(plan)
    texts = slot_texts(path, stock)
    assert len(want) == 2 * len(plan.runs) > 300
    for (payload, tokens), text in zip(want, texts, strict=False):
        lines = text.split()
        # both ends in full, every token whole: the far end's DEVICE:PORT is the last token
        assert lines == tokens, (payload, text)
        assert text.splitlines()[0].strip() == payload  # the ID and its end letter on one line
    codes = slot_codes(path, stock)
    for k, (payload, _) in enumerate(want):
        assert codes.get(k) == [payload], (k, payload, codes.get(k))
    # then one asset label per device and one per rack, each decoding to its own text
    everything = Counter(c for cs in codes.values() for c in cs)
    assert everything == Counter(label.payload for label in all_labels(design, plan))


def expand(tmp_path, capsys, name, **params):
    out = tmp_path / name
    args = ["blueprint", name, "-o", str(out)]
    for k, v in params.items():
        args += ["--param", f"{k}={v}"]
    assert main(args) == 0, capsys.readouterr().err
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("dgx-h100-superpod", {"su_count": 5, "units_per_row": 2}),  # three tiers, SU05 names
        ("gb200-nvl72", {"su_count": 2}),
        ("lab-ethernet", {"racks": 16, "servers_per_rack": 20}),  # console 'PORT 23' names
    ],
)
def test_blueprint_halls_fit_the_default_stock_in_full(tmp_path, capsys, name, params):
    design = load_design(expand(tmp_path, capsys, name, **params)).design
    plan = build_cable_plan(design)
    stock = get_stock(DEFAULT_STOCK)
    zone_w, zone_h = stock.printable_mm[0] * MM, stock.printable_mm[1] * MM
    labels = list(all_labels(design, plan))
    assert len(labels) > 2 * len(plan.runs) > 1000
    for label in labels:
        fitted = layout_text(label.fields, zone_w, zone_h, stock.qr_mm * MM)
        assert fitted.complete, label
        assert fitted.size >= 6.0, (fitted.size, label)  # readable, not merely present
        printed = " ".join(text for _, _, text in fitted.lines)
        assert printed.split() == " ".join(label.fields).split(), label
    for payload, tokens in expected_cable_labels(plan)[:2000]:
        label = next(lab for lab in labels[:4000] if lab.payload == payload)
        assert " ".join(label.fields).split() == tokens
