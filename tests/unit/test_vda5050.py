"""VDA 5050 payloads (pure): topics, headers, routes, orders and their updates, parsing.

Expected values are worked out by hand from the step poses (mm, degrees) -> metres, radians.
"""

from __future__ import annotations

import contextlib
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldops.core import vda5050 as v
from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH, Location, Part, Step

T0 = "2026-01-02T03:04:05.678Z"


def step(sid, kind="mount_device", rack="R01", face="front", x=1800, y=1500, theta=0.0, u=10, **kw):
    return Step(
        sid,
        "stack",
        kind,
        f"{kind} {sid}",
        "do it",
        Location(rack=rack, location_id="1A-C03", face=face, u=u, x_mm=x, y_mm=y, theta_deg=theta),
        **kw,
    )


def hdr(n=0, version="2.1.0"):
    return v.Header(n, T0, "FieldBotics", "LIFT-001", version)


def test_topics_follow_the_standard_layout():
    assert v.topic("FieldBotics", "LIFT-001", "order") == "uagv/v2/FieldBotics/LIFT-001/order"
    assert v.split_topic("uagv/v2/FieldBotics/LIFT-001/state") == (
        "FieldBotics",
        "LIFT-001",
        "state",
    )
    assert v.split_topic("uagv/v2/FieldBotics/LIFT-001/state/x") is None
    assert v.split_topic("uagv/v1/FieldBotics/LIFT-001/state") is None
    for bad in ("A/B", "A+", "#", ""):
        with pytest.raises(v.VdaError):
            v.topic(bad, "S", "order")
    with pytest.raises(v.VdaError):
        v.topic("M", "S", "orders")


def test_qos_and_retain_per_topic():
    assert v.TOPIC_QOS["connection"] == 1 and v.TOPIC_RETAIN["connection"] is True
    assert v.TOPIC_RETAIN["order"] is False and v.TOPIC_RETAIN["instantActions"] is False
    assert v.TOPIC_RETAIN["factsheet"] is True and v.TOPIC_RETAIN["state"] is False


def test_iso_timestamps_are_utc_with_milliseconds():
    assert v.iso_timestamp(0) == "1970-01-01T00:00:00.000Z"
    assert v.iso_timestamp(1_700_000_000.1234) == "2023-11-14T22:13:20.123Z"
    assert v.iso_timestamp(1_700_000_000.9996) == "2023-11-14T22:13:21.000Z"


def test_header_ids_count_per_topic():
    ids = v.HeaderIds()
    assert [ids.next("order"), ids.next("order"), ids.next("state"), ids.next("order")] == [
        0,
        1,
        0,
        2,
    ]


def test_header_refuses_versions_outside_2x():
    with pytest.raises(v.VdaError, match="1.1.0"):
        v.Header(0, T0, "M", "S", "1.1.0").fields()
    assert v.Header(0, T0, "M", "S", "2.0.0").fields()["version"] == "2.0.0"


def test_steps_at_one_pose_share_a_node_and_one_fine_positioning():
    s1 = step("S1", u=10, parts=(Part("device", "gpu-01"),))
    s2 = step("S2", u=20)
    s3 = step("S3", rack="R02", x=2400)
    route = v.build_route([s1, s2, s3], start=v.Pose("home", 0, 0))
    assert [s.pose.node_id for s in route.stops] == ["home", "R01.front", "R02.front"]
    assert [s.step_ids for s in route.stops] == [(), ("S1", "S2"), ("S3",)]
    # stable action IDs: {step}:0 is the stop's finePositioning, the step's own actions
    # count from 1 whether or not the step carries the arrival
    assert route.step_actions == {"S1": ("S1:0", "S1:1"), "S2": ("S2:1",), "S3": ("S3:0", "S3:1")}
    kinds = [a["actionType"] for a in route.stops[1].actions]
    assert kinds == ["finePositioning", "installDevice", "installDevice"]
    params = {p["key"]: p["value"] for p in route.stops[1].actions[1]["actionParameters"]}
    assert params == {
        "stepId": "S1",
        "stepKind": "mount_device",
        "rack": "R01",
        "face": "front",
        "u": 10,
        "locationId": "1A-C03",
        "device": "gpu-01",
    }
    # parameter lists are sorted by key (deterministic payloads)
    keys = [p["key"] for p in route.stops[1].actions[1]["actionParameters"]]
    assert keys == sorted(keys)


def test_an_order_leaves_out_the_work_of_skipped_steps():
    """S1 (handed to a technician) shares R01 with S2: its mount is left out, the arrival
    stays for S2; S3 skipped alone at R02: its stop is still driven to, with no action."""
    route = v.build_route(
        [step("S1", u=10), step("S2", u=20), step("S3", rack="R02", x=2400)],
        start=v.Pose("home", 0, 0),
    )
    o = v.build_order(route, hdr(), order_id="o1", map_id="LAB", skip_steps={"S1", "S3"})
    acts = [[(a["actionId"], a["actionType"]) for a in n["actions"]] for n in o["nodes"]]
    assert acts == [[], [("S1:0", "finePositioning"), ("S2:1", "installDevice")], []]
    full = v.build_order(route, hdr(), order_id="o1", map_id="LAB")
    assert [len(n["actions"]) for n in full["nodes"]] == [0, 3, 2]


def test_run_cable_plugs_both_ends_then_verifies_the_label():
    s = step(
        "C1",
        kind="run_cable",
        parts=(Part("cable", "C-ABC1234", sku="DAC-2M"),),
        expect_codes=("C-ABC1234",),
    )
    route = v.build_route([s])
    acts = route.stops[0].actions
    assert [a["actionType"] for a in acts] == [
        "finePositioning",
        "connectCableEnd",
        "connectCableEnd",
        "verifyLabel",
    ]
    ends = [{p["key"]: p["value"] for p in a["actionParameters"]}.get("end") for a in acts[1:3]]
    assert ends == ["A", "B"]
    verify = {p["key"]: p["value"] for p in acts[3]["actionParameters"]}
    assert (
        verify["expectCodes"] == ["C-ABC1234"]
        and verify["cableId"] == "C-ABC1234"
        and verify["sku"] == "DAC-2M"
    )


def test_order_nodes_are_metres_and_radians_with_fixed_sequence_ids():
    steps = [
        step("S1", x=1800, y=1500, theta=90),
        step("S2", rack="R02", x=2400, y=1500, theta=270),
        step("S3", rack="R03", x=3000, y=4500, theta=180),
    ]
    route = v.build_route(steps, start=v.Pose("home", 300, 300, 0))
    order = v.build_order(route, hdr(), order_id="o-1", map_id="LAB", base_end=2)
    assert [(n["nodeId"], n["sequenceId"], n["released"]) for n in order["nodes"]] == [
        ("home", 0, True),
        ("R01.front", 2, True),
        ("R02.front", 4, True),
        ("R03.front", 6, False),
    ]
    assert [(e["edgeId"], e["sequenceId"], e["released"]) for e in order["edges"]] == [
        ("home>R01.front", 1, True),
        ("R01.front>R02.front", 3, True),
        ("R02.front>R03.front", 5, False),
    ]
    pos = [n["nodePosition"] for n in order["nodes"]]
    assert [(p["x"], p["y"], p["theta"]) for p in pos] == [
        (0.3, 0.3, 0.0),
        (1.8, 1.5, 1.570796),
        (2.4, 1.5, -1.570796),
        (3.0, 4.5, 3.141593),
    ]
    assert {p["mapId"] for p in pos} == {"LAB"}
    # straight-line edge length: from (1.5, 1.2) to (0.6, 3.0) in metres
    assert order["edges"][0]["length"] == round(math.hypot(1.5, 1.2), 3)
    assert order["headerId"] == 0 and order["timestamp"] == T0 and order["version"] == "2.1.0"
    assert order["orderUpdateId"] == 0


def test_order_update_stitches_at_the_previous_base_end():
    steps = [step(f"S{i}", rack=f"R0{i}", x=600 * i) for i in range(1, 5)]
    route = v.build_route(steps, start=v.Pose("home", 0, 0))
    first = v.build_order(route, hdr(0), order_id="o", map_id="LAB", base_end=2)
    update = v.build_order(
        route, hdr(1), order_id="o", map_id="LAB", order_update_id=1, first=2, base_end=4
    )
    assert first["nodes"][-3]["nodeId"] == update["nodes"][0]["nodeId"] == "R02.front"
    assert first["nodes"][2]["sequenceId"] == update["nodes"][0]["sequenceId"] == 4
    assert [n["sequenceId"] for n in update["nodes"]] == [4, 6, 8]
    assert first["nodes"][2]["actions"] and update["nodes"][0]["actions"] == []
    assert [a["actionType"] for a in update["nodes"][1]["actions"]] == [
        "finePositioning",
        "installDevice",
    ]
    assert all(n["released"] for n in update["nodes"])
    assert [e["sequenceId"] for e in update["edges"]] == [5, 7]
    with pytest.raises(v.VdaError):
        v.build_order(route, hdr(), order_id="o", map_id="LAB", first=3, base_end=2)


def test_walking_path_becomes_a_degree_one_nurbs_trajectory():
    s = step("S1", x=4000, y=3000)
    route = v.build_route([s], start=v.Pose("home", 0, 0), walk=lambda a, b: [a, (0, 3000), b])
    edge = v.build_order(route, hdr(), order_id="o", map_id="LAB")["edges"][0]
    # legs 3 m and 4 m: the inner knot sits at 3/7 of the chord length
    assert edge["trajectory"] == {
        "degree": 1,
        "knotVector": [0.0, 0.0, 0.428571, 1.0, 1.0],
        "controlPoints": [
            {"x": 0.0, "y": 0.0, "weight": 1.0},
            {"x": 0.0, "y": 3.0, "weight": 1.0},
            {"x": 4.0, "y": 3.0, "weight": 1.0},
        ],
    }
    assert edge["length"] == 7.0
    assert len(edge["trajectory"]["knotVector"]) == len(edge["trajectory"]["controlPoints"]) + 2


def test_a_robot_is_only_sent_actions_it_declares():
    lift = v.declared_action_types(["mount_device"])
    assert lift == {"installDevice", "finePositioning"}
    cabler = v.declared_action_types(["run_cable", "connect_power"])
    assert cabler == {"connectCableEnd", "verifyLabel", "finePositioning"}
    cable_step = step("C1", kind="run_cable")
    with pytest.raises(
        v.VdaError,
        match=r"C1: the robot does not declare action type\(s\) connectCableEnd, verifyLabel",
    ):
        v.build_route([step("S1"), cable_step], declared=lift)
    ok, refused = v.split_declared([step("S1"), cable_step, step("B1", kind="burnin_check")], lift)
    assert [s.id for s in ok] == ["S1"]
    assert [s.id for s, _ in refused] == ["C1", "B1"]
    assert "has no robot action" in refused[1][1]
    # the factsheet narrows the profile: a robot that lacks verifyLabel is refused cable work
    assert v.declared_action_types(["run_cable"], ["connectCableEnd", "finePositioning"]) == {
        "connectCableEnd",
        "finePositioning",
    }
    # VDA action types may be listed verbatim in a profile
    assert "waitForTrigger" in v.declared_action_types(["mount_device", "waitForTrigger"])


def test_hold_for_technician_adds_wait_for_trigger_and_changes_the_finished_status():
    s = step("S1", confirm=CONFIRM_ROBOT_AND_TECH)
    plain = v.build_route([s])
    assert plain.step_confirm["S1"] == "awaiting_confirmation"
    held = v.build_route([s], hold_for_technician=True)
    assert [a["actionType"] for a in held.stops[0].actions] == [
        "finePositioning",
        "installDevice",
        "waitForTrigger",
    ]
    assert held.step_confirm["S1"] == "done"
    msg = v.build_instant_actions(hdr(3), [v.confirm_trigger("c-1", "S1:2", "technician-1")])
    assert msg["actions"] == [
        {
            "actionId": "c-1",
            "actionType": "confirmTrigger",
            "blockingType": "NONE",
            "actionParameters": [
                {"key": "confirmedBy", "value": "technician-1"},
                {"key": "waitActionId", "value": "S1:2"},
            ],
        }
    ]


def test_step_action_dict_travels_in_action_parameters():
    s = step("S1", action={"torqueNm": 4.5, "screws": [1, 2], "bad": float("nan"), "obj": object()})
    params = {
        p["key"]: p["value"] for p in v.build_route([s]).stops[0].actions[1]["actionParameters"]
    }
    assert params["torqueNm"] == 4.5 and params["screws"] == [1, 2]
    assert "bad" not in params and "obj" not in params


def test_duplicate_steps_and_unmappable_kinds_are_refused():
    with pytest.raises(v.VdaError, match="twice"):
        v.build_route([step("S1"), step("S1")])
    with pytest.raises(v.VdaError, match="burnin_check"):
        v.build_route([step("B1", kind="burnin_check")])


def test_encode_is_canonical_and_refuses_nan():
    assert v.encode({"b": 1, "a": [1.5, "é"]}) == '{"a":[1.5,"é"],"b":1}'.encode()
    with pytest.raises(ValueError):
        v.encode({"x": float("nan")})


def test_parse_order_accepts_what_build_order_makes():
    steps = [step("S1"), step("C1", kind="run_cable", rack="R02", x=2400)]
    route = v.build_route(steps, start=v.Pose("home", 0, 0))
    order = v.parse_order(
        v.encode(v.build_order(route, hdr(), order_id="o", map_id="LAB", base_end=1))
    )
    assert [(n.node_id, n.sequence_id, n.released) for n in order.nodes] == [
        ("home", 0, True),
        ("R01.front", 2, True),
        ("R02.front", 4, False),
    ]
    assert order.action_types() == {
        "finePositioning",
        "installDevice",
        "connectCableEnd",
        "verifyLabel",
    }
    assert order.nodes[1].x == 1.8 and order.nodes[1].map_id == "LAB"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda o: o["nodes"][1].update(sequenceId=3), "sequenceId"),
        (lambda o: o["nodes"][1].update(released=False), "released"),
        (lambda o: o["edges"].pop(), "edges"),
        (lambda o: o["edges"][0].update(endNodeId="elsewhere"), "does not join"),
        (
            lambda o: o["nodes"][1]["actions"].append(dict(o["nodes"][1]["actions"][0])),
            "not unique",
        ),
        (lambda o: o.update(orderUpdateId=-1), "orderUpdateId"),
        (lambda o: o.update(version="1.1.0"), "version"),
    ],
)
def test_parse_order_refuses_broken_orders(mutate, message):
    route = v.build_route([step("S1"), step("S2", rack="R02", x=2400)], start=v.Pose("home", 0, 0))
    order = json.loads(v.encode(v.build_order(route, hdr(), order_id="o", map_id="LAB")))
    mutate(order)
    with pytest.raises(v.VdaError, match=message):
        v.parse_order(v.encode(order))


def _state(**kw):
    base = dict(
        order_id="o",
        order_update_id=2,
        last_node_id="R01.front",
        last_node_sequence_id=2,
        driving=False,
        position=(1.8, 1.5, 1.570796, "LAB"),
        node_states=[("R02.front", 4, True)],
        action_states=[
            ("S1:0", "finePositioning", "FINISHED", ""),
            ("S1:1", "installDevice", "FAILED", "jammed"),
        ],
        errors=[
            {
                "errorType": "actionFailed",
                "errorLevel": "WARNING",
                "errorDescription": "jammed",
                "errorReferences": [{"referenceKey": "actionId", "referenceValue": "S1:1"}],
            }
        ],
    )
    base.update(kw)
    return v.build_state(hdr(7), **base)


def test_parse_state_keeps_what_the_bridge_needs():
    st_ = v.parse_state(v.encode(_state()))
    assert st_.header.serial_number == "LIFT-001" and st_.header.header_id == 7
    assert (st_.order_id, st_.order_update_id, st_.last_node_id, st_.last_node_sequence_id) == (
        "o",
        2,
        "R01.front",
        2,
    )
    assert [(a.action_id, a.status) for a in st_.action_states] == [
        ("S1:0", "FINISHED"),
        ("S1:1", "FAILED"),
    ]
    assert st_.errors == (v.RobotError("actionFailed", "WARNING", "jammed", ("S1:1",)),)
    assert st_.node_sequence_ids == (4,)
    assert st_.position == (1.8, 1.5, 1.570796, "LAB")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b'{"headerId": NaN}', "not JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not an object"),
        (b"x" * (v.MAX_MESSAGE_BYTES + 1), "over the"),
    ],
)
def test_hostile_bytes_are_refused_with_a_message(payload, message):
    with pytest.raises(v.VdaError, match=message):
        v.parse_state(payload)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("headerId", "7", "state.headerId: expected a whole number"),
        ("headerId", True, "state.headerId"),
        ("orderId", None, "state.orderId: missing"),
        ("driving", "yes", "state.driving: expected true/false"),
        (
            "actionStates",
            [{"actionId": "a", "actionStatus": "DONE"}],
            r"state.actionStates\[0\].actionStatus: 'DONE' is not one of",
        ),
        ("actionStates", ["x"], r"state.actionStates\[0\]: expected an object"),
        ("errors", [{"errorType": "x", "errorLevel": "MEH"}], "errorLevel"),
        ("agvPosition", {"x": "1", "y": 0, "theta": 0, "mapId": "m"}, "agvPosition.x"),
        ("serialNumber", "S" * 5000, "too long"),
    ],
)
def test_malformed_state_fields_name_their_path(field, value, message):
    data = json.loads(v.encode(_state()))
    data[field] = value
    with pytest.raises(v.VdaError, match=message):
        v.parse_state(json.dumps(data).encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_state_or_a_vda_error(payload):
    with contextlib.suppress(v.VdaError):
        v.parse_state(payload)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(json.loads(v.encode(_state())))), json_values)
def test_any_field_value_gives_a_state_or_a_vda_error(field, value):
    data = json.loads(v.encode(_state()))
    data[field] = value
    for parse in (
        v.parse_state,
        v.parse_connection,
        v.parse_factsheet,
        v.parse_order,
        v.parse_instant_actions,
    ):
        with contextlib.suppress(v.VdaError):
            parse(json.dumps(data).encode())


def test_connection_and_factsheet_round_trip():
    _h, state = v.parse_connection(v.encode(v.build_connection(hdr(), "CONNECTIONBROKEN")))
    assert state == "CONNECTIONBROKEN"
    with pytest.raises(v.VdaError):
        v.build_connection(hdr(), "GONE")
    fs = v.build_factsheet(
        hdr(),
        action_types=v.declared_action_types(["mount_device"]),
        series="lift",
        speed_max_m_s=0.8,
        payload_kg=120,
        width_mm=900,
    )
    _h, types = v.parse_factsheet(v.encode(fs))
    assert types == {"installDevice", "finePositioning", *v.INSTANT_ACTIONS}


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], None),
        (["WAITING", "WAITING"], None),
        (["FINISHED", "WAITING"], "in_progress"),
        (["INITIALIZING"], "in_progress"),
        (["PAUSED", "WAITING"], "in_progress"),
        (["FINISHED", "FINISHED"], "done"),
        (["FINISHED", "FAILED"], "blocked"),
        (["FAILED", "WAITING"], "blocked"),
    ],
)
def test_action_states_map_to_step_status(statuses, expected):
    assert v.step_status(statuses) == expected


def test_finished_robot_and_technician_step_awaits_confirmation():
    assert (
        v.step_status(["FINISHED", "FINISHED"], "awaiting_confirmation") == "awaiting_confirmation"
    )
