"""``fieldops print``: all three PDFs or none, clear errors with exit code 2, documented options."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections import Counter

import pytest

from fieldops.cli import main
from tests.integration.test_pdf_support import decode, make_work, page_sizes, render
from tests.samples import LAB_HALL, write_design

HAVE_WORKPLAN = importlib.util.find_spec("fieldops.core.workplan") is not None


@pytest.fixture
def planning(monkeypatch):
    """The real work planner once it exists; until then the hand-built plan of the PDF tests."""
    if not HAVE_WORKPLAN:
        fake = types.ModuleType("fieldops.core.workplan")
        fake.build_work_plan = lambda design, cable_plan, team, walk, progress=None: make_work(
            design, cable_plan
        )
        monkeypatch.setitem(sys.modules, "fieldops.core.workplan", fake)


def test_help_documents_every_option_and_the_label_stocks(capsys):
    with pytest.raises(SystemExit) as done:
        main(["print", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for option in (
        "--out",
        "--pagesize",
        "--stock",
        "--rack",
        "--crew",
        "--robots",
        "--profiles",
        "--quiet",
    ):
        assert option in out
    for stock in ("wrap-25x38", "wrap-38x50", "thermal-50x25"):
        assert stock in out


def test_tiny_hall_prints_all_three_pdfs(tmp_path, planning, capsys):
    design = write_design(tmp_path / "tiny")
    out = tmp_path / "out"
    assert (
        main(
            [
                "print",
                str(design),
                "-o",
                str(out),
                "--pagesize",
                "letter",
                "--stock",
                "wrap-38x50",
                "--rack",
                "R02",
                "-q",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [
        ".fieldops-outputs",  # the manifest of what fieldops wrote (fieldops/outdir.py)
        "cutsheets.pdf",
        "labels.pdf",
        "racks.pdf",
    ]
    from fieldops.adapters.designfile import load_design
    from fieldops.core.routing import build_cable_plan

    plan = build_cable_plan(load_design(design).design)  # routing is deterministic: same IDs
    want = Counter({f"{r.id}/{end}": 1 for r in plan.runs for end in "AB"})
    want.update(
        {"srv1": 1, "srv2": 1, "sw1": 1, "R01": 1, "R02": 1, "R03": 1}
    )  # asset and rack labels
    assert Counter(t for page in render(out / "labels.pdf") for t in decode(page)) == want
    captured = capsys.readouterr()
    assert captured.err == "" and "2 cables, 10 labels" in captured.out
    for name in ("cutsheets.pdf", "racks.pdf", "labels.pdf"):  # one paper setting for all three
        assert page_sizes(out / name) == {(612, 792)}, name


@pytest.mark.parametrize(
    ("paper", "size"), [([], (595, 842)), (["--pagesize", "letter"], (612, 792))]
)
def test_plan_pdf_prints_cut_sheets_and_labels_on_one_paper(
    tmp_path, planning, capsys, paper, size
):
    design = write_design(tmp_path / "tiny")
    out = tmp_path / "out"
    assert main(["plan", str(design), "-o", str(out), "--pdf", *paper, "-q"]) == 0
    capsys.readouterr()
    assert page_sizes(out / "cutsheets.pdf") == {size} == page_sizes(out / "labels.pdf")


def test_invalid_design_exits_2_and_writes_nothing(tmp_path, capsys):
    design = write_design(
        tmp_path / "bad",
        devices=[{"name": "x", "device_type": "nope", "rack": "R01", "position": 1}],
    )
    out = tmp_path / "out"
    assert main(["print", str(design), "-o", str(out), "-q"]) == 2
    assert "nothing was written" in capsys.readouterr().err
    assert not out.exists() or list(out.iterdir()) == []


def test_unknown_stock_and_rack_exit_2(tmp_path, planning, capsys):
    design = write_design(tmp_path / "tiny")
    assert (
        main(["print", str(design), "-o", str(tmp_path / "o1"), "--stock", "wrap-1x1", "-q"]) == 2
    )
    assert "unknown label stock 'wrap-1x1'" in capsys.readouterr().err
    assert main(["print", str(design), "-o", str(tmp_path / "o2"), "--rack", "R99", "-q"]) == 2
    assert "no rack 'R99'" in capsys.readouterr().err
    assert not (tmp_path / "o1").exists() and not list((tmp_path / "o2").glob("*.pdf"))


@pytest.mark.slow
@pytest.mark.skipif(
    not HAVE_WORKPLAN, reason="fieldops.core.workplan (the work planner) has not landed yet"
)
def test_lab_hall_through_fieldops_print(tmp_path):
    """The real pipeline on the lab sample: every step QR and every cable label decodes."""
    out = tmp_path / "out"
    assert main(["print", str(LAB_HALL), "-o", str(out), "-q"]) == 0
    from fieldops.adapters.designfile import load_design
    from fieldops.core.routing import build_cable_plan

    design = load_design(LAB_HALL).design
    plan = build_cable_plan(design)
    labels = Counter(t for page in render(out / "labels.pdf") for t in decode(page))
    assert len(plan.runs) == 157  # the lab hall's cables
    for run in plan.runs:
        assert labels[f"{run.id}/A"] == 1 and labels[f"{run.id}/B"] == 1
    steps = Counter(t for page in render(out / "cutsheets.pdf") for t in decode(page))
    assert sum(steps.values()) > len(plan.runs)
