"""Bounded orders: a robot with thousands of steps gets orders of a bounded size.

An order (or update) carries at most ``max_stops`` nodes and ``max_bytes`` bytes; the horizon is
cut first, then the base; ``released_end`` says how far the base really reaches, and a chain of
updates from there covers every stop exactly once. Expected sizes are measured on the encoded
bytes, so the budget is a promise about what goes on the wire.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldops.core import vda5050 as v
from fieldops.core.workorder import Location, Part, Step

T0 = "2026-01-02T03:04:05.678Z"


def hdr(n=0):
    return v.Header(n, T0, "FieldBotics", "CABLE-001")


def cable_steps(racks: int, per_rack: int) -> list[Step]:
    """``per_rack`` cable runs at each of ``racks`` rack faces, 600 mm apart."""
    out = []
    for r in range(racks):
        for k in range(per_rack):
            cid = f"C-{r:04d}{k:03d}"
            out.append(
                Step(
                    f"cable:{cid}",
                    "cable",
                    "run_cable",
                    f"Run {cid}",
                    "Plug both ends, scan the label",
                    Location(
                        rack=f"R{r:04d}",
                        location_id=f"1A-{r:04d}",
                        face="front",
                        u=40,
                        x_mm=600 * r,
                        y_mm=1500,
                        theta_deg=90.0,
                    ),
                    parts=(Part("cable", cid, "DAC-2M"),),
                    expect_codes=(cid,),
                    action={"aEnd": f"gpu-{r}:p{k}", "bEnd": f"leaf-{r}:swp{k}"},
                )
            )
    return out


def test_a_long_route_gets_at_most_max_stops_nodes_by_default():
    route = v.build_route(cable_steps(100, 3), start=v.Pose("home", 0, 1500))
    order = v.build_order(route, hdr(), order_id="o", map_id="LAB", base_end=2)
    assert len(order["nodes"]) == v.ORDER_MAX_STOPS == 16
    assert [n["sequenceId"] for n in order["nodes"]] == list(range(0, 32, 2))
    assert [n["released"] for n in order["nodes"]] == [True] * 3 + [False] * 13
    assert len(order["edges"]) == 15 and order["edges"][-1]["endNodeId"] == "R0014.front"
    # without limits the whole route goes out: 101 nodes
    whole = v.build_order(
        route, hdr(), order_id="o", map_id="LAB", base_end=2, max_stops=None, max_bytes=None
    )
    assert len(whole["nodes"]) == 101


def test_the_byte_budget_cuts_the_horizon_then_the_base():
    route = v.build_route(cable_steps(20, 10), start=v.Pose("home", 0, 1500))
    whole = v.build_order(route, hdr(), order_id="o", map_id="LAB", base_end=5, max_stops=None)
    whole_bytes = len(v.encode(whole))
    budget = whole_bytes // 4
    order = v.build_order(
        route, hdr(), order_id="o", map_id="LAB", base_end=5, max_stops=None, max_bytes=budget
    )
    size = len(v.encode(order))
    assert size <= budget
    # the next stop would not have fitted: the cut is as late as the budget allows
    k = len(order["nodes"])
    longer = v.build_order(
        route,
        hdr(),
        order_id="o",
        map_id="LAB",
        base_end=5,
        horizon_end=k,
        max_stops=None,
        max_bytes=None,
    )
    assert len(v.encode(longer)) > budget
    # 20 stops of 10 cables each in 4 parts: 5 of 21 nodes fit, all of them base
    assert k == 5 and v.released_end(order) == 4
    assert all(n["released"] for n in order["nodes"])
    # a tighter budget cuts into the base: released_end reports the real base end
    tight = v.build_order(
        route, hdr(), order_id="o", map_id="LAB", base_end=5, max_stops=None, max_bytes=budget // 2
    )
    assert v.released_end(tight) < 4 and len(v.encode(tight)) <= budget // 2


def test_a_stop_that_alone_is_over_the_budget_is_refused_with_its_name():
    route = v.build_route(cable_steps(2, 50), start=v.Pose("home", 0, 1500))
    with pytest.raises(v.VdaError, match=r"node R0000\.front \(stop 1\) needs [\d,]+ bytes"):
        v.build_order(route, hdr(), order_id="o", map_id="LAB", max_bytes=20_000)


def test_an_order_starting_mid_route_sends_its_first_node_without_actions():
    route = v.build_route(cable_steps(5, 1), start=v.Pose("home", 0, 1500))
    order = v.build_order(route, hdr(), order_id="o-2", map_id="LAB", first=3, base_end=4)
    assert order["nodes"][0]["nodeId"] == "R0002.front" and order["nodes"][0]["actions"] == []
    assert order["nodes"][0]["sequenceId"] == 6
    assert [a["actionType"] for a in order["nodes"][1]["actions"]] == [
        "finePositioning",
        "connectCableEnd",
        "connectCableEnd",
        "verifyLabel",
    ]
    parsed = v.parse_order(v.encode(order))  # what a robot accepts
    assert [(n.sequence_id, n.released) for n in parsed.nodes] == [
        (6, True),
        (8, True),
        (10, False),
    ]


@settings(max_examples=40, deadline=None)
@given(
    racks=st.integers(1, 30),
    per_rack=st.integers(1, 12),
    window=st.integers(1, 5),
    max_stops=st.integers(2, 8),
    budget=st.integers(30_000, 80_000),
)
def test_a_chain_of_bounded_updates_covers_every_stop_once(
    racks, per_rack, window, max_stops, budget
):
    """What the bridge does: release ``window`` stops ahead, each message within the limits."""
    route = v.build_route(cable_steps(racks, per_rack), start=v.Pose("home", 0, 1500))
    last = len(route.stops) - 1
    first, update, seen = 0, 0, []
    while True:
        msg = v.build_order(
            route,
            hdr(update),
            order_id="o",
            map_id="LAB",
            order_update_id=update,
            first=first,
            base_end=min(last, first + window),
            max_stops=max_stops,
            max_bytes=budget,
        )
        assert len(v.encode(msg)) <= budget and len(msg["nodes"]) <= max_stops
        v.parse_order(v.encode(msg))
        end = v.released_end(msg)
        assert end > first or last == 0
        seen += [a["actionId"] for n in msg["nodes"] if n["released"] for a in n["actions"]]
        if end == last:
            break
        first, update = end, update + 1
    # every action of every step released exactly once, in route order
    expected = [a for s in route.stops for a in (x["actionId"] for x in s.actions)]
    assert seen == expected


def test_segments_bound_the_actions_of_one_order_id():
    route = v.build_route(cable_steps(10, 2), start=v.Pose("home", 0, 1500))
    # 7 actions per stop (finePositioning + 2 x 3); the start holds none
    assert [route.action_count(i) for i in range(3)] == [0, 7, 7]
    assert route.segment_end(0, max_actions=20) == 2  # 14 actions; a third stop makes 21
    assert route.segment_end(2, max_actions=20) == 4
    assert route.segment_end(0, max_actions=1) == 1  # always one stop of progress
    assert route.segment_end(9, max_actions=1000) == 10 == len(route.stops) - 1
    assert route.segment_end(10) == 10


def test_actions_are_built_only_for_the_stops_an_order_carries():
    route = v.build_route(cable_steps(3000, 1), start=v.Pose("home", 0, 1500))
    v.build_order(route, hdr(), order_id="o", map_id="LAB", base_end=2)
    built = [s._actions is not None for s in route.stops]
    assert built[1:16] == [True] * 15 and not any(built[16:])


def test_trajectories_drop_repeated_and_collinear_vertices():
    s = cable_steps(1, 1)[0]
    path = [(0, 1500), (0, 1500), (0, 900), (0, 300), (0, 0), (300, 0), (600, 0), (0, 0)]
    route = v.build_route([s], start=v.Pose("home", 0, 1500), walk=lambda a, b: path)
    edge = v.build_order(route, hdr(), order_id="o", map_id="LAB")["edges"][0]
    # (0,900), (0,300) lie on (0,1500)-(0,0); (300,0) on (0,0)-(600,0); the U-turn stays
    assert [(p["x"], p["y"]) for p in edge["trajectory"]["controlPoints"]] == [
        (0.0, 1.5),
        (0.0, 0.0),
        (0.6, 0.0),
        (0.0, 0.0),
    ]
    assert edge["length"] == 2.7
    assert edge["trajectory"]["knotVector"] == [0.0, 0.0, 0.555556, 0.777778, 1.0, 1.0]
    json.dumps(edge)  # plain JSON
