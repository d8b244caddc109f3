"""cutsheets.pdf and racks.pdf: step QR codes decode at 300 dpi, headers carry design, revision
and page x/y, output is byte-identical for the same input, and hostile input stays legible."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pypdfium2 as pdfium
import pytest

from fieldops.adapters.pdf import write_cutsheets, write_rack_sheets
from fieldops.core.problems import DesignError
from fieldops.core.workorder import Location, Step, WorkOrder, WorkPlan
from tests.integration.test_pdf_support import (
    decode,
    make_plan,
    make_work,
    page_sizes,
    render,
    tiny,
)


def page_texts(path) -> list[str]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


@pytest.fixture
def planned(tmp_path):
    design = tiny(tmp_path)
    plan = make_plan(design)
    return design, plan, make_work(design, plan)


def test_every_step_qr_decodes_at_300_dpi(tmp_path, planned):
    design, plan, work = planned
    path = write_cutsheets(tmp_path / "cutsheets.pdf", design, plan, work)
    decoded = Counter(text for page in render(path, 300) for text in decode(page))
    assert decoded == Counter(work.workorders[0].steps)
    assert len(decoded) == 3 + 3 + 2  # racks, devices, cables of the tiny hall


def test_headers_carry_design_revision_section_and_page_x_of_y(tmp_path, planned):
    design, plan, work = planned
    path = write_cutsheets(tmp_path / "cutsheets.pdf", design, plan, work)
    texts = page_texts(path)
    assert len(texts) >= 4  # cover, steps, elevations, cables
    for n, text in enumerate(texts, start=1):
        assert (
            "tiny rev 1" in text
            and f"page {n}/{len(texts)}" in text
            and "WO-1 technician-1" in text
        )
    cover = texts[0]
    for want in (
        "Work order WO-1",
        "TINY",
        "technician-1",
        "Steps",
        "8",
        "rack 3, stack 3, cable 2",
        "CAT6A-50M",
        "test-server-1u",
    ):
        assert want in cover, want
    everything = "\n".join(texts)
    for run in plan.runs:  # the cable table lists every cable of the work order
        assert run.id in everything and run.sku in everything
    assert (
        "srv1 << TARGET" in everything and "(rear of) srv1" in everything
    )  # stack targets highlighted


def test_same_input_gives_byte_identical_pdfs_in_a4_and_letter(tmp_path, planned):
    design, plan, work = planned
    for size, expect in (("A4", (595, 842)), ("letter", (612, 792))):
        one = write_cutsheets(tmp_path / f"one-{size}.pdf", design, plan, work, pagesize=size)
        two = write_cutsheets(tmp_path / f"two-{size}.pdf", design, plan, work, pagesize=size)
        assert one.read_bytes() == two.read_bytes()
        assert page_sizes(one) == {expect}
        r1 = write_rack_sheets(tmp_path / f"r1-{size}.pdf", design, plan, pagesize=size)
        r2 = write_rack_sheets(tmp_path / f"r2-{size}.pdf", design, plan, pagesize=size)
        assert r1.read_bytes() == r2.read_bytes()


def test_rack_sheets_list_every_cable_touching_the_rack(tmp_path, planned):
    design, plan, _ = planned
    path = write_rack_sheets(tmp_path / "racks.pdf", design, plan, racks=["R02"])
    text = "\n".join(page_texts(path))
    assert "Rack R02" in text and "rack R01" not in text
    assert all(run.id in text for run in plan.runs)  # both cables end on sw1 in R02
    assert "sw1" in text and "Cables touching R02 (2)" in text


def test_a_rack_with_no_devices_still_prints(tmp_path):
    design = tiny(tmp_path, devices=[], cables=[])
    plan = make_plan(design)
    path = write_rack_sheets(tmp_path / "racks.pdf", design, plan)
    texts = page_texts(path)
    assert len(texts) == 3 and all(
        "no devices racked" in t and "No cables touch this rack." in t for t in texts
    )


def test_unknown_rack_and_page_size_are_input_errors(tmp_path, planned):
    design, plan, work = planned
    with pytest.raises(DesignError, match="no rack 'R99'"):
        write_rack_sheets(tmp_path / "racks.pdf", design, plan, racks=["R99"])
    with pytest.raises(DesignError, match="unknown page size 'A3'"):
        write_cutsheets(tmp_path / "cut.pdf", design, plan, work, pagesize="A3")
    assert list(tmp_path.glob("*.pdf*")) == []


def hostile_work(design, n: int) -> WorkPlan:
    long = "Überlanger Gerätename 東京 " * 40
    steps = tuple(
        Step(
            f"S-{i:05d}",
            "cable",
            "run_cable",
            f"Step {i} {long}",
            (long + "<b>&amp; not markup</b> ") * 5,
            Location("R01", "1A-D06", "front", 10, 1800, 2400 - (i % 7) * 100),
        )
        for i in range(n)
    )
    wo = WorkOrder("WO-BIG", long, "technician-1", 1, "TINY", tuple(s.id for s in steps))
    return WorkPlan(steps, (wo,), ())


def test_long_non_ascii_text_is_wrapped_inside_the_page(tmp_path):
    design = tiny(tmp_path)
    path = write_cutsheets(
        tmp_path / "cut.pdf", design, make_plan(design), hostile_work(design, 30)
    )
    pages = render(path, 100)
    for page in pages:  # nothing drawn in the side margins (14 mm = 55 px at 100 dpi)
        ink = np.asarray(page) < 200
        assert ink[:, :50].sum() == 0 and ink[:, -50:].sum() == 0
    text = "\n".join(page_texts(path))
    assert "Gerätename" in text and "<b>&amp; not markup</b>" in text


def short_work(design, n: int, place=None) -> WorkPlan:
    """``n`` hostile steps retitled 'Step i' / 'Run it.'; ``place(i)`` gives step i's (x, y)."""
    work = hostile_work(design, n)
    steps = []
    for i, s in enumerate(work.steps):
        loc = s.location
        if place is not None:
            x, y = place(i)
            loc = dataclasses.replace(loc, x_mm=x, y_mm=y)
        steps.append(dataclasses.replace(s, title=f"Step {i}", instruction="Run it.", location=loc))
    return dataclasses.replace(work, steps=tuple(steps))


@pytest.mark.slow
def test_ten_thousand_steps_in_one_work_order(tmp_path):
    design = tiny(tmp_path)
    path = write_cutsheets(
        tmp_path / "cut.pdf", design, make_plan(design), short_work(design, 10_000)
    )
    texts = page_texts(path)
    total = len(texts)
    assert total > 100 and f"page {total}/{total}" in texts[-1]
    # stops are places (7 distinct stand-offs here), numbered once each however often visited
    assert "10,000" in texts[0] and "7 stops, numbered in the order first reached" in texts[0]
    everything = "\n".join(texts)
    assert "10000.\r\nStep 9999" in everything or "10000. Step 9999" in everything


def test_more_than_400_stops_are_dotted_not_numbered(tmp_path):
    design = tiny(tmp_path)
    spread = short_work(design, 450, place=lambda i: (300 + i * 10, 500))
    texts = page_texts(write_cutsheets(tmp_path / "cut.pdf", design, make_plan(design), spread))
    assert "450 stops" in texts[0] and "(stops not numbered: more than 400)" in texts[0]
