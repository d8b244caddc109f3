"""The label stock catalogue: the bundled stocks, grid geometry, and clear errors for bad entries."""

from __future__ import annotations

import pytest

from fieldops.adapters.pdf.labelstock import (
    DEFAULT_STOCK,
    get_stock,
    load_label_stocks,
    parse_label_stocks,
)
from fieldops.core.problems import DesignError


def test_bundled_catalogue_has_two_wrap_sheets_and_a_thermal_roll():
    stocks = load_label_stocks()
    sheets = [s for s in stocks.values() if s.kind == "sheet" and s.printable_mm[1] < s.label_mm[1]]
    rolls = [s for s in stocks.values() if s.kind == "roll"]
    assert len(sheets) >= 2 and len(rolls) >= 1
    assert all(s.description for s in stocks.values())


def test_sheet_slots_hand_computed():
    s = get_stock("wrap-25x38", pagesize="letter")
    assert (s.paper, s.page_mm, s.per_page) == ("letter", (215.9, 279.4), 42)
    assert s.slot_mm(0) == (12.7, 25.4)
    assert s.slot_mm(8) == pytest.approx((12.7 + 27.9, 25.4 + 38.1))  # column 1, row 1
    assert s.slot_mm(41) == pytest.approx((12.7 + 6 * 27.9, 25.4 + 5 * 38.1))


def test_every_sheet_stock_has_an_a4_and_a_letter_layout_that_fit_the_page():
    a4, letter = load_label_stocks(pagesize="A4"), load_label_stocks(pagesize="letter")
    assert set(a4) == set(letter)
    for name in a4:
        for s, page in ((a4[name], (210.0, 297.0)), (letter[name], (215.9, 279.4))):
            if s.kind == "roll":
                assert s.page_mm == s.label_mm and s.paper == "roll"
                continue
            assert s.page_mm == page
            right, bottom = s.slot_mm(s.per_page - 1)
            assert s.origin_mm[0] >= 0 and right + s.label_mm[0] <= page[0] + 0.01
            assert s.origin_mm[1] >= 0 and bottom + s.label_mm[1] <= page[1] + 0.01


def test_the_default_stock_is_a_2_inch_wrap_with_a_16_mm_qr_box():
    s = get_stock(DEFAULT_STOCK)
    assert (s.name, s.paper, s.printable_mm, s.per_page) == ("wrap-51x38", "A4", (50.8, 19.05), 28)
    # the QR box is the print zone's top-left square, capped at 16 mm: a 29-module box
    # (21 + 2 x 4 quiet) gives 0.55 mm modules
    assert s.qr_mm == 16.0 and get_stock("wrap-25x38").qr_mm == 12.7


def test_paper_names_are_case_insensitive_and_others_refused():
    assert get_stock("wrap-51x38", pagesize="LETTER").paper == "letter"
    with pytest.raises(DesignError, match="unknown page size 'A3'"):
        get_stock("wrap-51x38", pagesize="A3")


def test_a_roll_is_one_label_per_page():
    s = get_stock("thermal-50x25")
    assert (s.page_mm, s.grid, s.per_page, s.slot_mm(0)) == ((50.8, 25.4), (1, 1), 1, (0.0, 0.0))


LAYOUT = {"page": [100, 100], "grid": [4, 3], "origin": [5, 5], "pitch": [22, 31]}


def good(sheet=None, **over):
    d = {
        "name": "x",
        "kind": "sheet",
        "label": [20, 30],
        "printable": [20, 10],
        "sheets": {"A4": dict(LAYOUT), "letter": dict(LAYOUT, page=[110, 100])},
    }
    d["sheets"]["letter"].update(sheet or {})
    d.update(over)
    return {"stocks": [d]}


@pytest.mark.parametrize(
    ("over", "message"),
    [
        (
            {"sheet": {"grid": [5, 3]}},
            "sheets.letter.grid: labels reach 113.0 x 97.0 mm, past the 110.0 x 100.0 mm page",
        ),
        ({"printable": [25, 10]}, "is larger than the label"),
        ({"printable": [20, 5]}, "smaller than 8 mm"),
        ({"label": "big"}, "must be a pair of numbers"),
        ({"sheet": {"grid": [2.5, 3]}}, "must be whole numbers"),
        ({"sheet": {"pitch": [0, 31]}}, "more than 0"),
        ({"kind": "fan-fold"}, "must be one of sheet, roll"),
        ({"name": ""}, "must be a name"),
        ({"sheets": {"A4": LAYOUT}}, "sheets: must give a layout for each of A4, letter (got A4)"),
        ({"sheets": {"A4": LAYOUT, "letter": "big"}}, "sheets.letter: must be a mapping"),
    ],
)
def test_bad_entries_are_reported_by_path(over, message):
    sheet = over.pop("sheet", None)
    with pytest.raises(DesignError) as err:
        parse_label_stocks(good(sheet, **over), "stock.yaml")
    assert message in str(err.value) and "stock.yaml" in str(err.value)


def test_a_good_entry_parses_on_either_paper():
    s = parse_label_stocks(good())["x"]
    assert s.per_page == 12 and s.slot_mm(11) == (5 + 3 * 22, 5 + 2 * 31)
    assert (s.paper, s.page_mm) == ("A4", (100.0, 100.0))
    assert parse_label_stocks(good(), pagesize="letter")["x"].page_mm == (110.0, 100.0)


def test_duplicates_and_empty_catalogues_are_errors():
    with pytest.raises(DesignError, match="duplicate stock 'x'"):
        parse_label_stocks({"stocks": good()["stocks"] * 2})
    with pytest.raises(DesignError, match="non-empty list"):
        parse_label_stocks({"stocks": []})
    with pytest.raises(DesignError, match="non-empty list"):
        parse_label_stocks(["not", "a", "mapping"])


def test_unreadable_catalogue_is_a_design_error(tmp_path):
    bad = tmp_path / "stock.yaml"
    bad.write_text("stocks: [unclosed")
    with pytest.raises(DesignError, match="cannot read the label stock catalogue"):
        load_label_stocks(bad)
