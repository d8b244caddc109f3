"""labels.pdf: every QR decodes at 300 dpi on every stock, text never leaves the print zone,
output is byte-identical for the same input, and a failure leaves no file."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from fieldops.adapters.pdf import write_labels
from fieldops.adapters.pdf.labels import Label, write_label_pdf
from fieldops.adapters.pdf.labelstock import get_stock, load_label_stocks
from fieldops.core.cableplan import CableEnd, CablePlan, CableRun
from fieldops.core.problems import DesignError
from tests.integration.test_pdf_support import cable_id, decode, make_plan, render, tiny

MM_300 = 300 / 25.4  # pixels per mm at 300 dpi


def expected_payloads(design, plan) -> Counter:
    want = Counter()
    for run in plan.runs:
        want[f"{run.id}/A"] += 1
        want[f"{run.id}/B"] += 1
    for dev in design.devices:
        want[dev.asset_tag or dev.name] += 1
    for rack in design.floorplan.racks:
        want[rack.name] += 1
    return want


def synthetic_plan(n: int, *, long_names: bool = False) -> CablePlan:
    """``n`` cables between made-up ports (labels only need the ends' text)."""
    runs = []
    for i in range(n):
        dev = f"gpu-node-{i:04d}" + ("-ÜBERLANGER-GERÄTENAME-" * 3 if long_names else "")
        port = f"eth{i % 8}" + ("/breakout/lane-0-東京" if long_names else "")
        a = CableEnd(dev, port, "R01", "1A-AJ05", 10 + i % 30, "front", "")
        b = CableEnd("leaf-01", f"swp{i}", "R02", "1A-AK05", 40, "rear", "")
        runs.append(
            CableRun(cable_id(f"cable-{i}"), a, b, "cat6a", "copper", 1.0, 1.0, 3000, "CAT6A-3M")
        )
    return CablePlan(tuple(runs))


@pytest.mark.parametrize("stock", sorted(load_label_stocks()))
def test_every_qr_on_every_stock_decodes_at_300_dpi(tmp_path, stock):
    design = tiny(tmp_path)
    plan = make_plan(design)
    path = write_labels(tmp_path / "labels.pdf", design, plan, stock=stock)
    decoded = Counter(text for page in render(path, 300) for text in decode(page))
    assert decoded == expected_payloads(design, plan)
    assert len(plan.runs) == 2  # the tiny hall: 2 cables -> 4 cable labels + 3 devices + 3 racks


def test_the_smallest_stock_is_covered_and_decodes_with_long_unicode_names(tmp_path):
    stocks = load_label_stocks()
    smallest = min(stocks.values(), key=lambda s: s.printable_mm[0] * s.printable_mm[1])
    assert smallest.name == "wrap-25x38"
    design = tiny(tmp_path)
    plan = synthetic_plan(30, long_names=True)
    path = write_labels(tmp_path / "labels.pdf", design, plan, stock=smallest.name)
    pages = render(path, 300)
    assert len(pages) == 2  # 60 cable + 3 device + 3 rack labels on A4 sheets of 49
    decoded = Counter(text for page in pages for text in decode(page))
    assert decoded == expected_payloads(design, plan)


@pytest.mark.parametrize(
    ("stock", "paper"),
    [("wrap-51x38", "A4"), ("wrap-51x38", "letter"), ("wrap-25x38", "A4"), ("thermal-50x25", "A4")],
)
def test_text_never_leaves_the_print_zone(tmp_path, stock, paper):
    """Render long, non-ASCII names and look for ink outside every label's print zone."""
    chosen = get_stock(stock, pagesize=paper)
    design = tiny(tmp_path)
    plan = synthetic_plan(chosen.per_page if chosen.kind == "sheet" else 2, long_names=True)
    cut: list[str] = []
    path = write_labels(
        tmp_path / "labels.pdf", design, plan, stock=stock, pagesize=paper, warn=cut.append
    )
    assert len(cut) == 1 and "were cut" in cut[0]  # 100-character names fit no label
    page = np.asarray(render(path, 300)[0])
    ink = page < 200
    inside = np.zeros_like(ink)
    for i in range(chosen.per_page):
        x, y = chosen.slot_mm(i)
        w, h = chosen.printable_mm
        inside[
            round(y * MM_300) : round((y + h) * MM_300) + 1,
            round(x * MM_300) : round((x + w) * MM_300) + 1,
        ] = True
    assert ink[inside].sum() > 1000  # something was printed ...
    assert ink[~inside].sum() == 0  # ... and nothing outside the print zones


def test_same_input_gives_byte_identical_labels(tmp_path):
    design = tiny(tmp_path)
    plan = make_plan(design)
    one = write_labels(tmp_path / "one.pdf", design, plan).read_bytes()
    two = write_labels(tmp_path / "two.pdf", design, plan).read_bytes()
    assert one == two
    other = write_labels(tmp_path / "three.pdf", design, synthetic_plan(2)).read_bytes()
    assert other != one


def test_a_failure_mid_document_leaves_no_file(tmp_path):
    def labels():
        yield Label("C-1234567/A", ("C-1234567 A",))
        raise RuntimeError("disk full")

    target = tmp_path / "labels.pdf"
    with pytest.raises(RuntimeError):
        write_label_pdf(target, labels(), get_stock("wrap-38x50"))
    assert list(tmp_path.iterdir()) == []


def test_unknown_stock_is_an_input_error_naming_the_known_ones(tmp_path):
    design = tiny(tmp_path)
    with pytest.raises(DesignError) as err:
        write_labels(tmp_path / "labels.pdf", design, make_plan(design), stock="wrap-1x1")
    assert "wrap-1x1" in str(err.value) and "thermal-50x25" in str(err.value)
    assert not (tmp_path / "labels.pdf").exists()


def test_no_cables_still_gives_a_valid_pdf(tmp_path):
    design = tiny(tmp_path, devices=[], cables=[])
    path = write_labels(tmp_path / "labels.pdf", design, CablePlan(()), stock="wrap-38x50")
    pages = render(path)
    assert [sorted(decode(p)) for p in pages] == [["R01", "R02", "R03"]]


@pytest.mark.slow
def test_parallel_workers_give_the_same_bytes_as_serial(tmp_path):
    from fieldops.adapters.pdf.labels import all_labels

    design = tiny(tmp_path)
    plan = synthetic_plan(300)
    stock = get_stock("wrap-25x38")
    one = write_label_pdf(tmp_path / "one.pdf", all_labels(design, plan), stock, workers=1)
    two = write_label_pdf(tmp_path / "two.pdf", all_labels(design, plan), stock, workers=2)
    assert one.read_bytes() == two.read_bytes()
    decoded = Counter(text for page in render(two, 300) for text in decode(page))
    assert decoded == expected_payloads(design, plan)


@pytest.mark.parametrize(("paper", "size_pt"), [("A4", (595, 842)), ("letter", (612, 792))])
def test_label_sheets_follow_the_paper_setting(tmp_path, paper, size_pt):
    """One setting for cut sheets and labels: the default stock has an A4 and a Letter layout."""
    design = tiny(tmp_path)
    plan = make_plan(design)
    path = write_labels(tmp_path / "labels.pdf", design, plan, pagesize=paper)
    pages = render(path, 300)
    assert {(round(p.width * 72 / 300), round(p.height * 72 / 300)) for p in pages} == {size_pt}
    decoded = Counter(text for page in pages for text in decode(page))
    assert decoded == expected_payloads(design, plan)
    roll = write_labels(tmp_path / "roll.pdf", design, plan, stock="thermal-50x25", pagesize=paper)
    assert {(p.width, p.height) for p in render(roll, 72)} == {(144, 72)}  # 50.8 x 25.4 mm


def test_a_label_that_fits_is_never_cut_and_one_that_cannot_is_reported(tmp_path):
    design = tiny(tmp_path)
    cut: list[str] = []
    write_labels(tmp_path / "ok.pdf", design, make_plan(design), warn=cut.append)
    assert cut == []
    write_labels(tmp_path / "cut.pdf", design, synthetic_plan(3, long_names=True), warn=cut.append)
    (message,) = cut
    # 3 cables x 2 ends name the 100-character device; the 3 device and 3 rack labels fit
    assert message.startswith("6 of 12 labels do not fit wrap-51x38 in full")
    assert "C-" in message and "/A" in message and "larger stock" in message
