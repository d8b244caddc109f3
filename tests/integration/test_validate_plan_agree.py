"""validate == plan: on every failing design below, ``fieldops validate`` reports exactly the
errors ``fieldops plan`` refuses with (same lines, same team options), and a design that
validates clean plans. Each fixture states the reason it must fail, so a fixture that stopped
failing for that reason (and agreed by accident) is caught too.

The designs are the tiny hall (tests/samples_validate.py) and the DETOUR hall
(tests/samples_trays.py); team options are those of both commands.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fieldops.cli import main
from fieldops.core.problems import Problem
from tests.samples import REPO, SERVER_TYPE
from tests.samples_trays import t1, tray_design
from tests.samples_validate import (
    DEVICES,
    FLOORPLAN_HEAD,
    PDU_TYPE,
    SWITCH_TYPE,
    device_type,
    floorplan_text,
    make_design,
)


def bundled(name: str) -> dict:
    """A profile of the repo's robot_profiles/ as YAML data, to change and write elsewhere."""
    return yaml.safe_load((REPO / "robot_profiles" / f"{name}.yaml").read_text())


TECHNICIAN = {**bundled("technician"), "count": 2}
CABLING_ROBOT = bundled("cabling-robot")  # reaches U42: 100 + 42 x 44.45 = 1967 mm


def profiles(root: Path, *items: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for p in items:
        (root / f"{p['name']}.yaml").write_text(yaml.safe_dump(p))
    return root


def overlap(tmp):
    extra = "{name: srv9, device_type: test-server-1u, rack: R01, position: 10}"
    return make_design(tmp, devices=DEVICES + [extra]), [], "overlaps 'srv1' at U10"


def tray_through_column(tmp):
    tray = "  - {name: T2, media: [copper], points: [[4000, 5000], [5800, 5000]]}\n"
    head = FLOORPLAN_HEAD.replace("rack_types:", tray + "rack_types:", 1)
    return make_design(tmp, floorplan=floorplan_text(head=head)), [], "through column 'COL-1'"


def switch_at_u50_in_52u_racks(tmp):
    head = FLOORPLAN_HEAD.replace("u_height: 42", "u_height: 52")
    head = head.replace("elevation_mm: 2500", "elevation_mm: 2700")  # above the 2511 mm racks
    devices = [DEVICES[0].replace("position: 40", "position: 50"), *DEVICES[1:]]
    design = make_design(tmp, floorplan=floorplan_text(head=head), devices=devices)
    return design, [], "U50-U50 is outside technician's reach (U1-U42)"


def heavy_device_without_a_rigging_crew(tmp):
    heavy = device_type(SERVER_TYPE, weight=300)  # over 2 x 23 kg and the lift robot's 250 kg
    team = profiles(tmp / "team", TECHNICIAN, bundled("lift-robot"))
    design = make_design(tmp / "design", device_types=[heavy, SWITCH_TYPE, PDU_TYPE])
    return design, ["--profiles", str(team)], "300 kg needs a rigging crew"


def tray_above_the_cabling_robot(tmp):
    tech = {**TECHNICIAN, "actions": [a for a in TECHNICIAN["actions"] if a != "run_cable"]}
    team = profiles(tmp / "team", tech, CABLING_ROBOT)
    return (
        tray_design(tmp / "design", [t1("depth_mm: 100")]),  # R01 - R03 over T1 at 2500 mm
        ["--profiles", str(team)],
        "the route uses a tray at 2500 mm, above cabling-robot's reach (1967 mm)",
    )


def no_walking_path_to_the_rear(tmp):
    blocks = (
        "  - {name: BLOCK-W, kind: keepout, height_mm: 2000, polygon: [[0, 2400], [1500, 2400], [1500, 3600], [0, 3600]]}\n"
        "  - {name: BLOCK-E, kind: keepout, height_mm: 2000, polygon: [[3300, 2400], [6000, 2400], [6000, 3600], [3300, 3600]]}\n"
    )
    head = FLOORPLAN_HEAD.replace("waypoints:", blocks + "waypoints:", 1)
    design = make_design(tmp, floorplan=floorplan_text(head=head))
    return design, [], "no walkable path from DOOR to the stand-off point at rack R01 rear"


def nobody_does_burnin(tmp):
    tech = {**TECHNICIAN, "actions": [a for a in TECHNICIAN["actions"] if a != "burnin_check"]}
    team = profiles(tmp / "team", tech)
    return (
        make_design(tmp / "design"),
        ["--profiles", str(team)],
        "technician does not declare burnin_check",
    )


def empty_team(tmp):
    return make_design(tmp), ["--crew", "0", "--robots", ""], "the team is empty"


def unknown_robot(tmp):
    return make_design(tmp), ["--robots", "hover-bot"], "no robot profile 'hover-bot'"


def tray_over_its_fill_limit(tmp):
    design = tray_design(tmp, [t1("fill_area_mm2: 100")])
    return design, [], "is 56.5% full, over its 50% limit"


def power_and_copper_forced_together(tmp):
    devices = [
        "{name: srv1, device_type: test-server-1u, rack: R01, position: 10}",
        "{name: srv3, device_type: test-server-1u, rack: R03, position: 10}",
        "{name: pdu3, device_type: test-pdu-0u, rack: R03, face: rear}",
    ]
    cables = [
        "{a: 'srv1:eth0', b: 'srv3:eth0', media: cat6a}",
        "{a: 'srv1:PSU1', b: 'pdu3:O1', media: pwr}",
    ]
    design = tray_design(
        tmp, [t1("depth_mm: 100", "[copper, power]")], devices=devices, cables=cables
    )
    return design, [], "carries copper and power cables together"


FAILING = [
    overlap,
    tray_through_column,
    switch_at_u50_in_52u_racks,
    heavy_device_without_a_rigging_crew,
    tray_above_the_cabling_robot,
    no_walking_path_to_the_rear,
    nobody_does_burnin,
    empty_team,
    unknown_robot,
    tray_over_its_fill_limit,
    power_and_copper_forced_together,
]


def validate_errors(design: Path, args: list[str], capsys) -> tuple[int, list[str]]:
    code = main(["validate", str(design), "--format", "json", *args])
    doc = json.loads(capsys.readouterr().out)
    errors = [str(Problem(**p)) for p in doc["problems"] if p["severity"] == "error"]
    return code, errors


def plan_errors(design: Path, out: Path, args: list[str], capsys) -> tuple[int, list[str]]:
    code = main(["plan", str(design), "-o", str(out), "-q", *args])
    lines = capsys.readouterr().err.splitlines()
    assert lines[-1].endswith("problem(s); nothing was written")
    return code, lines[:-1]


@pytest.mark.parametrize("fixture", FAILING, ids=[f.__name__ for f in FAILING])
def test_plan_refuses_exactly_what_validate_reports(tmp_path, capsys, fixture):
    design, args, reason = fixture(tmp_path / "case")
    v_code, v_errors = validate_errors(design, args, capsys)
    p_code, p_errors = plan_errors(design, tmp_path / "out", args, capsys)
    assert (v_code, p_code) == (2, 2)
    assert v_errors == p_errors
    assert any(reason in line for line in v_errors), v_errors
    assert not (tmp_path / "out").exists()


def test_a_design_that_validates_clean_plans(tmp_path, capsys):
    design = make_design(tmp_path / "case")
    assert validate_errors(design, [], capsys) == (0, [])
    assert main(["plan", str(design), "-o", str(tmp_path / "out"), "-q"]) == 0
    assert (tmp_path / "out" / "workorders.json").is_file()


def test_the_default_rigging_crew_sets_what_no_lift_carries(tmp_path, capsys):
    heavy = device_type(SERVER_TYPE, weight=300)
    design = make_design(tmp_path / "case", device_types=[heavy, SWITCH_TYPE, PDU_TYPE])
    assert validate_errors(design, [], capsys) == (0, [])
    assert main(["plan", str(design), "-o", str(tmp_path / "out"), "-q"]) == 0
    doc = json.loads((tmp_path / "out" / "workorders.json").read_text())
    mounts = [s for s in doc["steps"] if s["kind"] == "mount_device" and s["weight_kg"] == 300]
    assert mounts and {s["assignee"] for s in mounts} == {"rigging-crew-1"}
    assert all("RIGGING: 300 kg" in s["instruction"] for s in mounts)
