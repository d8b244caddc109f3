"""Walking on the floor (fieldops.core.walking) on the canonical halls of tests/samples_routing.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from fieldops.core.model import Obstacle
from fieldops.core.walking import WalkError, WalkGraph
from tests.samples_routing import route_design, walk_design


def test_detour_around_a_block():
    """W (2000,2000) -> E (8000,2000) past the block x 4000..6000, y 0..4000.

    Clearance 600 inflates the block by 300: corners (3700,4300) and (6300,4300).
    Length = 2 * hypot(1700, 2300) + 2600 = 2 * 2860.07 + 2600 = 8320.14.
    """
    g = WalkGraph(walk_design())
    path, length = g.walk(g.waypoint("W"), g.waypoint("E"))
    assert path == ((2000, 2000), (3700, 4300), (6300, 4300), (8000, 2000))
    assert length == pytest.approx(2 * math.hypot(1700, 2300) + 2600)


def test_straight_when_visible():
    g = WalkGraph(walk_design())
    path, length = g.walk((1000, 1000), (3000, 5000))
    assert path == ((1000, 1000), (3000, 5000)) and length == pytest.approx(math.hypot(2000, 4000))


def test_wider_walker_detours_further():
    """Clearance 1000 inflates by 500: corners (3500,4500), (6500,4500): 2*hypot(1500,2500)+3000."""
    g = WalkGraph(walk_design(), clearance_mm=1000)
    _, length = g.walk((2000, 2000), (8000, 2000))
    assert length == pytest.approx(2 * math.hypot(1500, 2500) + 3000)


def test_no_path_raises_a_clear_error():
    split = (Obstacle("WALL", "other", ((4000, 0), (6000, 0), (6000, 6000), (4000, 6000))),)
    g = WalkGraph(walk_design(obstacles=split))
    with pytest.raises(WalkError, match=r"no walkable path from \(2000, 2000\) to \(8000, 2000\)"):
        g.walk((2000, 2000), (8000, 2000))
    m = g.distance_matrix([(2000, 2000), (8000, 2000), (1000, 1000)])
    assert math.isinf(m[0, 1]) and m[0, 2] == pytest.approx(math.hypot(1000, 1000))


def test_standoffs_face_the_rack():
    g = WalkGraph(route_design())
    # A1 front face at y = 1500 (fronts face -y); 300 + 300 mm out -> y = 900; theta +y = pi/2
    assert g.standoff("A1", "front") == pytest.approx((1000, 900, math.pi / 2))
    # B1 is rotated 180: front face at y = 4500 -> stand-off y = 5100, facing -y
    assert g.standoff("B1", "front") == pytest.approx((1000, 5100, -math.pi / 2))
    # the 1000 mm hot aisle (y 2500..3500): A1 rear stand-off 600 out -> y = 3100
    assert g.standoff("A1", "rear") == pytest.approx((1000, 3100, -math.pi / 2))


def test_standoff_in_a_narrow_aisle_is_pulled_onto_the_floor():
    """Clearance 800: the hot aisle's walkable strip is y 2900..3100; wanted y = 2500 + 700 =
    3200, so the stand-off is the strip's nearest point on the face's centre line: y = 2900."""
    g = WalkGraph(route_design(), clearance_mm=800)
    x, y, _ = g.standoff("A1", "rear")
    assert (x, y) == pytest.approx((1000, 2900))


def test_unknown_names():
    g = WalkGraph(route_design())
    with pytest.raises(KeyError, match="no rack 'Z9'"):
        g.standoff("Z9", "front")
    with pytest.raises(KeyError, match="known: DOOR"):
        g.waypoint("NOPE")


def test_self_crossing_outline_is_a_clear_error():
    from dataclasses import replace

    d = walk_design()
    bad = replace(
        d, floorplan=replace(d.floorplan, outline=((0, 0), (1000, 1000), (1000, 0), (0, 1000)))
    )
    with pytest.raises(WalkError, match="hall outline is not a simple polygon"):
        WalkGraph(bad)


def test_distance_matrix_matches_walk():
    g = WalkGraph(route_design())
    names = ["A1", "A2", "A3", "A4", "B1"]
    pts = [g.standoff(n, f)[:2] for n in names for f in ("front", "rear")] + [g.waypoint("DOOR")]
    m = g.distance_matrix(pts)
    for i, p in enumerate(pts):
        for j, q in enumerate(pts):
            assert m[i, j] == pytest.approx(g.walk(p, q)[1], abs=1e-6)
    assert np.allclose(m, m.T)


FLOOR = st.tuples(st.integers(0, 8000), st.integers(0, 6000))
INNER = st.tuples(st.integers(300, 7700), st.integers(300, 5700))
_G: dict = {}


def _graph() -> WalkGraph:
    if "g" not in _G:
        _G["g"] = WalkGraph(route_design())  # racks in rows, a hot aisle and the CRAH
    return _G["g"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(INNER, INNER)
def test_walking_paths_stay_on_the_walkable_floor(a, b):
    g = _graph()
    assume(g.walkable.covers(Point(a)) and g.walkable.covers(Point(b)))
    path, length = g.walk(a, b)
    assert g.covers(path)  # within the 1 mm tolerance
    assert path[0] == pytest.approx(a) and path[-1] == pytest.approx(b)
    assert length >= math.dist(a, b) - 1e-6
    assert length == pytest.approx(
        sum(math.dist(path[k - 1], path[k]) for k in range(1, len(path)))
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(FLOOR)
@example((401, 1201))  # 1 mm into the corner of row A's inflated block: once saw no corner
def test_points_off_the_floor_step_onto_it_first(a):
    g = _graph()
    assume(not g.walkable.covers(Point(a)))
    path, _ = g.walk(a, g.standoff("A1", "front")[:2])
    assert path[0] == pytest.approx(a)
    assert g.covers(path[1:])


def test_equal_detours_break_ties_the_same_way_every_time():
    """A free-standing block (x 4000..6000, y 2000..4000) between W (2000, 3000) and E (8000,
    3000): north and south detours are equally long, 2 * hypot(1700, 1300) + 2600. Corners are
    numbered in (x, y) order and the first entry corner wins a tie, so both directions take
    the south side (y = 1700)."""
    block = (Obstacle("B", "cooling", ((4000, 2000), (6000, 2000), (6000, 4000), (4000, 4000))),)
    g = WalkGraph(walk_design(obstacles=block))
    length = 2 * math.hypot(1700, 1300) + 2600
    path, got = g.walk((2000, 3000), (8000, 3000))
    assert path == ((2000, 3000), (3700, 1700), (6300, 1700), (8000, 3000))
    assert got == pytest.approx(length)
    back, got = g.walk((8000, 3000), (2000, 3000))
    assert back == ((8000, 3000), (6300, 1700), (3700, 1700), (2000, 3000))
    assert got == pytest.approx(length)


def _reference_walk(g: WalkGraph, a, b):
    """walk() as first written: the full (corners of a) x (corners of b) matrix per query."""
    qa, va, da = g._attach(a)
    qb, vb, db = g._attach(b)
    head = (tuple(map(float, a)),) if qa != tuple(map(float, a)) else ()
    tail = (tuple(map(float, b)),) if qb != tuple(map(float, b)) else ()
    extra = math.dist(a, qa) + math.dist(b, qb)
    if g._visible_pairs(np.array([qa]), np.array([qb]))[0]:
        return (*head, qa, qb, *tail), extra + math.dist(qa, qb)
    m = da[:, None] + g._dist[np.ix_(va, vb)] + db[None, :]
    k = int(np.argmin(m))
    u, v = int(va[k // len(vb)]), int(vb[k % len(vb)])
    chain = [v]
    while chain[-1] != u:
        chain.append(int(g._pred[u, chain[-1]]))
    mid = tuple((float(g.corners[i, 0]), float(g.corners[i, 1])) for i in reversed(chain))
    return (*head, qa, *mid, qb, *tail), float(m.flat[k]) + extra


GRID = st.tuples(
    st.integers(0, 80).map(lambda v: v * 100), st.integers(0, 60).map(lambda v: v * 100)
)


@settings(max_examples=150, deadline=None)
@given(GRID, GRID)
def test_cached_corner_distances_give_the_full_matrix_answer(a, b):
    """On 100 mm grid points (many equal detours) the cached per-point corner distances give
    exactly the path and length of the full matrix, ties included."""
    g = _graph()
    try:
        want = _reference_walk(g, a, b)
    except (IndexError, ValueError):
        with pytest.raises(WalkError):
            g.walk(a, b)
        return
    path, length = g.walk(a, b)
    from fieldops.core.walking import _dedupe

    assert path == _dedupe(want[0]) and length == want[1]
