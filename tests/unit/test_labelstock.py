"""The label stock catalogue: the bundled stocks, grid geometry, and clear errors for bad entries."""

from __future__ import annotations

import pytest

from fieldops.adapters.pdf.labelstock import get_stock, load_label_stocks, parse_label_stocks
from fieldops.core.problems import DesignError


def test_bundled_catalogue_has_two_wrap_sheets_and_a_thermal_roll():
    stocks = load_label_stocks()
    sheets = [s for s in stocks.values() if s.kind == "sheet" and s.printable_mm[1] < s.label_mm[1]]
    rolls = [s for s in stocks.values() if s.kind == "roll"]
    assert len(sheets) >= 2 and len(rolls) >= 1
    assert all(s.description for s in stocks.values())


def test_sheet_slots_hand_computed():
    s = get_stock("wrap-25x38")
    assert s.per_page == 42
    assert s.slot_mm(0) == (12.7, 25.4)
    assert s.slot_mm(8) == pytest.approx((12.7 + 27.9, 25.4 + 38.1))  # column 1, row 1
    assert s.slot_mm(41) == pytest.approx((12.7 + 6 * 27.9, 25.4 + 5 * 38.1))


def test_a_roll_is_one_label_per_page():
    s = get_stock("thermal-50x25")
    assert (s.page_mm, s.grid, s.per_page, s.slot_mm(0)) == ((50.8, 25.4), (1, 1), 1, (0.0, 0.0))


def good(**over):
    d = {
        "name": "x",
        "kind": "sheet",
        "label": [20, 30],
        "printable": [20, 10],
        "page": [100, 100],
        "grid": [4, 3],
        "origin": [5, 5],
        "pitch": [22, 31],
    }
    d.update(over)
    return {"stocks": [d]}


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"grid": [5, 3]}, "labels reach 113.0 x 97.0 mm, past the 100.0 x 100.0 mm page"),
        ({"printable": [25, 10]}, "is larger than the label"),
        ({"printable": [20, 5]}, "smaller than 8 mm"),
        ({"label": "big"}, "must be a pair of numbers"),
        ({"grid": [2.5, 3]}, "must be whole numbers"),
        ({"pitch": [0, 31]}, "more than 0"),
        ({"kind": "fan-fold"}, "must be one of sheet, roll"),
        ({"name": ""}, "must be a name"),
    ],
)
def test_bad_entries_are_reported_by_path(over, message):
    with pytest.raises(DesignError) as err:
        parse_label_stocks(good(**over), "stock.yaml")
    assert message in str(err.value) and "stock.yaml" in str(err.value)


def test_a_good_entry_parses():
    s = parse_label_stocks(good())["x"]
    assert s.per_page == 12 and s.slot_mm(11) == (5 + 3 * 22, 5 + 2 * 31)


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
