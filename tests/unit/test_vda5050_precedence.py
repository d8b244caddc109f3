"""Precedence in robot orders, without a broker: the bridge is fed robot states through
``handle()`` and its orders are read from what it tried to publish.

Steps (lift robot, lab-hall frame, all at the front face)::

    R01: M0 (needs rack:R01, a technician's)   M1 (after M0, robot-only: in sequence)
    R02: M2 (needs rails:M2, a technician's)   M3 (after M2 confirmed: robot+technician)
    R03: M4 (after M3)
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fieldops.adapters.mqtt.bridge import (
    JsonFileStepSink,
    MemoryStepSink,
    RobotAssignment,
    RobotBridge,
    assumed_done,
    never_released,
)
from fieldops.core import vda5050 as v
from fieldops.core.workorder import CONFIRM_ROBOT, CONFIRM_ROBOT_AND_TECH, Assignee, Location, Step
from tests.fixtures_mqtt import sample_profiles

LIFT = ("FieldBotics", "LIFT-001")
STATE = "uagv/v2/FieldBotics/LIFT-001/state"


def mount(n: int, rack: str, x_mm: int, deps=(), confirm=CONFIRM_ROBOT) -> Step:
    return Step(
        f"M{n}",
        "stack",
        "mount_device",
        f"Mount M{n}",
        "Mount",
        Location(rack=rack, face="front", u=10 + n, x_mm=x_mm, y_mm=1500, theta_deg=90.0),
        confirm=confirm,
        depends_on=tuple(deps),
        assignee="lift-robot-1",
    )


def lift_steps() -> tuple[Step, ...]:
    return (
        mount(0, "R01", 1800, ["rack:R01"]),
        mount(1, "R01", 1800, ["M0"]),
        mount(2, "R02", 2400, ["rails:M2", "M1"], confirm=CONFIRM_ROBOT_AND_TECH),
        mount(3, "R02", 2400, ["M2"]),
        mount(4, "R03", 3000, ["M3"]),
    )


def offline_bridge(steps, sink, **kw) -> RobotBridge:
    """A bridge that is never connected: publishes fail quietly, ``last_message`` keeps the
    order it built."""
    profile = sample_profiles()["lift-robot"]
    return RobotBridge(
        "mqtt://127.0.0.1:1", [RobotAssignment(profile, tuple(steps))], sink, map_id="LAB", **kw
    )


def state(order_id="", update=0, node_seq=0, *, actions=(), position=(0.0, 0.0, 0.0)) -> bytes:
    header = v.Header(0, "2026-01-01T00:00:00.000Z", *LIFT)
    return v.encode(
        v.build_state(
            header,
            order_id=order_id,
            order_update_id=update,
            last_node_id="",
            last_node_sequence_id=node_seq,
            driving=False,
            position=(*position, "LAB"),
            action_states=[(a, "", st, "") for a, st in actions],
        )
    )


def released(order: dict) -> list[tuple[str, int]]:
    return [(n["nodeId"], n["sequenceId"]) for n in order["nodes"] if n["released"]]


def horizon(order: dict) -> list[str]:
    return [n["nodeId"] for n in order["nodes"] if not n["released"]]


def step_ids(order: dict) -> set[str]:
    return {
        p["value"]
        for n in order["nodes"]
        if n["released"]
        for a in n["actions"]
        for p in a["actionParameters"]
        if p["key"] == "stepId"
    }


def test_a_step_waiting_for_a_technician_stays_in_the_horizon_until_the_sink_says_done():
    sink = MemoryStepSink()
    bridge = offline_bridge(lift_steps(), sink)
    r = bridge.robots[LIFT]
    bridge.handle(STATE, state())  # the robot reports in, no order: it gets order 1
    first = r.last_message
    assert first["orderId"] == "LAB-LIFT-001-1"
    # rack:R01 is not done: only the node where the robot stands is released
    assert released(first) == [("LIFT-001-start", 0)]
    # M3 waits for M2's technician: it has a stop of its own at the same pose (R02.front)
    assert horizon(first) == ["R01.front", "R02.front", "R02.front", "R03.front"]
    assert bridge.waiting_for() == ["rack:R01"]
    bridge.handle(STATE, state(first["orderId"]))  # it holds the order, stands at node 0

    bridge.recheck()  # nothing changed: nothing released
    assert r.last_message is first
    sink.set_status("rack:R01", "done", {"by": "technician-1"})
    bridge.recheck()
    upd = r.last_message
    assert upd["orderUpdateId"] == 1
    # R01 released (M0, then M1 in sequence); R02 waits for rails:M2
    assert released(upd) == [("LIFT-001-start", 0), ("R01.front", 2)]
    assert step_ids(upd) == {"M0", "M1"}
    assert bridge.waiting_for() == ["rails:M2"]

    # the robot finishes R01; rails:M2 done: R02's first stop (M2) is released, M3 is not
    done_r01 = [(a, "FINISHED") for s in ("M0", "M1") for a in r.route.step_actions[s]]
    bridge.handle(STATE, state(first["orderId"], 1, 2, actions=done_r01))
    assert (sink.status["M0"], sink.status["M1"]) == ("done", "done")
    sink.set_status("rails:M2", "done", {"by": "technician-1"})
    bridge.notify_step_changed("rails:M2")  # the bridge's thread is not running here
    bridge.recheck()
    upd = r.last_message
    assert upd["orderUpdateId"] == 2
    assert released(upd) == [("R01.front", 2), ("R02.front", 4)]
    assert step_ids(upd) == {"M2"}

    # M2 finished by the robot: awaiting its technician, so M3 is still held
    m2 = [(a, "FINISHED") for a in r.route.step_actions["M2"]]
    bridge.handle(STATE, state(first["orderId"], 2, 4, actions=done_r01 + m2))
    assert sink.status["M2"] == "awaiting_confirmation"
    assert r.last_message is upd
    assert bridge.waiting_for() == ["M2"]
    sink.set_status("M2", "done", {"by": "technician-2", "how": "scan"})  # the store would
    bridge.recheck()
    upd = r.last_message
    assert upd["orderUpdateId"] == 3
    # M3's stop and M4's (M3 is robot-only: M4 follows it in sequence)
    assert released(upd) == [("R02.front", 4), ("R02.front", 6), ("R03.front", 8)]
    assert step_ids(upd) == {"M3", "M4"}


def test_a_failed_step_holds_its_dependents_and_the_bridge_says_it_stalled():
    steps = (mount(0, "R01", 1800), mount(1, "R02", 2400, ["M0"]), mount(2, "R03", 3000, ["M1"]))
    sink = MemoryStepSink()
    bridge = offline_bridge(steps, sink, window=1)
    r = bridge.robots[LIFT]
    bridge.handle(STATE, state())
    oid = r.last_message["orderId"]
    assert released(r.last_message) == [("LIFT-001-start", 0), ("R01.front", 2)]
    bridge.handle(STATE, state(oid, 0, 0))
    assert not bridge.stalled()
    failed = [(a, "FAILED") for a in r.route.step_actions["M0"]]
    bridge.handle(STATE, state(oid, 0, 2, actions=failed))
    assert sink.status == {"M0": "blocked"}
    # M1 depends on the blocked M0 (in sequence): never released, nor M2 after it
    assert r.last_message["orderUpdateId"] == 0
    assert bridge.stalled() and not bridge.all_final()


def test_assumed_done_steps_release_without_the_sink():
    sink = MemoryStepSink()
    bridge = offline_bridge(lift_steps(), sink, assume_done={"rack:R01", "rails:M2", "M2"})
    r = bridge.robots[LIFT]
    bridge.handle(STATE, state())
    assert released(r.last_message) == [
        ("LIFT-001-start", 0),
        ("R01.front", 2),
        ("R02.front", 4),
    ]
    oid = r.last_message["orderId"]
    every = [(a, "FINISHED") for s in ("M0", "M1", "M2") for a in r.route.step_actions[s]]
    bridge.handle(STATE, state(oid, 0, 4, actions=every))
    # M2's technician is assumed: awaiting_confirmation is enough for M3
    assert sink.status["M2"] == "awaiting_confirmation"
    assert released(r.last_message) == [("R02.front", 4), ("R02.front", 6), ("R03.front", 8)]


def test_a_sink_that_cannot_report_status_holds_the_robot(caplog):
    class WriteOnly:
        def set_status(self, step_id, status, detail):
            pass

    bridge = offline_bridge(lift_steps(), WriteOnly())
    r = bridge.robots[LIFT]
    bridge.handle(STATE, state())
    bridge.handle(STATE, state(r.last_message["orderId"]))
    bridge.recheck()
    bridge.recheck()
    assert released(r.last_message) == [("LIFT-001-start", 0)]
    assert sum("cannot report step status" in m for m in caplog.messages) == 1


def test_a_store_like_sink_without_statuses_is_read_step_by_step():
    class Store:
        def __init__(self):
            self.rows = {"rack:R01": "done"}

        def set_status(self, step_id, status, detail):
            self.rows[step_id] = status

        def step(self, step_id):
            if step_id not in self.rows:
                raise LookupError(step_id)
            return {"id": step_id, "status": self.rows[step_id]}

    bridge = offline_bridge(lift_steps(), Store())
    r = bridge.robots[LIFT]
    bridge.handle(STATE, state())
    bridge.handle(STATE, state(r.last_message["orderId"]))
    bridge.recheck()
    assert released(r.last_message)[-1] == ("R01.front", 2)


def test_a_failing_sink_read_is_logged_and_retried(caplog):
    class Flaky(MemoryStepSink):
        calls = 0

        def statuses(self, step_ids):
            self.calls += 1
            if self.calls == 1:
                raise OSError("database is locked")
            return super().statuses(step_ids)

    sink = Flaky()
    sink.set_status("rack:R01", "done", {})
    bridge = offline_bridge(lift_steps(), sink)
    r = bridge.robots[LIFT]
    bridge.handle(STATE, state())
    bridge.handle(STATE, state(r.last_message["orderId"]))
    bridge.recheck()
    assert r.last_message["orderUpdateId"] == 0
    assert any("reading step status from the sink failed" in m for m in caplog.messages)
    bridge.recheck()
    assert r.last_message["orderUpdateId"] == 1


def test_without_a_stand_still_node_a_waiting_first_stop_is_not_sent():
    sink = MemoryStepSink()
    bridge = offline_bridge(lift_steps(), sink)
    r = bridge.robots[LIFT]
    no_position = v.build_state(
        v.Header(0, "2026-01-01T00:00:00.000Z", *LIFT),
        order_id="",
        order_update_id=0,
        last_node_id="",
        last_node_sequence_id=0,
        driving=False,
        position=None,
    )
    bridge.handle(STATE, v.encode(no_position))
    assert r.last_message is None and r.order_id is None
    sink.set_status("rack:R01", "done", {})
    bridge.recheck()
    bridge.handle(STATE, v.encode(no_position))
    assert released(r.last_message) == [("R01.front", 0)]


def test_sinks_report_the_statuses_they_know(tmp_path):
    mem = MemoryStepSink()
    mem.set_status("a", "done", {})
    mem.set_status("b", "in_progress", {})
    assert mem.statuses(["a", "b", "zzz"]) == {"a": "done", "b": "in_progress"}
    js = JsonFileStepSink(tmp_path / "s.json")
    js.set_status("a", "blocked", {"error": "x"})
    assert js.statuses(["a", "b"]) == {"a": "blocked"}


# ---------------------------------------------------------------- pure helpers


def test_never_released_names_the_step_each_robot_step_ultimately_waits_for():
    lift = sample_profiles()["lift-robot"]
    steps = lift_steps()
    a = [RobotAssignment(lift, steps)]
    # nothing assumed: M0 and M1 (through M0) wait for rack:R01; M2 names its first missing
    # dependency (rails:M2, before M1 in its depends_on), M3 and M4 inherit it
    assert never_released(a) == {
        "M0": "rack:R01",
        "M1": "rack:R01",
        "M2": "rails:M2",
        "M3": "rails:M2",
        "M4": "rails:M2",
    }
    assert never_released(a, {"rack:R01"}) == {
        "M2": "rails:M2",
        "M3": "rails:M2",
        "M4": "rails:M2",
    }
    assert never_released(a, {"rack:R01", "rails:M2"}) == {"M3": "M2", "M4": "M2"}
    assert never_released(a, {"rack:R01", "rails:M2", "M2"}) == {}
    # the robot waits for the technician itself (waitForTrigger): M2 ends done
    assert never_released(a, {"rack:R01", "rails:M2"}, hold_for_technician=True) == {}


def test_never_released_survives_cycles_and_long_chains():
    lift = sample_profiles()["lift-robot"]
    cyc = (mount(0, "R01", 1800, ["M1"]), mount(1, "R01", 1800, ["M0"]))
    assert set(never_released([RobotAssignment(lift, cyc)])) == {"M0", "M1"}
    chain = [mount(0, "R01", 1800, ["rack:R01"])]
    chain += [mount(i, "R01", 1800, [f"M{i - 1}"]) for i in range(1, 5000)]
    blocked = never_released([RobotAssignment(lift, tuple(chain))])
    assert len(blocked) == 5000 and set(blocked.values()) == {"rack:R01"}
    assert never_released([RobotAssignment(lift, tuple(chain))], {"rack:R01"}) == {}


def test_assumed_done_by_role():
    steps = list(lift_steps()) + [
        replace(mount(9, "R01", 1800), id="rack:R01", kind="place_rack", assignee="technician-1"),
        replace(mount(9, "R02", 2400), id="rails:M2", kind="install_rails", assignee="someone"),
    ]
    team = [
        Assignee("technician-1", "technician", "technician"),
        Assignee("lift-robot-1", "lift-robot", "robot"),
    ]
    a = [RobotAssignment(sample_profiles()["lift-robot"], lift_steps())]
    assert assumed_done(steps, team, a, "none") == frozenset()
    # the technician's step, and the technician's part of the robot+technician M2
    assert assumed_done(steps, team, a, "technicians") == {"rack:R01", "M2"}
    assert assumed_done(steps, team, a, "all") == {"rack:R01", "rails:M2", "M2"}
    with pytest.raises(ValueError, match="none, technicians, all"):
        assumed_done(steps, team, a, "robots")


def test_split_before_starts_a_stop_at_the_same_pose():
    steps = lift_steps()
    plain = v.build_route(steps)
    split = v.build_route(steps, split_before={"M3"})
    assert [s.step_ids for s in plain.stops] == [("M0", "M1"), ("M2", "M3"), ("M4",)]
    assert [s.step_ids for s in split.stops] == [("M0", "M1"), ("M2",), ("M3",), ("M4",)]
    # M3 fine-positions again at its own node: 1 + 1 actions
    assert split.step_actions["M3"] == ("M3:0", "M3:1")
    order = v.build_order(
        split, v.Header(0, "2026-01-01T00:00:00.000Z", *LIFT), order_id="o", map_id="LAB"
    )
    assert [(n["nodeId"], n["sequenceId"]) for n in order["nodes"]][1:3] == [
        ("R02.front", 2),
        ("R02.front", 4),
    ]
    edge = order["edges"][1]
    assert (edge["edgeId"], edge["length"]) == ("R02.front>R02.front", 0.0)
    v.parse_order(v.encode(order))  # still a valid order
