"""The work plan's precedence over real brokers with simulated robots: a robot step that
depends on a technician's step is not executed until the technician's step is done in the
sink; the lab hall, with technicians doing their steps as they become possible, finishes
with no step before any of its dependencies."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

from fieldops.adapters.mqtt.bridge import (
    MemoryStepSink,
    RobotAssignment,
    RobotBridge,
    assignments_from_plan,
)
from fieldops.adapters.mqtt.simulator import SimulatedRobot
from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH
from tests.fixtures_mqtt import Sniffer, hand_robot_steps, planner_available, sample_profiles

LIFT = "uagv/v2/FieldBotics/LIFT-001"


def started_actions(robot: SimulatedRobot, step_id: str) -> list[str]:
    """The robot's actions of a step that left WAITING."""
    return [
        aid
        for aid, (_type, status, _res) in robot.snapshot()["actions"].items()
        if aid.startswith(f"{step_id}:") and status != "WAITING"
    ]


def idle_states(sniffer: Sniffer, order_id: str, n: int, after: int = 0):
    """A predicate: at least ``n`` states of ``order_id`` after message ``after``, standing."""

    def check(s: Sniffer) -> bool:
        seen = 0
        for topic, _q, _r, payload in s.messages[after:]:
            if topic == f"{LIFT}/state":
                st = json.loads(payload)
                if st["orderId"] == order_id and not st["driving"]:
                    seen += 1
        return seen >= n

    return check


def lift_bridge(url: str, steps, sink, **kw) -> RobotBridge:
    """A started bridge for the sample lift robot alone, on map LAB."""
    lift = sample_profiles()["lift-robot"]
    return RobotBridge(url, [RobotAssignment(lift, tuple(steps))], sink, map_id="LAB", **kw).start()


def lift_robot(url: str) -> SimulatedRobot:
    """The sample lift robot, simulated fast (states every 0.1 s)."""
    lift = sample_profiles()["lift-robot"]
    return SimulatedRobot(lift, url, time_scale=1000, state_interval_s=0.1).start()


@pytest.mark.slow
def test_a_robot_step_waits_for_its_technician_step_until_it_is_done(embedded_broker):
    """[rack:R01 technician] -> M gpu-00, gpu-01 at R01 (lift robot)
    [rails:gpu-02 technician] -> M gpu-02 at R02, gpu-03 after it (in sequence)."""
    hand = hand_robot_steps()["lift-robot"][:4]
    steps = (
        replace(hand[0], depends_on=("rack:R01",)),
        replace(hand[1], depends_on=(hand[0].id,)),
        replace(hand[2], depends_on=("rails:gpu-02", hand[1].id)),
        replace(hand[3], depends_on=(hand[2].id,)),
    )
    sink = MemoryStepSink()
    sniffer = Sniffer(embedded_broker.url, topic_filter=f"{LIFT}/#")
    # no periodic re-check in this test's time: only notify_step_changed() can release
    bridge = lift_bridge(embedded_broker.url, steps, sink, recheck_s=3600)
    robot = lift_robot(embedded_broker.url)
    try:
        # the robot holds order 1 and stands still, state after state: nothing runs
        assert sniffer.wait_for(idle_states(sniffer, "LAB-LIFT-001-1", 5), 20)
        assert sink.status == {}
        assert robot.snapshot()["order_id"] == "LAB-LIFT-001-1"
        assert started_actions(robot, hand[0].id) == []
        assert bridge.waiting_for() == ["rack:R01"]
        first = json.loads(sniffer.on(f"{LIFT}/order")[0][3])
        assert [n["released"] for n in first["nodes"]] == [True, False, False]

        # the technician places the rack: R01's two mounts run, R02's wait for the rails
        sink.set_status("rack:R01", "done", {"by": "technician-1"})
        bridge.notify_step_changed("rack:R01")
        assert sink.wait_for(
            lambda s: s.status.get(hand[0].id) == s.status.get(hand[1].id) == "done", 20
        ), sink.status
        mark = len(sniffer.messages)
        assert sniffer.wait_for(idle_states(sniffer, "LAB-LIFT-001-1", 5, after=mark), 20)
        assert hand[2].id not in sink.status and hand[3].id not in sink.status
        assert started_actions(robot, hand[2].id) == []

        sink.set_status("rails:gpu-02", "done", {"by": "technician-1"})
        bridge.notify_step_changed("rails:gpu-02")
        assert bridge.wait(20), bridge.counts()
    finally:
        robot.stop()
        bridge.stop()
        sniffer.close()
    assert {s.id: sink.status[s.id] for s in steps} == dict.fromkeys([s.id for s in steps], "done")
    order = [sid for sid, st in sink.history]
    assert order.index("rack:R01") < order.index(hand[0].id)
    assert order.index("rails:gpu-02") < order.index(hand[2].id)


@pytest.mark.slow
@pytest.mark.mosquitto
def test_the_periodic_recheck_releases_work_confirmed_elsewhere(mosquitto):
    """A confirmation in another process (a web worker) reaches the bridge only through the
    sink: the periodic re-check picks it up without notify_step_changed()."""
    step = replace(hand_robot_steps()["lift-robot"][0], depends_on=("rack:R01",))
    sink = MemoryStepSink()
    bridge = lift_bridge(mosquitto.url(), (step,), sink, recheck_s=0.2)
    robot = lift_robot(mosquitto.url())
    try:
        assert robot.connected.wait(10)
        assert sink.wait_for(lambda s: False, 1.0) is False  # a second of states and re-checks
        assert step.id not in sink.status and started_actions(robot, step.id) == []
        sink.set_status("rack:R01", "done", {"by": "technician-1"})
        assert bridge.wait(20), bridge.counts()
    finally:
        robot.stop()
        bridge.stop()
    assert sink.status[step.id] == "done"
    assert sink.history.index(("rack:R01", "done")) < sink.history.index((step.id, "in_progress"))


class Crew:
    """The technicians, as they would work: a technician step is done once every step it
    depends on is done; a robot+technician step a robot finished is confirmed (done). Each
    change goes to the sink and then to the bridge (notify_step_changed), as the web app does."""

    def __init__(self, steps, robot_ids: set[str], sink: MemoryStepSink, bridge: RobotBridge):
        self.steps = [s for s in steps if s.id not in robot_ids]
        self.robot_steps = [
            s for s in steps if s.id in robot_ids and s.confirm == CONFIRM_ROBOT_AND_TECH
        ]
        self.sink, self.bridge = sink, bridge
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        sink = self.sink
        while not self.stop.is_set():
            changed = []
            with sink._cond:  # noqa: SLF001 - one consistent view of the sink
                done = {sid for sid, st in sink.status.items() if st == "done"}
                for s in self.steps:
                    if s.id not in done and all(d in done for d in s.depends_on):
                        changed.append(s.id)
                for s in self.robot_steps:
                    if sink.status.get(s.id) == "awaiting_confirmation":
                        changed.append(s.id)
            for sid in changed:  # one at a time, each then told to the bridge
                sink.set_status(sid, "done", {"by": "crew"})
                self.bridge.notify_step_changed(sid)
            if not changed:
                n = len(sink.history)
                sink.wait_for(lambda s, n=n: len(s.history) > n, 0.5)


@pytest.mark.slow
@pytest.mark.mosquitto
@pytest.mark.skipif(not planner_available(), reason="needs the work planner")
def test_the_lab_hall_with_technicians_keeps_every_dependency(mosquitto_secure, tmp_path):
    from fieldops import services
    from tests.samples import LAB_HALL

    b = mosquitto_secure
    result = services.plan_design(
        LAB_HALL, tmp_path / "plan", robots=["lift-robot", "cabling-robot"]
    )
    steps = result.work.steps
    assignments, _w = assignments_from_plan(steps, result.work.team, sample_profiles())
    assignments = [a for a in assignments if a.steps]
    robot_ids = {s.id for a in assignments for s in a.steps}
    # the bug this guards against: mounts in a rack (B03 in the report) before the rack was
    # placed. Which mounts go to the lift robot follows the schedule (B03's went to a
    # technician once switch ports moved to their own front), so every robot mount is checked
    every_step = {s.id: s for s in steps}

    def needs(sid: str) -> set[str]:  # everything a step waits for, directly or not
        out, todo = set(), [sid]
        while todo:
            for d in every_step[todo.pop()].depends_on:
                if d not in out:
                    out.add(d)
                    todo.append(d)
        return out

    robot_mounts = [s for a in assignments for s in a.steps if s.kind == "mount_device"]
    assert robot_mounts and all(f"rack:{s.location.rack}" in needs(s.id) for s in robot_mounts)
    sink = MemoryStepSink()
    bridge = RobotBridge(
        b.url("fieldops"),
        assignments,
        sink,
        map_id=result.loaded.design.floorplan.name,
        recheck_s=5.0,  # notify_step_changed() does the work; this is the safety net
    )
    crew = Crew(steps, robot_ids, sink, bridge)
    robots = []
    try:
        bridge.start()
        for a in assignments:
            robots.append(
                SimulatedRobot(
                    a.profile,
                    b.url(a.serial),
                    serial_number=a.serial,
                    time_scale=1500,
                    state_interval_s=0.3,
                ).start()
            )
        crew.thread.start()
        every = [s.id for s in steps]
        assert sink.wait_for(lambda s: all(s.status.get(x) == "done" for x in every), 120), (
            f"not all done: {bridge.counts()}, robots wait for {bridge.waiting_for()}"
        )
    finally:
        crew.stop.set()
        for r in robots:
            r.stop()
        bridge.stop()
    assert bridge.dropped == 0
    # no step starts or finishes before every step it depends on is done
    done_at: dict[str, int] = {}
    for i, (sid, st) in enumerate(sink.history):
        if st == "done":
            done_at.setdefault(sid, i)
    by_id = {s.id: s for s in steps}
    checked = 0
    for i, (sid, st) in enumerate(sink.history):
        if st in ("in_progress", "awaiting_confirmation", "done"):
            for d in by_id[sid].depends_on:
                assert done_at[d] < i, f"{sid} went {st} before {d} was done"
                checked += 1
    assert checked > 500
    # robot work started before some technician work: the robots did not simply wait for all
    first_robot = min(i for i, (sid, _st) in enumerate(sink.history) if sid in robot_ids)
    last_human = max(done_at[s.id] for s in steps if s.id not in robot_ids)
    assert first_robot < last_human


@pytest.mark.slow
def test_a_step_handed_to_a_technician_is_withdrawn_from_the_robots_orders(embedded_broker):
    """The lead hands gpu-02's mount (R02) to a technician before the lift robot got it: the
    robot's orders never carry its work, the robot's next mount (gpu-03, after it in sequence)
    waits until the technician's mount is done in the sink, then the robot finishes. A step
    the robot has already been sent stays with it."""
    hand = hand_robot_steps()["lift-robot"][:4]
    steps = (
        hand[0],
        replace(hand[1], depends_on=(hand[0].id,)),
        replace(hand[2], depends_on=(hand[1].id,)),
        replace(hand[3], depends_on=(hand[2].id,)),
    )
    sink = MemoryStepSink()
    sniffer = Sniffer(embedded_broker.url, topic_filter=f"{LIFT}/#")
    bridge = lift_bridge(embedded_broker.url, steps, sink, window=1, recheck_s=3600)
    assert bridge.reassigned(hand[2].id, "technician-1")  # nothing sent yet
    assert not bridge.reassigned(hand[3].id, steps[3].assignee)  # stays with its robot
    robot = lift_robot(embedded_broker.url)
    try:
        assert sink.wait_for(lambda s: s.status.get(hand[1].id) == "done", 20), sink.status
        assert not bridge.reassigned(hand[0].id, "technician-1")  # done: final
        mark = len(sniffer.messages)
        assert sniffer.wait_for(idle_states(sniffer, "LAB-LIFT-001-1", 5, after=mark), 20)
        assert hand[3].id not in sink.status and bridge.waiting_for() == [hand[2].id]
        sink.set_status(hand[2].id, "done", {"by": "technician-1"})
        bridge.notify_step_changed(hand[2].id)
        assert bridge.wait(20), bridge.counts()
    finally:
        robot.stop()
        bridge.stop()
        sniffer.close()
    assert bridge.counts() == {"done": 3, "withdrawn": 1}
    assert sink.status[hand[3].id] == "done"
    sent = [
        (a["actionId"], a["actionType"])
        for _t, _q, _r, payload in sniffer.on(f"{LIFT}/order")
        for n in json.loads(payload)["nodes"]
        for a in n["actions"]
    ]
    assert any(aid.startswith(f"{hand[3].id}:") for aid, _ in sent)
    # of the withdrawn step at most the arrival at R02 (gpu-03 is mounted there too)
    assert {t for aid, t in sent if aid.startswith(f"{hand[2].id}:")} <= {"finePositioning"}
    order = [sid for sid, _st in sink.history]
    assert order.index(hand[2].id) < order.index(hand[3].id)
    assert [st for sid, st in sink.history if sid == hand[2].id] == ["done"]  # only the person
