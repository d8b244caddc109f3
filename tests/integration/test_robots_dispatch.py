"""A sample hall dispatched to two simulated robots over a real broker: every robot step done.

Runs against a real Mosquitto with the generated auth + ACL config and against the embedded
broker. The order on the wire is asserted byte for byte (topic, QoS, retain flag, payload).
"""

from __future__ import annotations

import json

import pytest

from fieldops.adapters.mqtt.bridge import (
    MemoryStepSink,
    RobotAssignment,
    RobotBridge,
    assignments_from_plan,
    assumed_done,
)
from fieldops.adapters.mqtt.simulator import SimulatedRobot
from fieldops.core import vda5050 as v
from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH, Assignee
from tests.fixtures_mqtt import Sniffer, hand_robot_steps, planner_available, sample_profiles

EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: a fixed clock makes the payload bytes known


def fleet_plan(tmp_path):
    """(assignments, map_id, assume_done): the real planned lab hall when the planner exists,
    else hand steps. No technician works in these tests: their steps, and the technician's
    part of robot+technician steps, are taken as done (what ``--assume-done technicians``
    does), so the robots can finish every robot step on their own."""
    profiles = sample_profiles()
    if planner_available():
        from fieldops import services
        from tests.samples import LAB_HALL

        result = services.plan_design(
            LAB_HALL, tmp_path / "plan", robots=["lift-robot", "cabling-robot"]
        )
        steps, team = result.work.steps, result.work.team
        map_id = result.loaded.design.floorplan.name
    else:
        hand = hand_robot_steps()
        steps = hand["lift-robot"] + hand["cabling-robot"]
        team = [
            Assignee("lift-robot-1", "lift-robot", "robot"),
            Assignee("cabling-robot-1", "cabling-robot", "robot"),
        ]
        map_id = "LAB"
    assignments, _warn = assignments_from_plan(steps, team, profiles)
    assignments = [a for a in assignments if a.steps]
    return assignments, map_id, assumed_done(steps, team, assignments, "technicians")


def released_at_start(a, route, assume, dispatched) -> int:
    """The base end of a robot's first order, by the precedence rule: stop k (up to the
    window of 2) is released when each dependency of its steps is another assignee's step
    taken as done, or an earlier robot-only step of the same robot. (Steps of the other
    robot are not done yet when the first order goes out.)"""
    index = {s.id: i for i, s in enumerate(a.steps)}
    mine = {s.id: s for s in a.steps}
    end = 0
    for k in range(1, min(2, len(route.stops) - 1) + 1):
        for sid in route.stops[k].step_ids:
            for d in mine[sid].depends_on:
                in_sequence = (
                    d in mine
                    and index[d] < index[sid]
                    and mine[d].confirm != CONFIRM_ROBOT_AND_TECH
                )
                if not in_sequence and (d in dispatched or d not in assume):
                    return end
        end = k
    return end


def waits_for_own_confirmation(a) -> set[str]:
    """Steps of a robot that depend on one of its own robot+technician steps: each starts a
    stop of its own, so the work before it can be released while it waits."""
    mine = {s.id: s for s in a.steps}
    return {
        s.id
        for s in a.steps
        if any(d in mine and mine[d].confirm == CONFIRM_ROBOT_AND_TECH for d in s.depends_on)
    }


def assert_precedence(history, steps_by_id):
    """No step starts (in progress) or finishes before every dependency is done or, for a
    robot+technician step of a robot, finished by the robot (its technician taken as done)."""
    met_at: dict[str, int] = {}
    for i, (sid, status) in enumerate(history):
        if status in ("done", "awaiting_confirmation"):
            met_at.setdefault(sid, i)
    for i, (sid, status) in enumerate(history):
        if status in ("in_progress", "done", "awaiting_confirmation") and sid in steps_by_id:
            for d in steps_by_id[sid].depends_on:
                if d in steps_by_id:
                    assert d in met_at and met_at[d] < i, f"{sid} {status} before {d}"


def broker_urls(request, kind):
    """(the bridge's URL, a watcher's URL, robot URLs by serial). On Mosquitto each is its
    own user: the broker binds client IDs to users, so two clients never share one."""
    if kind == "mosquitto":
        b = request.getfixturevalue("mosquitto_secure")
        return (
            b.url("fieldops"),
            b.url("fieldops-monitor"),
            {
                serial: b.url(serial)
                for serial in b.credentials
                if not serial.startswith("fieldops")
            },
        )
    b = request.getfixturevalue("embedded_broker")
    return b.url, b.url, None


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["mosquitto", "embedded"])
def test_two_robots_finish_every_robot_step(request, kind, tmp_path):
    fieldops_url, monitor_url, robot_urls = broker_urls(request, kind)
    assignments, map_id, assume = fleet_plan(tmp_path)
    assert len(assignments) == 2 and all(a.steps for a in assignments)
    sniffer = Sniffer(monitor_url, client_id="sniffer")
    sink = MemoryStepSink()
    bridge = RobotBridge(
        fieldops_url,
        assignments,
        sink,
        map_id=map_id,
        clock=lambda: EPOCH,
        client_id="fieldops-bridge",
        assume_done=assume,
    )
    robots = []
    try:
        bridge.start()
        for a in assignments:
            url = robot_urls[a.serial] if robot_urls else fieldops_url
            robots.append(
                SimulatedRobot(
                    a.profile, url, serial_number=a.serial, time_scale=1500, state_interval_s=0.3
                ).start()
            )
        assert bridge.wait(90), f"not every step finished: {bridge.counts()}"
    finally:
        for r in robots:
            r.stop()
        bridge.stop()
    # robot-only steps are done; robot+technician steps wait for the technician's confirmation
    expected = {
        s.id: "awaiting_confirmation" if s.confirm == CONFIRM_ROBOT_AND_TECH else "done"
        for a in assignments
        for s in a.steps
    }
    assert {sid: sink.status.get(sid) for sid in expected} == expected
    for sid in expected:  # never blocked on the way
        assert "blocked" not in [st for s, st in sink.history if s == sid]
    assert sum(st == "in_progress" for _s, st in sink.history) >= len(expected) // 2
    assert bridge.dropped == 0
    # robot steps that depend on the other robot's work waited for it
    assert_precedence(sink.history, {s.id: s for a in assignments for s in a.steps})

    # the first order of each robot, byte for byte
    dispatched = {s.id for a in assignments for s in a.steps}
    for a in assignments:
        orders = sniffer.on(v.topic(a.profile.manufacturer, a.serial, "order"))
        assert orders, f"no order seen for {a.serial}"
        topic, qos, retain, payload = orders[0]
        assert retain is False
        if kind == "mosquitto":  # amqtt delivers at the subscription's QoS instead (docs/robots.md)
            assert qos == 0
        route = v.build_route(
            a.steps,
            start=v.Pose(f"{a.serial}-start", 0, 0, 0.0),
            declared=v.declared_action_types(a.profile.actions),
            split_before=waits_for_own_confirmation(a),
        )
        header = v.Header(0, "2026-01-01T00:00:00.000Z", a.profile.manufacturer, a.serial, "2.1.0")
        expected = v.build_order(
            route,
            header,
            order_id=f"{map_id}-{a.serial}-1",
            map_id=map_id,
            base_end=released_at_start(a, route, assume, dispatched),
        )
        assert payload == v.encode(expected)
        # later messages are order updates of the same order, stitched at the old base end
        updates = [json.loads(p) for _t, _q, _r, p in orders[1:]]
        if len(route.stops) > 3:
            assert updates, f"{a.serial}: the horizon was never released"
        for n, upd in enumerate(updates, start=1):
            assert (upd["orderId"], upd["orderUpdateId"], upd["headerId"]) == (
                expected["orderId"],
                n,
                n,
            )
            assert upd["nodes"][0]["released"] and upd["nodes"][0]["sequenceId"] % 2 == 0

    # connection: QoS 1, retained (a late subscriber gets it with the retain flag)
    late = Sniffer(monitor_url, topic_filter="uagv/v2/+/+/connection", client_id="late")
    try:
        assert late.wait_for(lambda s: len(s.messages) >= 2, 10)
        for _topic, qos, retain, payload in late.messages:
            assert (qos, retain) == (1, True)
            assert json.loads(payload)["connectionState"] == "OFFLINE"
    finally:
        late.close()
        sniffer.close()


@pytest.mark.slow
def test_failed_actions_block_their_steps_with_the_robots_error(embedded_broker):
    profiles = sample_profiles()
    steps = hand_robot_steps()["lift-robot"][:2]
    sink = MemoryStepSink()
    bridge = RobotBridge(
        embedded_broker.url, [RobotAssignment(profiles["lift-robot"], steps)], sink, map_id="LAB"
    ).start()
    robot = SimulatedRobot(
        profiles["lift-robot"],
        embedded_broker.url,
        time_scale=1000,
        fail_rate=1.0,
        state_interval_s=0.2,
    ).start()
    try:
        assert bridge.wait(30), bridge.counts()
    finally:
        robot.stop()
        bridge.stop()
    # both mounts are at R01: the first step holds the stop's finePositioning, which fails first
    assert [sink.status[s.id] for s in steps] == ["blocked", "blocked"]
    assert [sink.detail[s.id]["error"] for s in steps] == [
        "finePositioning failed (simulated)",
        "installDevice failed (simulated)",
    ]
    assert {sink.detail[s.id]["robot"] for s in steps} == {"LIFT-001"}


@pytest.mark.slow
def test_steps_a_robot_does_not_declare_are_never_sent(embedded_broker):
    profiles = sample_profiles()
    steps = hand_robot_steps()
    mixed = steps["lift-robot"][:1] + steps["cabling-robot"][:1]  # cable work for the lift robot
    sink = MemoryStepSink()
    sniffer = Sniffer(embedded_broker.url)
    bridge = RobotBridge(
        embedded_broker.url, [RobotAssignment(profiles["lift-robot"], mixed)], sink, map_id="LAB"
    ).start()
    robot = SimulatedRobot(
        profiles["lift-robot"], embedded_broker.url, time_scale=1000, state_interval_s=0.2
    ).start()
    try:
        assert bridge.wait(30), bridge.counts()
    finally:
        robot.stop()
        bridge.stop()
        sniffer.close()
    cable_id = mixed[1].id
    assert sink.status == {mixed[0].id: "done", cable_id: "blocked"}
    assert (
        "does not declare action type(s) connectCableEnd, verifyLabel"
        in sink.detail[cable_id]["error"]
    )
    sent = [json.loads(p) for _t, _q, _r, p in sniffer.on("uagv/v2/FieldBotics/LIFT-001/order")]
    assert sent and all(
        a["actionType"] in ("finePositioning", "installDevice")
        for o in sent
        for n in o["nodes"]
        for a in n["actions"]
    )


@pytest.mark.slow
def test_the_simulator_rejects_a_whole_order_with_an_undeclared_action(embedded_broker):
    profiles = sample_profiles()
    robot = SimulatedRobot(
        profiles["lift-robot"], embedded_broker.url, time_scale=1000, state_interval_s=0.2
    ).start()
    sniffer = Sniffer(embedded_broker.url, topic_filter="uagv/v2/FieldBotics/LIFT-001/state")
    try:
        assert robot.connected.wait(10)
        steps = hand_robot_steps()
        route = v.build_route(
            [steps["lift-robot"][0], steps["cabling-robot"][0]], start=v.Pose("here", 0, 0)
        )
        order = v.build_order(
            route,
            v.Header(0, "2026-01-01T00:00:00.000Z", "FieldBotics", "LIFT-001"),
            order_id="bad-1",
            map_id="LAB",
        )
        sniffer.client.publish("uagv/v2/FieldBotics/LIFT-001/order", v.encode(order), qos=0)

        def rejected(s):
            states = [json.loads(p) for *_x, p in s.messages]
            return any(e["errorType"] == "orderActionError" for st in states for e in st["errors"])

        assert sniffer.wait_for(rejected, 10)
        last = json.loads(sniffer.messages[-1][3])
        assert last["orderId"] == "" and last["actionStates"] == []
        err = next(e for e in last["errors"] if e["errorType"] == "orderActionError")
        assert "connectCableEnd, verifyLabel" in err["errorDescription"]
        # the order and its update are named, so a master knows exactly what was refused
        assert err["errorReferences"] == [
            {"referenceKey": "orderId", "referenceValue": "bad-1"},
            {"referenceKey": "orderUpdateId", "referenceValue": "0"},
        ]
    finally:
        sniffer.close()
        robot.stop()
