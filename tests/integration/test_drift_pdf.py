"""drift.pdf: one page per rack with drift, the items a technician fixes there most severe first,
the fix-up steps with their QR codes readable at 300 dpi, the same bytes for the same report,
hostile names kept on the page."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from fieldops.adapters.designfile import load_design
from fieldops.adapters.observed import load_observations
from fieldops.adapters.pdf.drift import rack_pages, write_drift_pdf
from fieldops.core import asbuilt as ab
from fieldops.core.reconcile import build_drift, build_fixups, merge_observed
from tests.integration.test_pdf_cutsheets import page_texts
from tests.integration.test_pdf_support import decode, render
from tests.observations import World, inject, write_infiniband, write_lldp
from tests.samples import GPU_HALL, tiny_devices, write_design


@pytest.fixture(scope="module")
def drifted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gpu")
    design = load_design(GPU_HALL).design
    rng = random.Random(7)
    world = World(design)
    plan = {"ethernet": {"missing": 1, "swapped": 1}, "infiniband": {"missing": 1, "wrong_port": 1}}
    faults = inject(world, rng, plan)
    files = write_lldp(world, tmp / "lldp", rng) + write_infiniband(world, tmp / "ib", rng)
    obs = load_observations(files, design)
    report = build_drift(
        design,
        merge_observed(ab.AsBuilt(design.floorplan.name), obs),
        scope=obs,
        devices_recorded=False,
    )
    steps = build_fixups(design, report)
    return design, report, steps, faults, tmp


def test_one_page_per_rack_with_its_items_and_steps(drifted):
    design, report, steps, faults, tmp = drifted
    path = write_drift_pdf(tmp / "drift.pdf", design, report, steps)
    pages = rack_pages(report, steps)
    racks = sorted({d.rack for d in report.items()} | {s.location.rack for s in steps})
    assert [r for r, _, _ in pages] == racks
    texts = page_texts(path)
    assert len(texts) == len(racks)  # every rack fits its page here
    for (rack, items, rack_steps), text in zip(pages, texts, strict=True):
        flat = " ".join(text.split())
        assert flat.startswith(f"Rack {rack} ")
        for d in items:
            assert d.status.replace("_", " ") in flat
            assert " ".join(d.message.split())[:40] in flat
        for s in rack_steps:
            assert " ".join(s.title.split()) in flat
    assert sum(len(items) for _, items, _ in pages) == len(report.items())
    assert len(report.items()) == sum(max(1, len(f.cables)) for f in faults)


def test_step_codes_decode_at_300_dpi_and_output_is_deterministic(drifted):
    design, report, steps, _, tmp = drifted
    a = write_drift_pdf(tmp / "a.pdf", design, report, steps)
    b = write_drift_pdf(tmp / "b.pdf", design, report, steps)
    assert a.read_bytes() == b.read_bytes()
    decoded = Counter(text for page in render(a, 300) for text in decode(page))
    assert decoded == Counter(s.id for s in steps)


def test_no_drift_is_said_and_hostile_text_stays_on_the_page(tmp_path):
    d = load_design(write_design(tmp_path / "h", devices=tiny_devices(), cables=[])).design
    report = build_drift(d, ab.AsBuilt("TINY"), devices_recorded=False)
    path = write_drift_pdf(tmp_path / "none.pdf", d, report, ())
    assert "No drift: the hall is as designed." in page_texts(path)[0]
    # an unexpected device with a long, odd name (it came from an as-built record)
    odd = "x" * 3000 + "\u202e<b>"
    record = ab.AsBuilt("TINY", {odd: ab.MountedDevice(odd, "R02", 20, "front")})
    report = build_drift(d, record)
    steps = build_fixups(d, report)
    path = write_drift_pdf(tmp_path / "odd.pdf", d, report, steps)
    texts = page_texts(path)
    assert any("unexpected" in t for t in texts)
    assert not (tmp_path / "odd.pdf.part").exists()
