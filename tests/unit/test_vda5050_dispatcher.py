"""The robot dispatcher, sans-io: fed states as bytes and the time, its effects read back.

The lift robot's hand-made steps (tests/fixtures_mqtt.hand_robot_steps): six mounts at three
racks, two per rack face::

    start --> R01.front [gpu-00, gpu-01] --> R02.front [gpu-02, gpu-03] --> R03.front [gpu-04, gpu-05]

Action IDs: ``stack/gpu-00:0`` finePositioning at R01, ``stack/gpu-00:1`` its installDevice,
``stack/gpu-01:1`` the next mount at the same stop.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace

from fieldops.core import vda5050 as v
from fieldops.core.dispatcher import (
    Dispatcher,
    Log,
    Publish,
    RobotConnection,
    RobotProblem,
    StepStatus,
    Unblock,
)
from fieldops.core.robot_work import RobotAssignment
from fieldops.core.workorder import CONFIRM_ROBOT, Location, Part, Step
from tests.fixtures_mqtt import hand_robot_steps, sample_profiles

LIFT = ("FieldBotics", "LIFT-001")
STATE = "uagv/v2/FieldBotics/LIFT-001/state"
T0 = 1_800_000_000.0


def lift(**kw) -> Dispatcher:
    steps = kw.pop("steps", hand_robot_steps()["lift-robot"])
    profile = kw.pop("profile", sample_profiles()["lift-robot"])
    return Dispatcher([RobotAssignment(profile, tuple(steps))], map_id="LAB", **kw)


def state(
    order_id="",
    update=0,
    node_seq=0,
    *,
    actions=(),
    nodes=(),
    errors=(),
    driving=False,
    position=(0.0, 0.0, 0.0),
    version="2.1.0",
) -> bytes:
    return v.encode(
        v.build_state(
            v.Header(0, "2026-01-01T00:00:00.000Z", *LIFT, version),
            order_id=order_id,
            order_update_id=update,
            last_node_id="",
            last_node_sequence_id=node_seq,
            driving=driving,
            position=(*position, "LAB"),
            node_states=nodes,
            action_states=[(a, "", st, "") for a, st in actions],
            errors=errors,
        )
    )


def published(effects, name="order") -> list[dict]:
    return [json.loads(e.payload) for e in effects if isinstance(e, Publish) and e.name == name]


def action_ids(order: dict) -> list[str]:
    """The actions an order gives the robot to do: those of its released nodes (a horizon's
    are a preview, released by a later update)."""
    return [a["actionId"] for n in order["nodes"] if n["released"] for a in n["actions"]]


def finished(*step_ids: str, arrival=True) -> list[tuple[str, str]]:
    """Every action of these steps FINISHED (the first at a stop also its finePositioning)."""
    out = []
    for i, sid in enumerate(step_ids):
        if arrival and i % 2 == 0:
            out.append((f"{sid}:0", "FINISHED"))
        out.append((f"{sid}:1", "FINISHED"))
    return out


def feed(d: Dispatcher, payload: bytes, now: float):
    d.receive(STATE, payload, now)
    return d.take()


def running(d: Dispatcher, now: float) -> tuple[str, list]:
    """The robot reports in, takes order 1 and finishes R01: (orderId, effects so far)."""
    first = published(feed(d, state(), now))
    oid = first[0]["orderId"]
    out = feed(d, state(oid, 0, 0, nodes=[("R01.front", 2, True)]), now + 0.1)
    out += feed(d, state(oid, 0, 2, actions=finished("stack/gpu-00", "stack/gpu-01")), now + 0.2)
    return oid, first + published(out)


# ---------------------------------------------------------------- the robot's word is the truth


def test_a_stale_state_with_an_unknown_order_only_makes_fieldops_ask():
    d = lift(window=1)
    oid, orders = running(d, T0)
    assert oid == "LAB-LIFT-001-1" and [o["orderUpdateId"] for o in orders] == [0, 1]
    # a stale message (another orderId, the robot busy with it): nothing is sent but a
    # stateRequest, no step changes, one warning
    out = feed(
        d,
        state("LAB-LIFT-001-0", 0, 0, nodes=[("R01.front", 2, True)], actions=[("x:1", "WAITING")]),
        T0 + 1,
    )
    assert published(out) == []
    requests = published(out, "instantActions")
    assert [a["actionType"] for r in requests for a in r["actions"]] == ["stateRequest"]
    assert not [e for e in out if isinstance(e, StepStatus | RobotProblem)]
    assert sum(isinstance(e, Log) and e.level == "warning" for e in out) == 1
    # the robot's real answer: still order 1 at R01, done there -> carries on, nothing resent
    out = feed(d, state(oid, 1, 2, actions=finished("stack/gpu-00", "stack/gpu-01")), T0 + 2)
    assert published(out) == []
    assert d.robot("LIFT-001").order_id == oid


def test_twenty_stale_or_duplicate_states_never_resend_finished_work():
    """Stale, unknown and duplicate states injected at random points of a whole run: every
    action goes out in one message only (the same order or update sent again after a lost
    one is the same message: a robot ignores an orderUpdateId it has), one orderId is used."""
    for seed in range(20):
        rng = random.Random(seed)
        d = lift(window=1)
        messages: dict[tuple[str, int], list[str]] = {}

        def note(effects, messages=messages):
            for o in published(effects):
                messages.setdefault((o["orderId"], o["orderUpdateId"]), action_ids(o))

        first = feed(d, state(), T0)
        note(first)
        oid = published(first)[0]["orderId"]
        done: list[tuple[str, str]] = []
        now = T0
        stops = [("stack/gpu-00", "stack/gpu-01"), ("stack/gpu-02", "stack/gpu-03")]
        stops.append(("stack/gpu-04", "stack/gpu-05"))
        for i, stop in enumerate(stops, start=1):
            now += 3
            update = max(u for _o, u in messages)
            junk = rng.choice(
                [
                    state("OLD-7", 3, 4, nodes=[("X", 6, True)], actions=[("x:1", "RUNNING")]),
                    state("", 0, 0),
                    state(oid, max(0, update - 1), 2 * i - 2, actions=done[:-2]),
                    state(f"LAB-LIFT-001-{rng.randint(2, 9)}", 0, 0),
                ]
            )
            note(feed(d, junk, now))
            done += finished(*stop)
            note(feed(d, state(oid, update, 2 * i, actions=done), now + 0.5))
        assert d.all_final(), (seed, d.counts())
        assert {o for o, _u in messages} == {oid}, (seed, messages)
        sent = [a for ids in messages.values() for a in ids]
        assert len(sent) == len(set(sent)) == 9, (seed, messages)


def test_a_rebooted_robot_gets_only_the_work_it_has_not_reported_finished():
    """run_cable = plug end A (:1), plug end B (:2), verify the label (:3). The robot reports
    end A FINISHED, then comes back with no order (twice: the second confirms the first):
    the new order carries end B and the label check only."""
    cable = hand_robot_steps()["cabling-robot"][:1]
    d = Dispatcher(
        [RobotAssignment(sample_profiles()["cabling-robot"], cable)], map_id="LAB", window=1
    )
    topic = "uagv/v2/FieldBotics/CABLE-001/state"

    def cstate(*a, **kw):
        return state(*a, **kw).replace(b"LIFT-001", b"CABLE-001")

    d.receive(topic, cstate(), T0)
    oid = published(d.take())[0]["orderId"]
    sid = cable[0].id
    d.receive(
        topic,
        cstate(oid, 0, 2, actions=[(f"{sid}:0", "FINISHED"), (f"{sid}:1", "FINISHED")]),
        T0 + 1,
    )
    assert [(e.step_id, e.status) for e in d.take() if isinstance(e, StepStatus)] == [
        (sid, "in_progress")
    ]
    d.receive(topic, cstate("", 0, 0), T0 + 2)  # rebooted? ask first
    assert published(d.take()) == []
    d.receive(topic, cstate("", 0, 0), T0 + 3)  # yes
    (again,) = published(d.take())
    assert again["orderId"] == "LAB-CABLE-001-2"
    assert action_ids(again) == [f"{sid}:2", f"{sid}:3"]


def test_an_order_fieldops_did_not_send_is_one_problem_and_cancelled():
    d = lift()
    busy = state("MES-42", 0, 0, nodes=[("A", 2, True)], actions=[("mes:1", "RUNNING")])
    out = feed(d, busy, T0)
    assert published(out) == [] and [
        a["actionType"] for r in published(out, "instantActions") for a in r["actions"]
    ] == ["stateRequest"]
    out = feed(d, busy, T0 + 1)  # confirmed: one problem, and cancelOrder
    problems = [e for e in out if isinstance(e, RobotProblem)]
    assert len(problems) == 1 and not problems[0].block
    assert "runs order 'MES-42', which fieldops did not send" in problems[0].reason
    assert [a["actionType"] for r in published(out, "instantActions") for a in r["actions"]] == [
        "cancelOrder"
    ]
    assert feed(d, busy, T0 + 2) == []  # cancelling: nothing more
    out = feed(d, state("MES-42", 0, 0, actions=[("mes:1", "FAILED")]), T0 + 3)  # cancelled
    (order,) = published(out)
    assert order["orderId"] == "LAB-LIFT-001-1"


def test_an_earlier_order_of_fieldops_is_left_to_finish_before_a_new_one():
    """After a fieldops restart the robot still runs order 4 of the run before: its actions
    count (stable IDs), nothing new is sent until it stands still, numbering goes on at 5."""
    d = lift()
    old = state(
        "LAB-LIFT-001-4",
        0,
        2,
        nodes=[("R02.front", 4, True)],
        actions=[*finished("stack/gpu-00", "stack/gpu-01"), ("stack/gpu-02:0", "RUNNING")],
    )
    out = feed(d, old, T0)
    assert published(out) == []
    assert {e.step_id: e.status for e in out if isinstance(e, StepStatus)} == {
        "stack/gpu-00": "done",
        "stack/gpu-01": "done",
        "stack/gpu-02": "in_progress",
    }
    ended = state("LAB-LIFT-001-4", 0, 4, actions=finished(*(f"stack/gpu-0{i}" for i in range(4))))
    (order,) = published(feed(d, ended, T0 + 1))
    assert order["orderId"] == "LAB-LIFT-001-5"
    assert not [a for a in action_ids(order) if a.startswith(("stack/gpu-00", "stack/gpu-03"))]


# ---------------------------------------------------------------- rejected orders


def test_a_rejected_order_is_one_problem_blocking_its_steps_until_the_lead_resolves_it():
    d = lift()
    (order,) = published(feed(d, state(), T0))
    refusal = {
        "errorType": "validationError",
        "errorLevel": "WARNING",
        "errorDescription": "actionParameters[3].value must be string",
        "errorReferences": [
            {"referenceKey": "orderId", "referenceValue": order["orderId"]},
            {"referenceKey": "orderUpdateId", "referenceValue": "0"},
        ],
    }
    out = feed(d, state(errors=[refusal]), T0 + 0.5)  # the robot's next state
    (problem,) = [e for e in out if isinstance(e, RobotProblem)]
    assert problem.block and problem.robot == "lift-robot-1"
    assert len(problem.step_ids) == 6
    assert problem.reason == (
        "robot LIFT-001 rejected order LAB-LIFT-001-1: validationError: "
        "actionParameters[3].value must be string"
    )
    assert published(out) == [] and d.all_final() and d.counts() == {"blocked": 6}
    # the error stays in the robot's states: no second problem, nothing resent
    for k in range(5):
        assert feed(d, state(errors=[refusal]), T0 + 1 + k) == []
    # the lead resolves the problem: the steps are released and a new order goes out
    d.problem_resolved(problem.step_ids[0], T0 + 10)
    out = d.take()
    assert [e for e in out if isinstance(e, Unblock)] == [Unblock(problem.step_ids)]
    (order2,) = published(feed(d, state(), T0 + 11))
    assert order2["orderId"] == "LAB-LIFT-001-2"


# ---------------------------------------------------------------- VDA 5050 2.0 and 2.1


def cable_step_with_objects() -> Step:
    return Step(
        "cable/C-1",
        "cable",
        "run_cable",
        "Run C-1",
        "Plug both ends",
        Location(rack="R01", face="front", u=40, x_mm=1800, y_mm=1500),
        confirm=CONFIRM_ROBOT,
        parts=(Part("cable", "C-1"),),
        action={"a": {"device": "gpu-01", "port": "p0"}, "tray_path": ["T1", "T2"]},
        assignee="cabling-robot-1",
    )


def test_a_2_0_robot_gets_2_0_orders_with_flattened_parameters():
    profile = replace(sample_profiles()["cabling-robot"], vda_version="2.0.0")
    d = Dispatcher([RobotAssignment(profile, (cable_step_with_objects(),))], map_id="LAB")
    d.receive(
        "uagv/v2/FieldBotics/CABLE-001/state",
        state(version="2.0.0").replace(b"LIFT-001", b"CABLE-001"),
        T0,
    )
    (order,) = published(d.take())
    assert order["version"] == "2.0.0"
    params = {p["key"]: p["value"] for p in order["nodes"][1]["actions"][1]["actionParameters"]}
    assert params["a.device"] == "gpu-01" and params["a.port"] == "p0" and "a" not in params
    assert params["tray_path"] == ["T1", "T2"]
    values = [
        p["value"] for n in order["nodes"] for a in n["actions"] for p in a["actionParameters"]
    ]
    assert not [x for x in values if isinstance(x, dict)]  # 2.0: no object values anywhere
    d.instant("CABLE-001", [v.state_request("s")], T0)
    (ia,) = published(d.take(), "instantActions")
    assert ia["version"] == "2.0.0" and "instantActions" in ia


def test_the_factsheet_decides_the_version_of_a_robot_whose_profile_does_not_say():
    d = Dispatcher(
        [RobotAssignment(sample_profiles()["cabling-robot"], (cable_step_with_objects(),))],
        map_id="LAB",
    )
    fs = v.build_factsheet(
        v.Header(0, "2026-01-01T00:00:00.000Z", "FieldBotics", "CABLE-001", "2.0.0"),
        action_types=v.declared_action_types(["run_cable"]),
        series="cabling-robot",
        speed_max_m_s=0.6,
        payload_kg=10,
        width_mm=700,
    )
    d.receive("uagv/v2/FieldBotics/CABLE-001/factsheet", v.encode(fs), T0)
    d.receive(
        "uagv/v2/FieldBotics/CABLE-001/state",
        state(version="2.0.0").replace(b"LIFT-001", b"CABLE-001"),
        T0,
    )
    (order,) = published(d.take())
    assert order["version"] == "2.0.0"
    assert any(p["key"] == "a.device" for p in order["nodes"][1]["actions"][1]["actionParameters"])


# ---------------------------------------------------------------- lost robots


def test_a_silent_robot_is_lost_its_steps_ready_again_with_the_reason_and_one_problem():
    d = lift(state_timeout_s=8)
    out = feed(d, state(), T0)
    oid = published(out)[0]["orderId"]
    assert [e for e in out if isinstance(e, RobotConnection)] == [
        RobotConnection("LIFT-001", "lift-robot-1", "online", "")
    ]
    out = feed(
        d,
        state(oid, 0, 0, nodes=[("R01.front", 2, True)], actions=[("stack/gpu-00:0", "RUNNING")]),
        T0 + 1,
    )
    assert [e for e in out if isinstance(e, StepStatus)] != []
    d.tick(T0 + 8.5)
    assert d.take() == []  # 7.5 s without a state: not yet
    d.tick(T0 + 9.5)
    out = d.take()
    text = "robot LIFT-001: no state for 8 s"
    assert [
        (e.step_id, e.status, e.detail["reason"]) for e in out if isinstance(e, StepStatus)
    ] == [("stack/gpu-00", "ready", text)]
    assert [e for e in out if isinstance(e, RobotConnection)] == [
        RobotConnection("LIFT-001", "lift-robot-1", "offline", text)
    ]
    (problem,) = [e for e in out if isinstance(e, RobotProblem)]
    # in hand: the steps of the two stops released to it (window 2)
    assert not problem.block
    assert problem.step_ids == tuple(f"stack/gpu-0{i}" for i in range(4))
    d.tick(T0 + 20)
    assert d.take() == []  # lost once, told once
    out = feed(d, state(oid, 0, 0, nodes=[("R01.front", 2, True)]), T0 + 21)
    assert RobotConnection("LIFT-001", "lift-robot-1", "online", "") in out


def test_the_last_will_is_a_lost_robot_and_a_retained_repeat_is_not_a_second_problem():
    d = lift()
    oid = published(feed(d, state(), T0))[0]["orderId"]
    feed(d, state(oid, 0, 0, nodes=[("R01.front", 2, True)]), T0 + 1)
    will = v.encode(
        v.build_connection(v.Header(7, "2026-01-01T00:00:00.000Z", *LIFT), "CONNECTIONBROKEN")
    )
    d.receive("uagv/v2/FieldBotics/LIFT-001/connection", will, T0 + 2)
    out = d.take()
    assert len([e for e in out if isinstance(e, RobotProblem)]) == 1
    d.receive("uagv/v2/FieldBotics/LIFT-001/connection", will, T0 + 3)
    assert d.take() == []


# ---------------------------------------------------------------- what is never sent


def test_steps_the_store_has_done_are_never_sent_again():
    steps = hand_robot_steps()["lift-robot"]
    steps = tuple(replace(s, status="done") if i < 2 else s for i, s in enumerate(steps))
    d = lift(steps=steps)
    (order,) = published(feed(d, state(), T0))
    assert [n["nodeId"] for n in order["nodes"]] == ["LIFT-001-start", "R02.front", "R03.front"]
    assert not [a for a in action_ids(order) if a.startswith(("stack/gpu-00", "stack/gpu-01"))]


def test_a_stop_the_robot_cannot_reach_blocks_its_steps_with_the_reason_never_a_straight_line():
    def walk(a, b):  # R02 (x 2400) stands where this robot does not fit
        return None if b[0] == 2400 else [a, (a[0], 900), (b[0], 900), b]

    d = lift(walk=walk)
    out = feed(d, state(), T0)
    (order,) = published(out)
    assert [n["nodeId"] for n in order["nodes"]][:3] == ["LIFT-001-start", "R01.front", "R03.front"]
    blocked = {e.step_id: e.detail["error"] for e in out if isinstance(e, StepStatus)}
    assert set(blocked) == {"stack/gpu-02", "stack/gpu-03"}
    assert blocked["stack/gpu-02"].startswith(
        "step stack/gpu-02: no path wide enough for the robot from R01.front (1800, 1500) to R02.front (2400, 1500)"
    )
    r03 = order["edges"][1]
    assert r03["edgeId"] == "R01.front>R03.front" and "trajectory" in r03


def test_an_order_prepared_ahead_is_the_same_bytes_as_one_built_when_the_robot_reports_in():
    def walk(a, b):
        return [a, (a[0], 900), (b[0], 900), b]

    payloads = []
    for prepare in (False, True):
        d = lift(walk=walk)
        if prepare:
            d.prepare()
            assert d.robot("LIFT-001").prepared_order is not None
        out = feed(d, state(position=(0.3, 0.2, 0.0)), T0)
        payloads.append([e.payload for e in out if isinstance(e, Publish) and e.name == "order"])
        assert d.robot("LIFT-001").prepared_order is None  # used once
    assert payloads[0] == payloads[1] and len(payloads[0]) == 1
