"""Tray routing and cable lengths on the canonical ROUTE hall (tests/samples_routing.py).

Every expected value is worked out by hand in the comments. Constants of the ROUTE hall: rack
top 2000, depth 1000 (face to exit = 500), trays at 2500 (exit to tray = 500); port heights
U10 = 522.275, U30 = 1411.275, U40 = 1855.775. Bend allowance = pi/2 * bend radius:
cat6a (r 30) 47.1239, smf (r 15) 23.5619, dac (r 60) 94.2478, pwr (r 40) 62.8319.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldops.core.routing import (
    bend_allowance_mm,
    build_cable_plan,
    count_bends,
    orderable,
    polyline_length,
)
from tests.samples_routing import ROUTE_CABLES, ROUTE_DEVICES, SRV, SW, cable, route_design


@pytest.fixture(scope="module")
def plan():
    return build_cable_plan(route_design())


def run_for(plan, a: str):
    """The run whose A end is ``device:port``."""
    (hit,) = [r for r in plan.runs if f"{r.a.device}:{r.a.port}" == a]
    return hit


def simplify(pts):
    """Drop points where the polyline goes straight on (to compare with hand-drawn routes)."""
    out = [pts[0]]
    for k in range(1, len(pts) - 1):
        d1 = [pts[k][i] - out[-1][i] for i in range(3)]
        d2 = [pts[k + 1][i] - pts[k][i] for i in range(3)]
        cross = (
            d1[1] * d2[2] - d1[2] * d2[1],
            d1[2] * d2[0] - d1[0] * d2[2],
            d1[0] * d2[1] - d1[1] * d2[0],
        )
        dot = sum(x * y for x, y in zip(d1, d2, strict=True))
        if max(abs(c) for c in cross) > 1e-6 or dot < 0:
            out.append(pts[k])
    out.append(pts[-1])
    return [tuple(round(v, 3) for v in p) for p in out]


def test_same_rack_same_face(plan):
    """[srv-a:p0 U10 rear] --- [sw-a1:p0 U40 rear], both in A1: straight up the rear face."""
    r = run_for(plan, "srv-a:p0")
    # server front-to-rear: NICs on its rear; switch (no airflow) mounted rear: ports on its front
    assert (r.a.face, r.b.face) == ("rear", "rear")
    assert r.route_mm == pytest.approx(1333.5)  # 1855.775 - 522.275
    assert r.bends == 0
    assert r.length_mm == 1934  # ceil(1333.5 + 2 * 300 slack) = ceil(1933.5)
    assert (r.ordered_mm, r.sku) == (2000, "CAT6A-2M")
    assert r.tray_path == ()
    assert simplify(r.polyline) == [(1000, 2500, 522.275), (1000, 2500, 1855.775)]


def test_same_rack_rear_to_front(plan):
    """[srv-a:p1 U10 rear] --- [sw-f:p0 U30 front] (ports_face front): through the rack depth."""
    r = run_for(plan, "srv-a:p1")
    assert (r.a.face, r.b.face) == ("rear", "front")
    assert r.route_mm == pytest.approx(1889.0)  # depth 1000 + (1411.275 - 522.275 = 889)
    assert r.bends == 1
    assert r.length_mm == 2537  # ceil(1889 + 47.1239 + 600) = ceil(2536.12)
    assert (r.ordered_mm, r.sku) == (3000, "CAT6A-3M")
    assert simplify(r.polyline) == [
        (1000, 2500, 522.275),
        (1000, 1500, 522.275),
        (1000, 1500, 1411.275),
    ]


def test_adjacent_racks_take_the_side_path(plan):
    """[srv-b:p0 A2 U10 rear] --- [sw-a1:p1 A1 U40 rear]: A1 and A2 touch side by side.

    Side path: 600 sideways + 1333.5 up = 1933.5. Tray path would be
    1477.725 + 500 + 500 + 600 + 500 + 500 + 144.225 = 4222, so the side path wins.
    """
    r = run_for(plan, "srv-b:p0")
    assert r.route_mm == pytest.approx(1933.5)
    assert r.bends == 1
    assert r.length_mm == 2581  # ceil(1933.5 + 47.1239 + 600) = ceil(2580.62)
    assert r.ordered_mm == 3000
    assert r.tray_path == ()
    assert simplify(r.polyline) == [
        (1600, 2500, 522.275),
        (1000, 2500, 522.275),
        (1000, 2500, 1855.775),
    ]


def test_across_the_aisle(plan):
    """[srv-b:p1 A2 U10 rear] --- TA --- TX --- TB --- [sw-b:p0 B1 U40 rear, y=3500].

    up 2000 - 522.275 = 1477.725; in 500; up 500; TA x 1600 -> 50 = 1550; TX 2000;
    TB x 50 -> 1000 = 950; down 500; out 500; down 2000 - 1855.775 = 144.225
    = 8121.95. 8 bends: 8 * 47.1239 = 376.99; slack 600 -> 9098.94 -> 9099 -> 10 m.
    """
    r = run_for(plan, "srv-b:p1")
    assert r.route_mm == pytest.approx(8121.95, abs=0.06)  # route_mm is kept to 0.1 mm
    assert r.tray_path == ("TA", "TX", "TB")
    assert r.bends == 8
    assert r.length_mm == 9099
    assert (r.ordered_mm, r.sku) == (10000, "CAT6A-10M")
    assert simplify(r.polyline) == [
        (1600, 2500, 522.275),
        (1600, 2500, 2000),
        (1600, 2000, 2000),
        (1600, 2000, 2500),
        (50, 2000, 2500),
        (50, 4000, 2500),
        (1000, 4000, 2500),
        (1000, 4000, 2000),
        (1000, 3500, 2000),
        (1000, 3500, 1855.775),
    ]


def test_detour_around_the_crah(plan):
    """[sw-a1:q0 A1 U40 rear] --- TA --- TD (around CRAH) --- TA2 --- [sw-a4:q0 A4 U40 rear].

    ends: 2 * (144.225 + 500 + 500) = 2288.45; TA 1000 -> 2700 = 1700; TD 1000 + 800 + 1000
    = 2800; TA2 3500 -> 4600 = 1100; total 7888.45. 10 bends * 23.5619 = 235.62;
    slack 2 * 500 -> 9124.07 -> 9125 -> 10 m.
    """
    r = run_for(plan, "sw-a1:q0")
    assert r.route_mm == pytest.approx(7888.45, abs=0.06)  # route_mm is kept to 0.1 mm
    assert r.tray_path == ("TA", "TD", "TA2")
    assert r.bends == 10
    assert r.length_mm == 9125
    assert (r.ordered_mm, r.sku) == (10000, "SMF-10M")
    assert simplify(r.polyline)[3:9] == [
        (1000, 2000, 2500),
        (2700, 2000, 2500),
        (2700, 3000, 2500),
        (3500, 3000, 2500),
        (3500, 2000, 2500),
        (4600, 2000, 2500),
    ]


def test_trays_that_do_not_connect(plan):
    """[pdu-a1:O1 A1 rear, mid-rack 1000] --- [sw-b:PSU1 B1 front]: power trays P1 and P2 never
    meet. sw-b is mounted rear, so its power supplies (on its own rear) are on B1's front, y=4500.
    Estimate: up 1000 + in 500 (-y) + centre to centre 2000 (+y) + out 500 (+y, no turn) + down
    144.225 = 4144.225; 3 bends * 62.8319 = 188.5; slack 200 -> 4532.72 -> 4533; not ordered."""
    r = run_for(plan, "pdu-a1:O1")
    assert r.a.face == "rear" and r.a.u is None
    assert r.b.face == "front"
    assert r.route_mm == pytest.approx(4144.2, abs=0.06)  # route_mm is kept to 0.1 mm
    assert r.length_mm == 4533
    assert (r.ordered_mm, r.sku) == (0, "")
    (prob,) = [p for p in plan.problems if p.cable_id == r.id]
    assert (
        "the power trays over rack 'A1' (P1) do not connect to those over rack 'B1' (P2)"
        in prob.message
    )
    assert r.id in prob.message and "not ordered" in prob.message
    assert any("tray 'P1' (power) meets no other power tray" in w for w in plan.warnings)


def test_reach_violation_names_cable_length_and_a_media_that_reaches(plan):
    """[sw-a1:q1 A1 U40] --- TA --- [sw-a3:q1 A3 U40] on DAC (reach 3 m).

    route 2 * (144.225 + 500 + 500) + 1200 = 3488.45; 6 bends * 94.2478 = 565.49; slack 300
    -> 4353.94 -> 4354 > 3000. AOC (fits QSFP28, r 30, slack 300) needs
    ceil(3488.45 + 6 * 47.1239 + 600) = 4372 and is orderable at 5 m.
    """
    r = run_for(plan, "sw-a1:q1")
    assert r.length_mm == 4354
    assert r.ordered_mm == 0
    (prob,) = [p for p in plan.problems if p.cable_id == r.id]
    assert (prob.media, prob.length_mm, prob.reach_mm, prob.suggestion) == (
        "dac",
        4354,
        3000,
        "aoc",
    )
    assert r.id in prob.message and "4.35 m" in prob.message and "aoc" in prob.message


def test_labels_and_locations(plan):
    r = run_for(plan, "srv-a:p0")
    # A1 centre (1000, 2000): column 1000 // 600 = 1 -> B, row 2000 // 600 + 1 = 4 -> 1A-B04
    assert r.a.location_id == "1A-B04"
    assert r.a.label == f"{r.id}/A 1A-B04 A1 U10 SRV-A:P0 > 1A-B04 A1 U40 SW-A1:P0"
    assert r.b.label == f"{r.id}/B 1A-B04 A1 U40 SW-A1:P0 > 1A-B04 A1 U10 SRV-A:P0"
    assert r.qr_payload == r.id
    pdu = run_for(plan, "pdu-a1:O1")
    assert " U-- PDU-A1:O1 " in pdu.a.label


def test_every_run_is_consistent(plan):
    assert len(plan.runs) == len(ROUTE_CABLES)
    assert [r.id for r in plan.runs] == sorted(r.id for r in plan.runs)
    for r in plan.runs:
        assert polyline_length(r.polyline) == pytest.approx(r.route_mm, abs=0.1)
        assert count_bends(r.polyline) == r.bends


def test_unknown_device_and_media_are_warnings_not_tracebacks():
    d = route_design(
        ROUTE_CABLES
        + (
            cable("ghost:p0", "sw-a1:p5", "cat6a"),
            cable("srv-a:q0", "sw-a1:q3", "nope"),
            cable("srv-a:PSU1", "sw-a1:zz", "pwr"),
        )
    )
    plan = build_cable_plan(d)
    assert len(plan.runs) == len(ROUTE_CABLES)
    text = "\n".join(plan.warnings)
    assert "ghost:p0: unknown device 'ghost'" in text
    assert "unknown media 'nope'" in text
    assert "device type 'sw' has no port 'zz'" in text


def test_rack_no_tray_reaches():
    """Move the copper/fibre trays away from B1: A2 -- B1 has no route and says which rack."""
    from dataclasses import replace

    from tests.samples_routing import route_floorplan

    fp = route_floorplan()
    fp = replace(fp, trays=tuple(t for t in fp.trays if t.name != "TB"))
    plan = build_cable_plan(route_design(floorplan=fp))
    r = run_for(plan, "srv-b:p1")
    assert r.ordered_mm == 0 and r.length_mm > 0
    (prob,) = [p for p in plan.problems if p.cable_id == r.id]
    assert "rack 'B1' is reached by no copper tray" in prob.message
    assert any("rack 'B1' is reached by no copper tray" in w for w in plan.warnings)


# ---------------------------------------------------------------- properties

PORTS = [
    (d.name, p.name)
    for d in ROUTE_DEVICES
    for p in {"srv": SRV, "sw": SW}.get(d.device_type, SRV).ports
    if d.device_type != "pdu" and p.kind == "interface"
]


def port_point(design, run_end):
    from fieldops.core.routing import port_height_mm

    rack = design.floorplan.rack(run_end.rack)
    rt = design.floorplan.rack_types[rack.rack_type]
    dev = design.device(run_end.device)
    x, y = rack.face_point(rt, run_end.face)
    return (x, y, port_height_mm(dev, design.device_types[dev.device_type], rt.outer_height_mm))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(PORTS), st.sampled_from(PORTS), st.sampled_from(["cat6a", "smf"])
        ),
        min_size=1,
        max_size=8,
    )
)
def test_route_is_never_shorter_than_the_straight_line(picks):
    used, cables = set(), []
    for a, b, media in picks:
        if a == b or a in used or b in used:
            continue
        used |= {a, b}
        cables.append(cable(f"{a[0]}:{a[1]}", f"{b[0]}:{b[1]}", media))
    d = route_design(cables)
    plan = build_cable_plan(d)
    assert len(plan.runs) == len(cables)
    for r in plan.runs:
        pa, pb = port_point(d, r.a), port_point(d, r.b)
        assert r.route_mm >= math.dist(pa, pb) - 0.1
        assert math.dist(r.polyline[0], pa) < 0.01 and math.dist(r.polyline[-1], pb) < 0.01
        assert r.length_mm >= r.route_mm
        # the array arithmetic agrees with the scalar model, cable by cable
        m = d.media[r.media]
        route = polyline_length(r.polyline)
        assert route == pytest.approx(r.route_mm, abs=0.051)
        assert r.bends == count_bends(r.polyline)
        want = math.ceil(route + r.bends * bend_allowance_mm(m) + 2 * m.slack_per_end_mm - 1e-9)
        assert abs(r.length_mm - want) <= 1  # route_mm is rounded to 0.1 mm, lengths are not
        if r.ordered_mm:
            assert r.ordered_mm == orderable(m, r.length_mm) and r.sku == m.sku_for(r.ordered_mm)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, len(ROUTE_CABLES) - 1), st.sampled_from(PORTS), st.sampled_from(PORTS))
def test_one_more_cable_changes_no_other_id_or_length(drop, a, b):
    base = [c for k, c in enumerate(ROUTE_CABLES) if k != drop]
    busy = {(c.a.device, c.a.port) for c in base} | {(c.b.device, c.b.port) for c in base}
    if a == b or a in busy or b in busy:
        return
    before = {
        (str(r.a.device), r.a.port, r.b.device, r.b.port): (
            r.id,
            r.length_mm,
            r.ordered_mm,
            r.polyline,
        )
        for r in build_cable_plan(route_design(base)).runs
    }
    after = {
        (str(r.a.device), r.a.port, r.b.device, r.b.port): (
            r.id,
            r.length_mm,
            r.ordered_mm,
            r.polyline,
        )
        for r in build_cable_plan(
            route_design([*base, cable(f"{a[0]}:{a[1]}", f"{b[0]}:{b[1]}", "cat6a")])
        ).runs
    }
    assert len(after) == len(before) + 1
    for key, value in before.items():
        assert after[key] == value


def test_ids_do_not_depend_on_order_or_end_swap():
    plan1 = build_cable_plan(route_design())
    swapped = [
        cable(f"{c.b.device}:{c.b.port}", f"{c.a.device}:{c.a.port}", c.media)
        for c in reversed(ROUTE_CABLES)
    ]
    plan2 = build_cable_plan(route_design(swapped))
    assert sorted(r.id for r in plan1.runs) == sorted(r.id for r in plan2.runs)
    lengths1 = {r.id: r.length_mm for r in plan1.runs}
    assert {r.id: r.length_mm for r in plan2.runs} == lengths1


# ---------------------------------------------------------------- the vectorised internals


def test_batch_paths_equal_one_path_at_a_time():
    """Every rack pair of the ROUTE hall, both classes: _batch_paths gives what TrayGraph.path
    and count_bends give pair by pair."""
    import numpy as np

    from fieldops.core.routing import RoutingOptions, TrayGraph, _batch_paths, _RackGeo

    d = route_design()
    fp = d.floorplan
    racks = [_RackGeo(k, r, fp.rack_types[r.rack_type], fp.grid) for k, r in enumerate(fp.racks)]
    checked = 0
    for cls in ("copper", "fibre", "power"):
        g = TrayGraph(cls, fp.trays, racks, RoutingOptions())
        names = sorted(g.up)
        dist, pred = g.shortest(names)
        pairs = [
            (r, g.up[x], g.down[y])
            for r, x in enumerate(names)
            for y in names
            if y != x and np.isfinite(dist[r, g.down[y]])
        ]
        rows, src, dst = (np.array(v, dtype=np.int64) for v in zip(*pairs, strict=True))
        polys, trays, bends, plain = _batch_paths(g, pred, rows, src, dst)
        for k, (r, s, t) in enumerate(pairs):
            pts, tray_names = g.path(pred[r], s, t)
            assert polys[k] == tuple(pts) and trays[k] == tray_names
            assert bends[k] == count_bends(pts)
            assert plain[k] == (pts[1][:2] == pts[0][:2] and pts[-2][:2] == pts[-1][:2])
            checked += 1
    assert checked >= 20


POINT = st.tuples(*[st.sampled_from([0.0, 1.0, -1.0, 2.5, 1e-7, 1000.0])] * 3)


@given(st.lists(st.lists(POINT, max_size=7), max_size=6))
def test_bends_in_bulk_equal_count_bends(polylines):
    import numpy as np

    from fieldops.core.routing import _bends_flat

    flat = [p for line in polylines for p in line]
    owner = np.repeat(np.arange(len(polylines)), [len(line) for line in polylines])
    pts = np.array(flat, dtype=float).reshape(-1, 3)
    got = _bends_flat(pts, owner, len(polylines))
    assert got.tolist() == [count_bends(line) for line in polylines]


def test_fast_run_constructors_build_equal_objects():
    from dataclasses import dataclass

    from fieldops.core.cableplan import CableEnd, CableRun
    from fieldops.core.routing import _END_FIELDS, _new_end, _new_run, _slot_constructor

    args = ("srv-a", "p0", "A1", "1A-B04", 10, "rear", "C-6BMR43E27H/A X > Y")
    assert _new_end is not CableEnd and _new_end(*args) == CableEnd(*args)
    end = CableEnd(*args)
    run = ("C-6BMR43E27H", end, end, "cat6a", "copper", 1.5, 602, 1000, "CAT6A-1M", ("TA",))
    run += (((0.0, 0.0, 0.0), (1.0, 0.0, 0.0)), 0, "C-6BMR43E27H")
    built = _new_run(*run)
    assert built == CableRun(*run) and hash(built) == hash(CableRun(*run))

    @dataclass(frozen=True, slots=True)
    class Checked:  # a __post_init__ (validation) must not be bypassed: fall back
        device: str
        port: str
        rack: str
        location_id: str
        u: int
        face: str
        label: str

        def __post_init__(self):
            raise ValueError("checked")

    assert _slot_constructor(Checked, _END_FIELDS) is Checked
    assert _slot_constructor(CableEnd, _END_FIELDS[:-1]) is CableEnd  # fields changed
