"""Scheduling and ordering (fieldops.core.schedule, fieldops.core.ordering) on hand-built steps.

Stops on a line (mm): S=0 (start), A=3000, B=6000 -- distances are |x1 - x2|.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldops.core.model import RobotProfile, frozen_map
from fieldops.core.ordering import (
    best_path,
    check_graph,
    improve,
    nearest_neighbour,
    path_length,
    topological_order,
)
from fieldops.core.problems import DesignError
from fieldops.core.schedule import (
    build_team,
    can_do,
    critical_path,
    cut_workorders,
    schedule_steps,
    why_not,
)
from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH, CONFIRM_SCAN_ASSET, Location, Step

X = np.array([0.0, 3000.0, 6000.0])
DIST = np.abs(X[:, None] - X[None, :])
S, A, B = 0, 1, 2


def step(
    sid,
    kind="place_rack",
    deps=(),
    rack="A",
    u=None,
    weight=0.0,
    crew=1,
    group=None,
    action=None,
    confirm="manual",
    duration=100.0,
):
    return Step(
        id=sid,
        phase={"place_rack": "rack", "mount_device": "stack", "run_cable": "cable"}.get(
            kind, "rack"
        ),
        kind=kind,
        title=sid,
        instruction=sid,
        location=Location(rack, "", "front", u),
        confirm=confirm,
        depends_on=tuple(deps),
        duration_s=duration,
        action=action if action is not None else ({"u": u, "u_height": 1} if u else {}),
        required_actions=(kind,),
        weight_kg=weight,
        crew_size=crew,
        group=group if group is not None else sid,
    )


def tech(count=1, **kw):
    base = dict(
        actions=("place_rack", "mount_device", "run_cable"),
        payload_kg=23,
        u_max=42,
        speed_m_s=1.0,
        action_time_s=frozen_map({"place_rack": 1800, "mount_device": 600}),
        count=count,
    )
    base.update(kw)
    return RobotProfile("technician", "technician", **base)


LIFT = RobotProfile(
    "lift",
    "robot",
    actions=("mount_device",),
    payload_kg=120,
    u_min=1,
    u_max=44,
    speed_m_s=0.5,
    action_time_s=frozen_map({"mount_device": 420}),
)


def test_one_technician_walks_then_works_in_order():
    steps = [step("rack:A", rack="A"), step("rack:B", rack="B")]
    sch = schedule_steps(steps, [tech()], DIST, [A, B], [-1, -1], S)
    a, b = sch.steps
    # 3000 mm at 1 m/s = 3 s, then 1800 s; another 3000 mm = 3 s, then 1800 s
    assert (a.assignee, a.start_s, a.end_s, a.duration_s) == ("technician-1", 3.0, 1803.0, 1800.0)
    assert (b.start_s, b.end_s) == (1806.0, 3606.0)
    assert sch.makespan_s == 3606 and sch.walking_mm == {"technician-1": 6000.0}
    assert sch.sequences["technician-1"] == [(0, 3000.0), (1, 3000.0)]


def test_two_technicians_share_independent_work_and_respect_dependencies():
    steps = [
        step("rack:A", rack="A"),
        step("rack:B", rack="B"),
        step("after", deps=("rack:A", "rack:B"), rack="A"),
    ]
    sch = schedule_steps(steps, [tech(2)], DIST, [A, B, A], [-1, -1, -1], S)
    by = {s.id: s for s in sch.steps}
    assert {by["rack:A"].assignee, by["rack:B"].assignee} == {"technician-1", "technician-2"}
    assert by["rack:A"].start_s == 3.0 and by["rack:B"].start_s == 6.0  # B is 6 m from the start
    assert by["after"].start_s >= max(by["rack:A"].end_s, by["rack:B"].end_s) == 1806.0
    assert by["after"].start_s == 1806.0  # whoever did A is already there


def test_steps_never_straddle_a_shift():
    steps = [step("one", rack="A"), step("two", rack="A")]
    sch = schedule_steps(steps, [tech()], DIST, [A, A], [-1, -1], S, shift_s=3000)
    one, two = sch.steps
    assert (one.start_s, one.end_s) == (3.0, 1803.0)
    assert (two.start_s, two.end_s) == (3000.0, 4800.0)  # 1803 + 1800 would cross 3000


def test_heavy_mount_goes_to_the_lift_within_payload_and_reach_and_is_confirmed_by_both():
    heavy = step("mount:gpu", "mount_device", rack="A", u=10, weight=75, confirm=CONFIRM_SCAN_ASSET)
    light = step("mount:srv", "mount_device", rack="A", u=20, weight=16)
    sch = schedule_steps([heavy, light], [tech(), LIFT], DIST, [A, A], [-1, -1], S)
    by = {s.id: s for s in sch.steps}
    assert (
        by["mount:gpu"].assignee == "lift-1" and by["mount:gpu"].confirm == CONFIRM_ROBOT_AND_TECH
    )
    assert by["mount:gpu"].duration_s == 420.0 and by["mount:gpu"].start_s == 6.0  # 3 m at 0.5 m/s
    assert can_do(LIFT, by["mount:srv"]) and can_do(tech(), by["mount:srv"])


def test_two_person_lift_books_two_technicians_for_the_same_interval():
    heavy = step("mount:gpu", "mount_device", rack="A", u=10, weight=40, crew=2)
    other = step("rack:B", rack="B")
    sch = schedule_steps([heavy, other], [tech(2)], DIST, [A, B], [-1, -1], S)
    g = sch.steps[0]
    assert (
        g.crew_size == 2
        and len(g.helpers) == 1
        and {g.assignee, *g.helpers} == {"technician-1", "technician-2"}
    )
    assert (g.start_s, g.end_s) == (3.0, 603.0)
    assert sch.steps[1].start_s == 606.0  # nobody was free for rack:B until the lift was done
    wos = cut_workorders(sch.steps, sch.sequences, sch.members, {"A": "A", "B": "B"})
    holders = sorted(w.assignee for w in wos if "mount:gpu" in w.steps)
    assert holders == ["technician-1", "technician-2"]


def test_capability_reasons():
    lift = LIFT
    assert "does not declare run_cable" in why_not(lift, step("c", "run_cable"))
    assert "75 kg is over lift's payload" not in why_not(
        lift, step("m", "mount_device", u=1, weight=75)
    )
    assert "130 kg is over lift's payload (120 kg)" in why_not(
        lift, step("m", "mount_device", u=1, weight=130)
    )
    assert "U45-U45 is outside lift's reach (U1-U44)" in why_not(
        lift, step("m", "mount_device", u=45)
    )
    cabler = RobotProfile("cabler", "robot", actions=("run_cable",), u_max=42)
    high = step("c", "run_cable", action={"a": {"u": 3}, "b": {"u": 30}, "max_elevation_mm": 2600})
    assert "tray at 2600 mm" in why_not(cabler, high)
    assert not can_do(cabler, high) and can_do(tech(), high)
    low = step("c", "run_cable", action={"a": {"u": 3}, "b": {"u": 43}, "max_elevation_mm": 0})
    assert "U3-U43 is outside cabler's reach" in why_not(cabler, low)
    assert "needs 2 technicians together; the team has 1" in why_not(
        tech(1), step("m", "mount_device", u=1, weight=40, crew=2), 2
    )


def test_a_crew_of_zero_is_an_error():
    with pytest.raises(DesignError, match="crew of zero"):
        build_team([tech(0)])


def test_a_step_nobody_can_do_names_the_step_and_why():
    cabler = RobotProfile("cabler", "robot", actions=("run_cable",))
    with pytest.raises(DesignError) as err:
        schedule_steps([step("rack:A")], [cabler], DIST, [A], [-1], S)
    assert "rack:A" in str(err.value) and "nobody in the team can do this step" in str(err.value)
    assert "cabler does not declare place_rack" in str(err.value)


def test_a_device_no_lift_can_carry():
    huge = step("mount:ups", "mount_device", u=1, weight=300)
    with pytest.raises(DesignError) as err:
        schedule_steps([huge], [tech(), LIFT], DIST, [A], [-1], S)
    msg = str(err.value)
    assert (
        "mount:ups" in msg
        and "no lift in the team can carry 300 kg" in msg
        and "lift's payload (120 kg)" in msg
    )


def test_a_two_person_lift_with_one_technician():
    with pytest.raises(DesignError, match="two-person step"):
        schedule_steps(
            [step("m", "mount_device", u=1, weight=40, crew=2)], [tech(1)], DIST, [A], [-1], S
        )


def test_dependency_cycle_names_the_cycle():
    steps = [step("a", deps=("c",)), step("b", deps=("a",)), step("c", deps=("b",)), step("d")]
    with pytest.raises(DesignError) as err:
        check_graph(steps)
    assert "dependency cycle: a -> b -> c -> a" in str(err.value)
    with pytest.raises(DesignError, match="unknown step 'zz'"):
        check_graph([step("a", deps=("zz",))])
    with pytest.raises(DesignError, match="duplicate step ID"):
        check_graph([step("a"), step("a")])


def test_topological_order_follows_the_key_among_ready_steps():
    preds = [[], [0], [], [2]]
    assert topological_order(preds) == [0, 1, 2, 3]
    assert topological_order(preds, key=lambda i: -i) == [2, 3, 0, 1]


def test_critical_path_is_the_longest_dependency_chain():
    steps = [
        step("a", duration=10),
        step("b", deps=("a",), duration=50),
        step("c", deps=("a",), duration=5),
        step("d", deps=("b", "c"), duration=1),
    ]
    chain, length = critical_path(steps)
    assert chain == ["a", "b", "d"] and length == 61.0


def test_workorders_are_cut_per_shift_and_area():
    steps = [step("rack:A", rack="A"), step("rack:B", rack="B"), step("x", rack="A")]
    sch = schedule_steps(steps, [tech()], DIST, [A, B, A], [-1, -1, -1], S, shift_s=4000)
    wos = cut_workorders(sch.steps, sch.sequences, sch.members, {"A": "ROW1", "B": "ROW2"}, 4000)
    # at A after rack:A (1803 s), x is 0 m away and rack:B 3 m: x first (1803-3603); rack:B
    # (3606 + 1800) would cross the 4000 s shift end, so it starts shift 2
    assert [(w.id, w.steps, w.walking_m) for w in wos] == [
        ("WO-S01-technician-1-ROW1", ("rack:A", "x"), 3.0),
        ("WO-S02-technician-1-ROW2", ("rack:B",), 3.0),
    ]
    assert sch.steps[1].start_s == 4000.0


# ---------------------------------------------------------------- tours


def line(xs):
    x = np.asarray(xs, dtype=float)
    return np.abs(x[:, None] - x[None, :])


def test_tour_on_a_line_is_walked_end_to_end():
    d = line([0, 5, 1, 4, 2, 3])  # node 0 is the start
    assert best_path(d, [1, 2, 3, 4, 5], start=0) == [2, 4, 5, 3, 1]  # x = 1, 2, 3, 4, 5
    assert path_length(d, [0, 2, 4, 5, 3, 1]) == 5.0
    assert nearest_neighbour(d, [1, 2, 3, 4, 5], 0) == [2, 4, 5, 3, 1]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 50_000), st.integers(0, 50_000)),
        min_size=2,
        max_size=25,
        unique=True,
    )
)
def test_optimised_paths_are_never_longer_than_the_given_order(points):
    p = np.array(points, dtype=float)
    d = np.hypot(p[:, None, 0] - p[None, :, 0], p[:, None, 1] - p[None, :, 1])
    nodes = list(range(1, len(points)))
    given_len = path_length(d, [0, *nodes])
    for path in (improve(d, nodes, 0), best_path(d, nodes, 0)):
        assert sorted(path) == nodes
        assert path_length(d, [0, *path]) <= given_len + 1e-6


# ---------------------------------------------------------------- robot+technician confirmations

CABLER = RobotProfile(
    "cabler",
    "robot",
    actions=("run_cable",),
    payload_kg=10,
    u_min=1,
    u_max=42,
    speed_m_s=1.0,
    action_time_s=frozen_map({"run_cable": 180}),
)


def test_a_robot_step_a_technician_must_scan_books_the_technician_before_successors():
    heavy = step("mount:gpu", "mount_device", rack="A", u=10, weight=75, confirm=CONFIRM_SCAN_ASSET)
    after = step("rack:next", deps=("mount:gpu",), rack="A")
    sch = schedule_steps([heavy, after], [tech(), LIFT], DIST, [A, A], [-1, -1], S)
    gpu, nxt = sch.steps
    # the lift walks 3 m at 0.5 m/s and mounts 6-426 s; the technician, idle until then,
    # walks to A (3 s) and scans the asset tag 426-456 s (CONFIRM_S); only then may the
    # next step start (without the booking it started at 426)
    assert (gpu.assignee, gpu.start_s, gpu.end_s) == ("lift-1", 6.0, 426.0)
    assert gpu.confirm == CONFIRM_ROBOT_AND_TECH
    assert sch.confirmations == [(0, "technician-1", 426, 456)]
    assert (nxt.assignee, nxt.start_s, nxt.end_s) == ("technician-1", 456.0, 2256.0)
    # the walk to the confirmation is counted, and carried to the technician's next step
    assert sch.walking_mm["technician-1"] == 3000.0
    assert sch.sequences["technician-1"] == [(1, 3000.0)]
    assert sch.sequences["lift-1"] == [(0, 3000.0)]
    assert sch.makespan_s == 2256


def test_the_technician_profile_sets_the_confirmation_time():
    heavy = step("mount:gpu", "mount_device", rack="A", u=10, weight=75, confirm=CONFIRM_SCAN_ASSET)
    after = step("rack:next", deps=("mount:gpu",), rack="A")
    times = frozen_map({"place_rack": 1800, "mount_device": 600, "confirm": 45})
    sch = schedule_steps(
        [heavy, after], [tech(action_time_s=times), LIFT], DIST, [A, A], [-1, -1], S
    )
    assert sch.confirmations == [(0, "technician-1", 426, 471)]
    assert sch.steps[1].start_s == 471.0


def test_a_robot_step_with_a_manual_rule_needs_no_technician():
    heavy = step("mount:gpu", "mount_device", rack="A", u=10, weight=75, confirm="manual")
    after = step("rack:next", deps=("mount:gpu",), rack="A")
    sch = schedule_steps([heavy, after], [tech(), LIFT], DIST, [A, A], [-1, -1], S)
    assert sch.steps[0].confirm == "robot" and sch.confirmations == []
    assert sch.steps[1].start_s == 426.0  # straight after the robot (3 s walk long done)


def test_a_robot_cable_is_confirmed_at_both_ends_and_the_last_confirmation_ends_the_job():
    cable = step(
        "cable:C1",
        "run_cable",
        rack="A",
        action={"a": {"u": 5}, "b": {"u": 7}, "max_elevation_mm": 0},
        confirm="scan_label",
    )
    only_tech = tech(actions=("place_rack", "mount_device"))  # cannot run cables itself
    sch = schedule_steps([cable], [only_tech, CABLER], DIST, [A], [B], S)
    c = sch.steps[0]
    # the robot: 3 m to A (3 s), 180 s, on to B; the technician scans at A 183-213 s and
    # walks on to B (3 s): the job ends at 216 s, after the robot's own end (183 s)
    assert (c.assignee, c.start_s, c.end_s, c.confirm) == (
        "cabler-1",
        3.0,
        183.0,
        CONFIRM_ROBOT_AND_TECH,
    )
    assert sch.confirmations == [(0, "technician-1", 183, 213)]
    assert sch.walking_mm == {"technician-1": 6000.0, "cabler-1": 6000.0}
    assert sch.makespan_s == 216
