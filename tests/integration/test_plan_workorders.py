"""Work orders for the sample halls with the real walking graph and cable router, real files.

Checks on every step of both samples: precedence, robot capabilities, bottom-up stacking, no
double booking; walking in the optimised order against the design order; byte-identical
output; the JSON Schema; the round trip; the CLI end to end; bad input.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import jsonschema
import pytest

from fieldops.adapters.designfile import load_design
from fieldops.adapters.workfiles import (
    SCHEDULE_COLUMNS,
    read_work_file,
    render_work_json,
    write_work_files,
)
from fieldops.core.problems import DesignError
from fieldops.core.routing import build_cable_plan
from fieldops.core.schedule import step_u_span
from fieldops.core.walking import WalkGraph
from fieldops.core.workplan import build_work_plan
from fieldops.services import load_team

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "fieldops" / "data" / "workorders.schema.json").read_text())
SAMPLES = ["lab-hall", "gpu-hall"]


@pytest.fixture(scope="module")
def planned():
    cache = {}

    def plan(
        sample: str, crew: int = 3, robots=("lift-robot", "cabling-robot"), optimise: bool = True
    ):
        key = (sample, crew, tuple(robots), optimise)
        if key not in cache:
            design = load_design(REPO / "floorplans" / sample).design
            cp = build_cable_plan(design)
            team = load_team(None, crew=crew, robots=list(robots))
            work = build_work_plan(design, cp, team, WalkGraph(design), optimise=optimise)
            cache[key] = (design, cp, team, work)
        return cache[key]

    return plan


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES)
def test_every_step_starts_after_its_dependencies_end(planned, sample):
    _, _, _, work = planned(sample)
    by = work.step_index()
    assert len(by) == len(work.steps)
    for s in work.steps:
        assert s.assignee and s.start_s is not None and s.end_s > s.start_s
        for d in s.depends_on:
            assert by[d].end_s <= s.start_s, f"{s.id} starts before {d} ends"
    # the global order is a topological order too
    seen = set()
    for s in work.steps:
        assert set(s.depends_on) <= seen, s.id
        seen.add(s.id)


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES)
def test_nobody_is_double_booked_and_robots_stay_within_their_profile(planned, sample):
    _, _, team, work = planned(sample)
    profiles = {p.name: p for p in team}
    member_profile = {m.name: profiles[m.profile] for m in work.team}
    busy = defaultdict(list)
    robot_steps = 0
    for s in work.steps:
        for who in (s.assignee, *s.helpers):
            busy[who].append((s.start_s, s.end_s, s.id))
        p = member_profile[s.assignee]
        if p.kind == "robot":
            robot_steps += 1
            assert set(s.required_actions) <= set(p.actions), s.id
            assert s.weight_kg <= p.payload_kg, s.id
            span = step_u_span(s)
            if span:
                assert p.u_min <= span[0] and span[1] <= p.u_max, s.id
            assert s.confirm in ("robot", "robot+technician")
        if s.crew_size > 1:
            assert len(s.helpers) == s.crew_size - 1 and all(
                member_profile[h].kind == "technician" for h in s.helpers
            )
    assert robot_steps > 0  # the samples give the robots work
    for who, spans in busy.items():
        spans.sort()
        for (_, end, a), (start, _, b) in zip(spans, spans[1:], strict=False):
            assert end <= start, f"{who} does {a} and {b} at once"


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES)
def test_stacking_is_bottom_up_in_every_rack(planned, sample):
    design, _, _, work = planned(sample)
    by = work.step_index()
    per_rack = defaultdict(list)
    for d in design.devices:
        if d.position is not None:
            per_rack[d.rack].append(d)
    for rack, devs in per_rack.items():
        devs.sort(key=lambda d: (d.position, d.face, d.name))
        starts = [by[f"mount:{d.name}"].start_s for d in devs]
        assert starts == sorted(starts), rack
        for d in devs:
            assert by[f"rails:{d.name}"].end_s <= by[f"mount:{d.name}"].start_s


@pytest.mark.slow
@pytest.mark.parametrize("sample", SAMPLES)
def test_optimised_order_walks_no_further_than_the_design_order(planned, sample):
    _, _, _, work = planned(sample)
    opt, naive = work.stats["order_walking_m"], work.stats["design_order_walking_m"]
    assert 0 < opt <= naive
    print(f"{sample}: walking in plan order {opt:,.0f} m, design order {naive:,.0f} m")


def test_lab_hall_schedule_is_better_than_scheduling_in_design_order(planned):
    _, _, _, work = planned("lab-hall")
    _, _, _, naive = planned("lab-hall", optimise=False)
    assert (
        naive.stats["order_walking_m"]
        == naive.stats["design_order_walking_m"]
        == work.stats["design_order_walking_m"]
    )
    assert sum(work.walking_m.values()) <= sum(naive.walking_m.values())
    assert set(s.id for s in work.steps) == set(s.id for s in naive.steps)


def test_same_input_gives_byte_identical_files(tmp_path):
    outs = []
    for k in range(2):
        design = load_design(REPO / "floorplans" / "lab-hall").design
        cp = build_cable_plan(design)
        team = load_team(None, crew=3, robots=["lift-robot"])
        work = build_work_plan(design, cp, team, WalkGraph(design))
        outs.append([p.read_bytes() for p in write_work_files(design, work, tmp_path / str(k))])
    assert outs[0] == outs[1]


def test_files_match_the_schema_and_read_back(planned, tmp_path):
    design, _, _, work = planned("lab-hall")
    json_path, csv_path = write_work_files(design, work, tmp_path)
    doc = json.loads(json_path.read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["schema"] == "fieldops.workorders/2.0"
    assert doc["design"] == {"name": "lab-hall", "revision": "r1", "hall": "LAB1"}
    assert doc["schedule"]["makespan_s"] == work.makespan_s and doc["schedule"][
        "critical_path"
    ] == list(work.critical_path)
    meta, back = read_work_file(json_path)
    assert back == work and back.walking_m == work.walking_m and back.stats == work.stats
    assert [s.action for s in back.steps] == [s.action for s in work.steps]
    assert meta["design"]["hall"] == "LAB1"
    assert render_work_json(design, back) == json_path.read_bytes()
    rows = list(csv.DictReader(csv_path.open()))
    confirmations = work.stats["confirmations"]
    assert tuple(rows[0]) == SCHEDULE_COLUMNS
    assert len(rows) == len(work.steps) + len(confirmations)
    assert [float(r["start_s"]) for r in rows] == sorted(float(r["start_s"]) for r in rows)
    wo_ids = {w.id for w in work.workorders}
    assert all(r["workorder"] in wo_ids for r in rows)
    # every step is in its assignee's work orders exactly once
    counted = defaultdict(int)
    for w in work.workorders:
        for sid in w.steps:
            counted[(w.assignee, sid)] += 1
    assert all(counted[(s.assignee, s.id)] == 1 for s in work.steps)


# ---------------------------------------------------------------- technicians' confirmations


def _busy_spans(work):
    """Per team member: (start, end, what) of every step they do or help with and, for the
    technicians, every confirmation."""
    busy = defaultdict(list)
    for s in work.steps:
        for who in (s.assignee, *s.helpers):
            busy[who].append((s.start_s, s.end_s, s.id))
    for c in work.stats["confirmations"]:
        busy[c["technician"]].append((c["start_s"], c["end_s"], "confirm " + c["step"]))
    return busy


@pytest.mark.parametrize("sample", SAMPLES)
def test_every_robot_technician_step_is_confirmed_by_a_technician_before_its_dependants(
    planned, sample
):
    """The cabling robot's cables and the lift's mounts need a technician's scan: one
    confirmation each, after the robot's step ends, 30 s (the technician profile declares no
    ``confirm`` time), by a technician; everything that depends on the step starts after the
    confirmation, except the robot's own next steps of the same batch (confirmed with it,
    after it); nobody is double-booked counting confirmations; the makespan covers them."""
    _, _, _, work = planned(sample)
    by = work.step_index()
    kind = {m.name: m.kind for m in work.team}
    confs = work.stats["confirmations"]
    held = {s.id for s in work.steps if s.confirm == "robot+technician"}
    assert held and sorted(c["step"] for c in confs) == sorted(held)  # one each
    assert confs == sorted(confs, key=lambda c: (c["start_s"], c["technician"]))
    done = {c["step"]: c["end_s"] for c in confs}
    begun = {c["step"]: c["start_s"] for c in confs}
    for c in confs:
        step = by[c["step"]]
        assert kind[step.assignee] == "robot" and kind[c["technician"]] == "technician"
        assert step.end_s <= c["start_s"] and c["end_s"] - c["start_s"] == 30
        assert c["end_s"] <= work.makespan_s
    waited = 0
    for s in work.steps:
        for d in s.depends_on:
            if d not in done:
                continue
            if (s.assignee, s.group) == (by[d].assignee, by[d].group) and s.start_s < done[d]:
                # the robot's own next step in the same batch: the batch is confirmed after it
                assert s.end_s <= begun[d], f"{s.id} overlaps the confirmation of {d}"
            else:
                assert done[d] <= s.start_s, f"{s.id} starts before {d} is confirmed"
                waited += 1
    assert waited > 0
    for who, spans in _busy_spans(work).items():
        spans.sort()
        for (_, end, a), (start, _, b) in zip(spans, spans[1:], strict=False):
            assert end <= start, f"{who} does {a} and {b} at once"


def test_confirmations_are_written_to_both_files_and_read_back(planned, tmp_path):
    design, _, _, work = planned("lab-hall")
    json_path, csv_path = write_work_files(design, work, tmp_path)
    confs = work.stats["confirmations"]
    text = json_path.read_text()
    doc = json.loads(text)
    jsonschema.validate(doc, SCHEMA)
    assert doc["schedule"]["confirmations"] == confs
    for c in confs:  # one line each, so two plans diff line by line
        line = json.dumps(c, sort_keys=True, separators=(",", ":"))
        assert f"\n{line}," in text or f"\n{line}\n]" in text
    _, back = read_work_file(json_path)
    assert back.stats["confirmations"] == confs
    wo_of = {(sid, w.assignee): w.id for w in work.workorders for sid in w.steps}
    by = work.step_index()
    rows = [r for r in csv.DictReader(csv_path.open()) if r["kind"] == "confirm"]
    assert len(rows) == len(confs)
    for r in rows:
        step = by[r["step"]]
        assert r["phase"] == step.phase and r["rack"] == step.location.rack
        assert r["helpers"] == "" and r["workorder"] == wo_of[(step.id, step.assignee)]
    assert sorted(
        (r["assignee"], int(r["start_s"]), int(r["end_s"]), r["step"]) for r in rows
    ) == sorted((c["technician"], c["start_s"], c["end_s"], c["step"]) for c in confs)


def test_schedule_csv_puts_a_confirmation_on_the_technicians_timeline():
    """A hand-made plan: lift-1 mounts gpu1 (0-420 s), technician-1 confirms it (426-456 s,
    after walking 6 s) and then mounts srv1 (456-1056 s). The technician's rows account for
    all of their time; rows by start, then assignee, step ID and kind."""
    from fieldops.adapters.workfiles import render_schedule_csv
    from fieldops.core.workorder import Assignee, Location, Step, WorkOrder, WorkPlan

    here = Location("A01", "1A01", "front", 10)
    gpu = Step(
        "mount:gpu1",
        "stack",
        "mount_device",
        "Mount gpu1",
        "",
        here,
        confirm="robot+technician",
        assignee="lift-1",
        start_s=0.0,
        end_s=420.0,
    )
    srv = Step(
        "mount:srv1",
        "stack",
        "mount_device",
        "Mount srv1",
        "",
        Location("A01", "1A01", "front", 20),
        depends_on=("mount:gpu1",),
        assignee="technician-1",
        start_s=456.0,
        end_s=1056.0,
    )
    work = WorkPlan(
        steps=(gpu, srv),
        workorders=(
            WorkOrder("WO-S01-lift-1-A", "t", "lift-1", 1, "A", ("mount:gpu1",)),
            WorkOrder("WO-S01-technician-1-A", "t", "technician-1", 1, "A", ("mount:srv1",)),
        ),
        team=(
            Assignee("technician-1", "technician", "technician"),
            Assignee("lift-1", "lift", "robot"),
        ),
        makespan_s=1056.0,
        stats={
            "shift_s": 28800,
            "confirmations": [
                {"step": "mount:gpu1", "technician": "technician-1", "start_s": 426, "end_s": 456}
            ],
        },
    )
    assert render_schedule_csv(work).decode() == (
        "assignee,start_s,end_s,step,phase,kind,rack,location_id,face,u,helpers,workorder,shift\n"
        "lift-1,0,420,mount:gpu1,stack,mount_device,A01,1A01,front,10,,WO-S01-lift-1-A,1\n"
        "technician-1,426,456,mount:gpu1,stack,confirm,A01,1A01,front,10,,WO-S01-lift-1-A,1\n"
        "technician-1,456,1056,mount:srv1,stack,mount_device,A01,1A01,front,20,,WO-S01-technician-1-A,1\n"
    )


def _conf(**kw) -> dict:
    return {
        "step": "rack:A01",
        "technician": "t",
        "start_s": 0,
        "end_s": 30,
        "order": 0,
        "walk": None,
        "walk_on": None,
    } | kw


# Where a problem is (file and path) is fieldops' part; the schema validator's own words are
# not asserted. fieldops' own checks (what the schema cannot say) are asserted word for word.
@pytest.mark.parametrize(
    ("confirmations", "needle"),
    [
        (3, "workorders.json: schedule.confirmations: "),
        ([["cable:x"]], "workorders.json: schedule.confirmations[0]: "),
        (
            [{"step": "rack:A01", "start_s": 0, "end_s": 30}],
            "workorders.json: schedule.confirmations[0]: ",
        ),
        (
            [_conf(start_s=40, end_s=30)],
            "workorders.json: schedule.confirmations[0]: malformed confirmation: end_s 30 is before start_s 40",
        ),
        ([_conf(start_s=1.5)], "workorders.json: schedule.confirmations[0].start_s: "),
        (
            [_conf(step="rack:Z99")],
            "workorders.json: schedule.confirmations[0]: malformed confirmation: confirms unknown step 'rack:Z99'",
        ),
    ],
)
def test_malformed_confirmations_are_clear_errors(planned, tmp_path, confirmations, needle):
    design, _, _, work = planned("lab-hall")
    doc = json.loads(render_work_json(design, work))
    doc["schedule"]["confirmations"] = confirmations
    path = tmp_path / "workorders.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DesignError) as err:
        read_work_file(path)
    assert any(str(p).startswith(str(tmp_path / needle)) for p in err.value.problems), err.value


_OLD = '{"schema": "fieldops.workorders/1.0", "design": {}, "team": [], "steps": [], "workorders": [], "schedule": {}}'
_V2 = '{"schema": "fieldops.workorders/2.0", "design": {}, "team": [], "floor": {}, "steps": %s, "workorders": [], "schedule": {}}'


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{not json", "<root>: not valid JSON: "),
        (
            '{"schema": "something/1.0"}',
            "schema: not a fieldops work-order file (schema 'something/1.0')",
        ),
        (
            '{"schema": "fieldops.workorders/3.0"}',
            "schema: unsupported schema version 'fieldops.workorders/3.0'; this fieldops reads fieldops.workorders/2.0",
        ),
        (
            _OLD,
            "schema: unsupported schema version 'fieldops.workorders/1.0'; this fieldops reads "
            "fieldops.workorders/2.0: it was written by an older fieldops without the walking "
            "paths and floor the app reads now; run 'fieldops plan' again",
        ),
        (_V2 % "3", "steps: "),
        (_V2 % '[{"id": "x"}]', "steps[0]: "),
    ],
)
def test_malformed_work_files_are_clear_errors(tmp_path, text, needle):
    path = tmp_path / "workorders.json"
    path.write_text(text)
    with pytest.raises(DesignError) as err:
        read_work_file(path)
    assert any(
        str(p).startswith(f"{path}: {needle}") or str(p).startswith(f"{path}:1: {needle}")
        for p in err.value.problems
    ), err.value


LAB = str(REPO / "floorplans" / "lab-hall")


def fieldops_plan(*args: str) -> subprocess.CompletedProcess:
    """``fieldops plan`` in a subprocess, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "fieldops", "plan", *args], capture_output=True, text=True, cwd=REPO
    )


def test_cli_plan_end_to_end(tmp_path):
    out = tmp_path / "out"
    r = fieldops_plan(LAB, "-o", str(out), "--crew", "3", "--robots", "lift-robot")
    assert r.returncode == 0, r.stderr
    assert "steps: rack 12, stack 92, power 62, cable 95, burnin 58, verify 12" in r.stdout
    assert "makespan:" in r.stdout and "technician-3:" in r.stdout and "lift-robot-1:" in r.stdout
    assert "work orders: scheduling 5 team members" in r.stderr  # 3 + lift robot + rigging crew
    jsonschema.validate(json.loads((out / "workorders.json").read_text()), SCHEMA)
    assert (out / "schedule.csv").read_text().startswith(",".join(SCHEDULE_COLUMNS))


def test_cli_a_team_nobody_in_which_can_place_racks_fails_cleanly(tmp_path):
    out = tmp_path / "out"
    r = fieldops_plan(LAB, "-o", str(out), "--crew", "0", "--robots", "lift-robot")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "rack:A01" in r.stderr and "nobody in the team can do this step" in r.stderr
    assert not (out / "workorders.json").exists() and not (out / "cutsheet.csv").exists()


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda d: d / "missing", "robot profile folder not found"),
        (lambda d: d, "no robot or crew profiles (*.yaml) in this folder"),
    ],
    ids=["missing-folder", "empty-folder"],
)
def test_cli_a_bad_profile_folder_is_named_before_any_routing(tmp_path, make, needle):
    out, profiles = tmp_path / "out", make(tmp_path / "profiles")
    (tmp_path / "profiles").mkdir()
    r = fieldops_plan(LAB, "-o", str(out), "--profiles", str(profiles))
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{profiles}: <root>: {needle}" in r.stderr and "Traceback" not in r.stderr
    assert "routing" not in r.stderr  # the team is checked first: no minutes lost on a typo
    assert not out.exists()
