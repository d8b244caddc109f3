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


# ------------------------------------------------------------------ distance_matrix without GEOS
#
# distance_matrix decides most straight-line visibility tests in numpy (segment against the
# blocked area's edges, with float-safe orientation signs) and asks GEOS only when the signs
# cannot tell. These tests hold it to the algorithm it replaced: one GEOS test per pair.


class GeosOnlyWalkGraph(WalkGraph):
    """The algorithm before the numpy pre-classification: every visibility test (corner pairs,
    points against corners, pairs of points) is one exact GEOS test per segment."""

    def _pair_states(self, pts, iu, ju):
        return np.full(len(iu), -1, dtype=np.int8)  # nothing decided: GEOS tests every segment


def _same_as_geos(g: WalkGraph, points) -> np.ndarray:
    """Assert the numpy-first answers equal the GEOS-only ones bit for bit; return the matrix."""
    ref = GeosOnlyWalkGraph(g.design, g.clearance_mm)
    assert np.array_equal(g._dist, ref._dist)  # the corner graph
    want = ref.distance_matrix(points)
    got = g.distance_matrix(points)
    assert got.shape == want.shape
    assert np.array_equal(got, want)  # inf where unreachable, same float sums elsewhere
    for key, (q, vis, _) in g._attached.items():  # points joined to the corners they see
        assert q == ref._attached[key][0]
        assert np.array_equal(vis, np.flatnonzero(ref._visible_from(q)))
    return got


def _stops(g: WalkGraph) -> list[tuple[float, float]]:
    fp = g.design.floorplan
    pts = [g.standoff(r.name, f)[:2] for r in fp.racks for f in ("front", "rear")]
    return pts + [g.waypoint(w.name) for w in fp.waypoints]


@pytest.mark.parametrize("hall", ["lab-hall", "gpu-hall"])
def test_distance_matrix_equals_the_geos_only_algorithm_on_the_sample_halls(hall):
    """Every stand-off point and waypoint of the sample halls, plus points off the floor (in a
    rack, in the wall, outside the hall) and 100 mm grid points, which line up with the
    blocked area's edges and with each other (grazing and collinear segments)."""
    from fieldops.adapters.designfile import load_design
    from tests.samples import REPO

    g = WalkGraph(load_design(REPO / "floorplans" / hall).design)
    minx, miny, maxx, maxy = g.walkable.bounds
    rack = g.design.floorplan.racks[0].position
    grid = [
        (x, y)
        for x in np.arange(minx - 400, maxx + 400, 700).round(-2)
        for y in np.arange(miny - 400, maxy + 400, 500).round(-2)
    ]
    pts = _stops(g) + [rack, (minx - 5000, miny - 5000)] + grid
    m = _same_as_geos(g, pts)
    assert np.isfinite(m[: len(_stops(g))]).any()
    # the work is decided in numpy: GEOS is asked about (almost) no point pair
    uniq = np.unique(np.round(np.asarray(pts, float), 3), axis=0)
    snapped = np.array([g._attach(tuple(p))[0] for p in uniq])
    iu, ju = np.triu_indices(len(snapped), k=1)
    states = g._pair_states(snapped, iu, ju)
    assert np.count_nonzero(states < 0) <= len(iu) // 100


def test_distance_matrix_equals_the_geos_only_algorithm_on_a_row_hall():
    """Three rows of the benchmarks' ROW hall (75 racks, the column, the staging area): every
    rack face's stand-off point; only the pairs in one aisle see each other, and numpy
    decides every pair (no GEOS call)."""
    from fieldops.core.model import Design, frozen_map
    from tests.samples_routing import row_floorplan

    fp = row_floorplan(75, column=True, staging=True)
    g = WalkGraph(Design("row", "1", fp, frozen_map({}), (), (), frozen_map({})))
    pts = _stops(g)
    m = _same_as_geos(g, pts)
    # rows face alternate ways: R00 rear and R01 rear share the aisle at y 4200..5400
    a, b = pts.index(g.standoff("R00-00", "rear")[:2]), pts.index(g.standoff("R01-24", "rear")[:2])
    assert m[a, b] == pytest.approx(math.dist(pts[a], pts[b]))
    uniq = np.unique(np.round(np.asarray(pts, float), 3), axis=0)
    iu, ju = np.triu_indices(len(uniq), k=1)
    assert np.count_nonzero(g._pair_states(uniq, iu, ju) < 0) == 0


@pytest.mark.parametrize("chunk", [None, 101])
def test_distance_matrix_equals_the_geos_only_algorithm_on_the_route_hall(monkeypatch, chunk):
    """Also in chunks of 101 pairs (points joined to the corners a few points at a time)."""
    if chunk:
        import fieldops.core.walking as walking

        monkeypatch.setattr(walking, "_PAIR_CHUNK", chunk)
    g = WalkGraph(route_design())
    pts = _stops(g) + [(x * 100, y * 100) for x in range(0, 81, 4) for y in range(0, 61, 3)]
    _same_as_geos(g, pts)


def test_distance_matrix_keeps_ties_and_unreachable_points():
    """The free-standing block with equal north and south detours (see the tie test above),
    points on the block's axis of symmetry, and a wall that cuts the hall in two."""
    block = (Obstacle("B", "cooling", ((4000, 2000), (6000, 2000), (6000, 4000), (4000, 4000))),)
    g = WalkGraph(walk_design(obstacles=block))
    pts = [(2000, 3000), (8000, 3000), (5000, 1000), (5000, 5000), (3700, 3000), (6300, 3000)]
    m = _same_as_geos(g, pts)
    assert m[0, 1] == pytest.approx(2 * math.hypot(1700, 1300) + 2600)
    split = (Obstacle("WALL", "other", ((4000, 0), (6000, 0), (6000, 6000), (4000, 6000))),)
    m = _same_as_geos(WalkGraph(walk_design(obstacles=split)), pts[:2] + [(1000, 1000)])
    assert math.isinf(m[0, 1]) and m[0, 2] == pytest.approx(math.hypot(1000, 2000))


def test_segments_along_an_edge_or_through_a_corner_are_left_to_geos():
    """Walk hall, clearance 600: the block x 4000..6000, y 0..4000 is inflated by 300 and the
    blocked area shrunk by 1 mm, so its top-left corner is (3701, 4299). A segment along the
    top edge's line and one of slope 1 through that corner touch the blocked area without
    crossing it: their orientation signs are 0, so GEOS decides (blocked). A segment above the
    block is clear, one through it crosses two edges: both decided without GEOS."""
    g = WalkGraph(walk_design())
    pts = np.array(
        [[1000, 4299], [8000, 4299], [3000, 3598], [4402, 5000], [3000, 5000], [8000, 5000]],
        dtype=float,
    )
    pts = np.vstack([pts, [[2000, 2000], [8000, 2000]]])
    iu, ju = np.array([0, 2, 4, 6]), np.array([1, 3, 5, 7])
    assert g._pair_states(pts, iu, ju).tolist() == [-1, -1, 1, 0]
    assert g._visible_pairs_fast(pts, iu, ju).tolist() == [False, False, True, False]
    assert g._visible_pairs(pts[iu], pts[ju]).tolist() == [False, False, True, False]


def _rack_hall(racks, obstacles, width, depth):
    from fieldops.core.model import Design, FloorPlan, Rack, RackType, Waypoint, frozen_map

    fp = FloorPlan(
        name="H",
        outline=((0, 0), (width, 0), (width, depth), (0, depth)),
        obstacles=tuple(
            Obstacle(f"O{k}", "column", ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))
            for k, (x, y, w, h) in enumerate(obstacles)
        ),
        waypoints=(Waypoint("DOOR", "door", (300, 300)),),
        rack_types=frozen_map({"r": RackType("r", 600, 1200, 42)}),
        racks=tuple(Rack(f"R{k}", "r", (x, y), rot, "A") for k, (x, y, rot) in enumerate(racks)),
    )
    return Design("h", "1", fp, frozen_map({}), (), (), frozen_map({}))


HALL_RACKS = st.lists(
    st.tuples(
        st.integers(10, 90).map(lambda v: v * 100),
        st.integers(10, 50).map(lambda v: v * 100),
        st.sampled_from([0.0, 90.0, 180.0, 270.0, 30.0, 45.0]),
    ),
    min_size=1,
    max_size=8,
)
HALL_OBSTACLES = st.lists(
    st.tuples(
        st.integers(0, 90).map(lambda v: v * 100),
        st.integers(0, 55).map(lambda v: v * 100),
        st.integers(2, 20).map(lambda v: v * 100),
        st.integers(2, 20).map(lambda v: v * 100),
    ),
    max_size=3,
)
HALL_POINTS = st.lists(
    st.tuples(
        st.integers(0, 100).map(lambda v: v * 100), st.integers(0, 60).map(lambda v: v * 100)
    ),
    min_size=2,
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(HALL_RACKS, HALL_OBSTACLES, HALL_POINTS, st.sampled_from([0, 600, 900]))
@example(
    [(2000, 3000, 0.0), (2600, 3000, 0.0), (5000, 3000, 180.0)], [], [(0, 0), (9000, 3000)], 600
)
def test_distance_matrix_equals_the_geos_only_algorithm_on_random_halls(racks, obs, pts, clear):
    """Random 10 m x 6 m halls: racks (some side by side, some rotated off the axes, some
    overlapping), obstacles (some against the walls), a clearance; stand-off points of every
    rack face and 100 mm grid points (symmetric layouts give equal detours)."""
    try:
        g = WalkGraph(_rack_hall(racks, obs, 10000, 6000), clearance_mm=clear)
    except WalkError:
        assume(False)
    _same_as_geos(g, _stops(g) + list(pts))


def test_the_floor_a_plan_carries_walks_like_the_design_it_came_from():
    """The web's robot bridge walks on the plan's floor (no design files on the server): a
    900 mm robot's legs and stand-offs there equal those on the design itself, rotated
    racks (B1 faces -y) included."""
    from fieldops.core.floor import build_floor, design_of_floor
    from fieldops.core.walking import FootprintWalks, robot_clearance_mm

    design = route_design()
    carried = FootprintWalks(design_of_floor(build_floor(design)))
    direct = FootprintWalks(design)
    width = 900
    for rack, face in (("A1", "front"), ("A1", "rear"), ("B1", "front")):
        assert carried.graph(width).standoff(rack, face) == pytest.approx(
            direct.graph(width).standoff(rack, face), abs=1
        )
    a = direct.graph(width).standoff("A1", "front")[:2]
    b = direct.graph(width).standoff("B1", "front")[:2]
    got, want = carried.leg(width, a, b), direct.leg(width, a, b)
    assert len(got) == len(want) > 2  # around the racks, not straight through
    assert [c for p in got for c in p] == pytest.approx([c for p in want for c in p], abs=1)
    assert carried.graph(width).clearance_mm == robot_clearance_mm(width)


def test_a_floor_without_an_outline_is_refused_by_name():
    from fieldops.core.floor import design_of_floor

    with pytest.raises(ValueError, match="no hall outline"):
        design_of_floor({"hall": "H", "racks": []})
