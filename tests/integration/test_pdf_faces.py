"""Rear-mounted switches: the instruction, the elevation drawing and the routed length agree on
the face (issue 16, item 7).

NetBox's model: ``face`` is the rack face the device's own front is on; a data port is on its
device's front unless the type's airflow is ``front-to-rear`` (docs/cables.md, "Where ports
are"). In the lab hall (floorplans/lab-hall)::

    rack A01 (front faces -y, rear face y = 3600)     rack B03 (rotated 180, rear face y = 4800)
      U41  oob-01   mellanox-sn2201, face: rear         U40  leaf-b  mellanox-sn2201, face: rear
      U10  srv-01   generic server, front-to-rear       (no airflow in the SN2201 type)

so oob-01's and leaf-b's ports are on the racks' rear, where the elevation draws them, and
srv-01's NICs are on A01's rear too: the BMC cable srv-01:bmc -- oob-01:swp1 runs straight up
A01's rear face (U10 port at 100 + 9.5 x 44.45 = 522.275 mm, U41 at 100 + 40.5 x 44.45 =
1900.225 mm: 1377.95 mm), not through the 1200 mm rack depth.
"""

from __future__ import annotations

import pytest

from fieldops import services
from fieldops.adapters.pdf import write_rack_sheets
from tests.integration.test_pdf_support import words
from tests.samples import LAB_HALL

pytestmark = pytest.mark.slow  # plans the lab hall


@pytest.fixture(scope="module")
def lab():
    loaded = services.load_valid_design(LAB_HALL)
    return services.build_plan(loaded)


def cable_step(plan, a: str, b: str):
    for step in plan.work.steps:
        if step.kind == "run_cable" and {a, b} == {
            f"{step.action['a']['device']}:{step.action['a']['port']}",
            f"{step.action['b']['device']}:{step.action['b']['port']}",
        }:
            return step, plan.cable_plan.by_id()[step.action["cable"]]
    raise AssertionError(f"no cable step {a} -- {b}")


def test_the_length_of_a_cable_to_a_rear_switch_is_not_routed_through_the_rack(lab):
    _, run = cable_step(lab, "srv-01:bmc", "oob-01:swp1")
    ends = {run.a.device: run.a, run.b.device: run.b}
    assert ends["oob-01"].face == "rear" and ends["srv-01"].face == "rear"
    assert run.tray_path == () and run.bends == 0
    assert run.route_mm == pytest.approx(1377.95, abs=0.06)  # up the rear face only
    assert {(round(x), round(y)) for x, y, _ in run.polyline} == {(3300, 3600)}  # A01's rear
    assert run.length_mm == 1978  # ceil(1377.95 + 2 x 300 slack)


def test_the_instruction_names_the_rear_and_the_technician_stands_there(lab):
    step, _ = cable_step(lab, "srv-01:bmc", "oob-01:swp1")
    assert "into oob-01 swp1 (rack A01, 1A-F06, U41, rear)" in step.instruction
    assert "into srv-01 bmc (rack A01, 1A-F06, U10, rear)" in step.instruction
    assert (step.location.rack, step.location.face) == ("A01", "rear")
    assert step.location.y_mm > 3600  # the stand-off point is in the rear aisle
    far, _ = cable_step(lab, "srv-07:eno2", "leaf-b:swp7")
    assert "into leaf-b swp7 (rack B03, 1A-I10, U40, rear)" in far.instruction


@pytest.mark.parametrize(("rack", "device"), [("A01", "oob-01"), ("B03", "leaf-b")])
def test_the_elevation_draws_the_rear_switch_on_the_rear(tmp_path, lab, rack, device):
    design = lab.loaded.design
    path = write_rack_sheets(tmp_path / "racks.pdf", design, lab.cable_plan, racks=[rack])
    ws = [w for w in words(path) if w.page == 0]
    heads = {w.text: w for w in ws if w.text in ("front", "rear") and w.size == 8}
    name = [w for w in ws if w.text == device]
    assert len(name) == 1  # half-depth: not drawn on the front as "(rear of)"
    assert name[0].left > heads["rear"].left - 40 > heads["front"].left  # in the rear panel


def test_the_cut_sheet_elevation_marks_the_ports_on_the_face_the_instruction_names(tmp_path, lab):
    from fieldops.adapters.pdf import write_cutsheets

    step, _ = cable_step(lab, "srv-01:bmc", "oob-01:swp1")
    work = lab.work
    wo = next(w for w in work.workorders if step.id in w.steps)
    one = type(work)(work.steps, (wo,), work.team)
    path = write_cutsheets(tmp_path / "cut.pdf", lab.loaded.design, lab.cable_plan, one)
    ws = words(path)
    for device in ("oob-01", "srv-01"):
        marks = [  # the device's name with '<< PORTS' right after it in the same panel
            w
            for w in ws
            if w.text == device
            and any(
                m.text == "PORTS"
                and m.page == w.page
                and abs(m.y - w.y) < 2
                and 0 < m.left - w.right < 30
                for m in ws
            )
        ]
        assert marks, device
        for w in marks:  # always in the rear panel of A01's elevation
            head = next(
                h for h in ws if h.page == w.page and h.text == "rear" and h.size == 8 and h.y > w.y
            )
            assert w.left > head.left - 40, device
