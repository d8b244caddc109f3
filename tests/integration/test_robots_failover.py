"""Robots and brokers going away: last will, broker restart, hostile messages."""

from __future__ import annotations

import json
import logging
import time

import pytest

from fieldops.adapters.mqtt.bridge import MemoryStepSink, RobotAssignment, RobotBridge
from fieldops.adapters.mqtt.simulator import SimulatedRobot
from fieldops.core import vda5050 as v
from tests.fixtures_mqtt import Sniffer, hand_robot_steps, sample_profiles, simulate_process

LIFT = "uagv/v2/FieldBotics/LIFT-001"


def poll(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.slow
@pytest.mark.mosquitto
def test_killed_robot_sends_its_last_will_and_its_steps_go_back_to_ready(mosquitto_secure):
    b = mosquitto_secure
    profiles = sample_profiles()
    steps = hand_robot_steps()["lift-robot"]
    sink = MemoryStepSink()
    bridge = RobotBridge(
        b.url("fieldops"), [RobotAssignment(profiles["lift-robot"], steps)], sink, map_id="LAB"
    ).start()
    proc = simulate_process(b.url("LIFT-001"), "lift-robot", 100)  # a 420 s mount takes 4.2 s
    second = None
    try:
        assert sink.wait_for(lambda s: "in_progress" in s.status.values(), 30), (
            proc.stderr.read1().decode() if proc.poll() is not None else "no progress"
        )
        busy = [sid for sid, st in sink.status.items() if st == "in_progress"]
        proc.kill()
        proc.wait(10)
        assert sink.wait_for(lambda s: all(s.status[sid] == "ready" for sid in busy), 15), (
            sink.status
        )
        # the reason is kept in the step's detail, and the lead gets one problem naming the
        # steps the robot had in hand; the dashboard shows the robot offline
        assert sink.detail[busy[0]]["reason"] == "robot LIFT-001: connection broken (last will)"
        lost = [p for p in sink.problems if not p["block"]]
        assert len(lost) == 1 and set(busy) <= set(lost[0]["steps"])
        assert "LIFT-001: connection broken" in lost[0]["reason"]
        assert sink.connections["lift-robot-1"][0] == "offline"
        # the will is retained: a newcomer learns the robot is gone
        late = Sniffer(
            b.url("fieldops-monitor"), topic_filter=f"{LIFT}/connection", client_id="late"
        )
        assert late.wait_for(lambda s: s.messages, 5)
        topic, qos, retain, payload = late.messages[0]
        assert (topic, qos, retain) == (f"{LIFT}/connection", 1, True)
        assert json.loads(payload)["connectionState"] == "CONNECTIONBROKEN"
        late.close()
        # the robot comes back: a fresh order for what is left, and everything gets done
        second = simulate_process(b.url("LIFT-001"), "lift-robot", 1000)
        assert bridge.wait(60), bridge.counts()
        assert {s.id: sink.status[s.id] for s in steps} == {s.id: "done" for s in steps}
        for sid in busy:
            hist = [st for s, st in sink.history if s == sid]
            assert hist[-3:] == ["ready", "in_progress", "done"] or hist[-2:] == ["ready", "done"]
    finally:
        for p in (proc, second):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(10)
        bridge.stop()


@pytest.mark.slow
@pytest.mark.mosquitto
def test_broker_restart_mid_run_loses_no_step(mosquitto):
    profiles = sample_profiles()
    steps = hand_robot_steps()
    assignments = [
        RobotAssignment(profiles["lift-robot"], steps["lift-robot"]),
        RobotAssignment(profiles["cabling-robot"], steps["cabling-robot"]),
    ]
    sink = MemoryStepSink()
    bridge = RobotBridge(
        mosquitto.url(), assignments, sink, map_id="LAB", resend_after_s=1.0
    ).start()
    robots = [
        SimulatedRobot(a.profile, mosquitto.url(), time_scale=150, state_interval_s=0.2).start()
        for a in assignments
    ]
    try:
        assert sink.wait_for(lambda s: sum(st == "done" for st in s.status.values()) >= 2, 30)
        done_before = sum(st == "done" for st in sink.status.values())
        mosquitto.restart(down_s=1.0)
        assert bridge.wait(60), bridge.counts()
    finally:
        for r in robots:
            r.stop()
        bridge.stop()
    every = [s.id for a in assignments for s in a.steps]
    assert done_before < len(every), "the run ended before the restart: slow the robots down"
    assert {sid: sink.status[sid] for sid in every} == dict.fromkeys(every, "done"), sink.detail
    # the robots carried on with the orders they held: nothing was run twice
    for r in robots:
        assert max(r.executed.values()) == 1, r.executed


HELD = ("waitForTrigger", "RUNNING")

HOSTILE = [
    (f"{LIFT}/state", b"\xff\xfe\x00garbage"),
    (f"{LIFT}/state", b"{" * 50_000),
    (f"{LIFT}/state", b'{"headerId": 1}'),
    (f"{LIFT}/state", b"[" * 200_000 + b"]" * 200_000),
    (
        f"{LIFT}/state",
        json.dumps(
            {
                "headerId": 0,
                "timestamp": "t",
                "version": "2.1.0",
                "manufacturer": "Evil",
                "serialNumber": "LIFT-001",
                "orderId": "",
                "orderUpdateId": 0,
                "lastNodeId": "",
                "lastNodeSequenceId": 0,
                "driving": False,
                "actionStates": [],
                "errors": [],
                "nodeStates": [],
                "edgeStates": [],
            }
        ).encode(),
    ),
    (f"{LIFT}/connection", b'{"connectionState": "MAYBE"}'),
    (f"{LIFT}/factsheet", b"null"),
    (f"{LIFT}/state", b" " * (5 * 1024 * 1024)),
]


@pytest.mark.slow
@pytest.mark.mosquitto
def test_hostile_messages_are_dropped_with_a_log_line_and_work_goes_on(mosquitto, caplog):
    caplog.set_level(logging.WARNING, logger="fieldops.adapters.mqtt.bridge")
    profiles = sample_profiles()
    steps = hand_robot_steps()["lift-robot"][:3]
    sink = MemoryStepSink()
    bridge = RobotBridge(
        mosquitto.url(), [RobotAssignment(profiles["lift-robot"], steps)], sink, map_id="LAB"
    ).start()
    attacker = Sniffer(mosquitto.url(), topic_filter="nothing/here", client_id="attacker")
    assert bridge.connected.wait(10)
    time.sleep(0.3)  # let the bridge's subscription settle
    for topic, payload in HOSTILE:
        attacker.client.publish(topic, payload, qos=1).wait_for_publish(10)
    robot = SimulatedRobot(
        profiles["lift-robot"], mosquitto.url(), time_scale=1000, state_interval_s=0.2
    ).start()
    try:
        assert bridge.wait(30), bridge.counts()
    finally:
        robot.stop()
        bridge.stop()
        attacker.close()
    assert {s.id: sink.status[s.id] for s in steps} == {s.id: "done" for s in steps}
    drops = [r.getMessage() for r in caplog.records if "dropped message" in r.getMessage()]
    assert len(drops) == len(HOSTILE) == bridge.dropped, drops
    assert any("not UTF-8" in d for d in drops), drops
    assert any("not the topic's FieldBotics/LIFT-001" in d for d in drops)
    assert any("over the" in d for d in drops)
    assert any("state.version: missing" in d for d in drops)
    assert all(len(d) < 700 for d in drops)


@pytest.mark.slow
def test_a_technician_confirmation_releases_a_robot_waiting_for_it(embedded_broker):
    from dataclasses import replace

    from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH

    profiles = sample_profiles()
    lift = replace(profiles["lift-robot"], actions=("mount_device", "waitForTrigger"))
    steps = tuple(
        replace(s, confirm=CONFIRM_ROBOT_AND_TECH) for s in hand_robot_steps()["lift-robot"][:2]
    )
    sink = MemoryStepSink()
    bridge = RobotBridge(
        embedded_broker.url,
        [RobotAssignment(lift, steps)],
        sink,
        map_id="LAB",
        hold_for_technician=True,
    ).start()
    robot = SimulatedRobot(lift, embedded_broker.url, time_scale=1000, state_interval_s=0.2).start()
    try:
        for s in steps:
            # the robot holds in waitForTrigger: the step stays in progress until confirmed
            wait_id = f"{s.id}:2"  # installDevice is :1 (the stop's finePositioning :0)
            assert poll(
                lambda aid=wait_id: robot.snapshot()["actions"].get(aid, ("",) * 3)[:2] == HELD,
                20,
            )
            assert sink.status[s.id] == "in_progress"
            assert bridge.confirm(s.id, "technician-1")
            assert sink.wait_for(lambda k, sid=s.id: k.status.get(sid) == "done", 20)
    finally:
        robot.stop()
        bridge.stop()
    assert [
        a
        for a, st in robot.snapshot()["actions"].items()
        if st[0] == "confirmTrigger" and st[1] == "FINISHED"
    ]
    assert v.step_status(["FINISHED"] * 3) == "done"
