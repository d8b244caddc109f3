"""Walking on the hall floor: the walkable area, stand-off points at rack faces, shortest paths.

The walkable floor is the hall minus rack footprints, obstacles and keep-outs, shrunk by half
the walker's width (``clearance_mm``): it is the set of places the *centre* of a technician or
robot of that width can be. Shortest paths in such a polygonal area bend only at its reflex
corners, so :class:`WalkGraph` keeps an exact visibility graph over those corners (all pairs
precomputed with scipy) and joins query points to the corners they see. Racks standing side by
side merge into one blocker, so a hall of rows has a few corners per row, not per rack. Each
query point's shortest distances to every corner (through the corners it sees) are cached, so
a query costs one straight-line visibility test and one vector sum over the far point's corners.
Bulk visibility tests (corner pairs, points against corners, the pairs of a distance matrix)
are first decided in numpy against the edges of the blocked area, with float-safe orientation
signs; only segments that touch or run along an edge go to GEOS (:meth:`WalkGraph._pair_states`).

Visibility is tested against the blocked area shrunk by ``TOLERANCE_MM`` (1 mm), so paths may
graze the walkable boundary by at most that much (float corners of rotated racks).
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import nearest_points, unary_union

from fieldops.core.model import FRONT, REAR, Design
from fieldops.core.problems import DesignError, Problem

TOLERANCE_MM = 1.0
# A robot's walking graph keeps its centre this far beyond its half-width from racks,
# obstacles and walls: localisation and path-following error (docs/robots.md)
ROBOT_MARGIN_MM = 100
STANDOFF_MARGIN_MM = 300  # the stand-off point is this far beyond the nearest walkable line
_CHUNK = 250_000  # segments per vectorised visibility test
_PAIR_CHUNK = 1_000_000  # point pairs per numpy pre-classification pass
# relative error bound under which a float orientation sign is trusted: Shewchuk's bound for
# (a - c) x (b - c) in IEEE doubles is (3 + 16 eps) eps ~ 3.3e-16; 1e-12 leaves a wide margin
_ORIENT_REL_ERR = 1e-12

XY = tuple[float, float]


class WalkError(DesignError):
    """Two floor points with no walkable path between them (or an unusable floor)."""


class WalkGraph:
    """The walkable floor of a design and shortest walking paths on it.

    Parameters
    ----------
    design : Design
    clearance_mm : int
        Width of the walker (technician, cart or robot); the floor is shrunk by half of it.

    Examples
    --------
    >>> g = WalkGraph(design)
    >>> x, y, theta = g.standoff("A01", "front")
    >>> path, length_mm = g.walk(g.waypoint("DOOR-1"), (x, y))
    """

    def __init__(self, design: Design, clearance_mm: int = 600):
        if clearance_mm < 0:
            raise ValueError("clearance_mm must be 0 or more")
        self.design = design
        self.clearance_mm = int(clearance_mm)
        self.walkable, hall, self.warnings = walkable_floor(design, self.clearance_mm)
        fp = design.floorplan
        minx, miny, maxx, maxy = hall.bounds
        pad = self.clearance_mm + 1000
        frame = box(minx - pad, miny - pad, maxx + pad, maxy + pad)
        self._blocked = frame.difference(self.walkable).buffer(-TOLERANCE_MM, join_style="mitre")
        shapely.prepare(self._blocked)
        self._edges = _ring_edges(self._blocked)
        self._covers = self.walkable.buffer(TOLERANCE_MM, join_style="mitre")
        shapely.prepare(self._covers)
        self._build_corner_graph()
        self._attached: dict[tuple[float, float], tuple[XY, np.ndarray, np.ndarray]] = {}
        self._reach: dict[tuple[float, float], tuple[np.ndarray, np.ndarray]] = {}
        self._segments: np.ndarray | None = None  # corner segments reused by _visible_from
        self._racks = {r.name: r for r in fp.racks}
        self._waypoints = {w.name: w for w in fp.waypoints}
        self._standoffs: dict[tuple[str, str], tuple[float, float, float]] = {}

    # ------------------------------------------------------------ graph

    def _build_corner_graph(self) -> None:
        corners: list[XY] = []
        for poly in shapely.get_parts(self.walkable):
            poly = (
                shapely.orient_polygons(poly)
                if hasattr(shapely, "orient_polygons")
                else shapely.geometry.polygon.orient(poly, 1.0)
            )
            for ring in (poly.exterior, *poly.interiors):
                pts = list(ring.coords)[:-1]
                n = len(pts)
                for k in range(n):
                    (x0, y0), (x1, y1), (x2, y2) = pts[k - 1], pts[k], pts[(k + 1) % n]
                    cross = (x1 - x0) * (y2 - y1) - (y1 - y0) * (x2 - x1)
                    if cross < 0:  # a right turn with the floor on the left: a reflex corner
                        corners.append((x1, y1))
        corners = sorted(set(corners))
        self.corners = np.array(corners, dtype=float).reshape(-1, 2)
        v = len(corners)
        if v:
            iu, ju = np.triu_indices(v, k=1)
            ok = self._visible_pairs_fast(self.corners, iu, ju)
            iu, ju = iu[ok], ju[ok]
            w = np.hypot(*(self.corners[iu] - self.corners[ju]).T)
            g = csr_matrix((np.maximum(w, 1e-9), (iu, ju)), shape=(v, v))
            self._dist, self._pred = dijkstra(g, directed=False, return_predecessors=True)
        else:
            self._dist = np.zeros((0, 0))
            self._pred = np.zeros((0, 0), dtype=np.int32)

    def _visible_pairs(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """For arrays of points, whether each straight segment a[i]-b[i] stays on the floor."""
        out = np.empty(len(a), dtype=bool)
        for s in range(0, len(a), _CHUNK):
            seg = shapely.linestrings(np.stack([a[s : s + _CHUNK], b[s : s + _CHUNK]], axis=1))
            out[s : s + _CHUNK] = ~shapely.intersects(self._blocked, seg)
        same = np.all(a == b, axis=1)
        if same.any():
            out[same] = shapely.contains_xy(self._covers, a[same, 0], a[same, 1])
        return out

    def _pair_states(self, pts: np.ndarray, iu: np.ndarray, ju: np.ndarray) -> np.ndarray:
        """Decide in numpy, without GEOS, whether segments pts[iu[k]]-pts[ju[k]] stay on the
        floor: 1 (visible), 0 (blocked) or -1 (undecided: let :meth:`_visible_pairs` say).

        A segment whose ends lie outside the blocked area (checked once per point with GEOS)
        meets that closed area exactly when it meets its boundary, the rings' edges. Against
        each edge (longest first) it is *blocked* when the two cross properly, both pairs of
        orientation signs certain and opposite, and *clear* of the edge when the edge's
        bounding box misses the segment's or one segment lies strictly on one side of the
        other's line. A segment clear of every edge is visible. Signs within float error of
        zero (touching, collinear, grazing) leave the segment undecided, so the answers are
        those of the exact GEOS test, which decides the rest.
        """
        state = np.full(len(iu), -1, dtype=np.int8)
        if len(iu) == 0:
            return state
        x, y = pts[:, 0], pts[:, 1]
        outside = ~shapely.intersects_xy(self._blocked, x, y)
        for s in range(0, len(iu), _PAIR_CHUNK):
            i, j = iu[s : s + _PAIR_CHUNK], ju[s : s + _PAIR_CHUNK]
            ax, ay, bx, by = x[i], y[i], x[j], y[j]
            ok = outside[i] & outside[j] & ((ax != bx) | (ay != by))
            if ok.all():
                state[s : s + _PAIR_CHUNK] = _classify_segments(ax, ay, bx, by, self._edges)
            else:
                k = np.flatnonzero(ok)
                state[s + k] = _classify_segments(ax[k], ay[k], bx[k], by[k], self._edges)
        return state

    def _visible_pairs_fast(self, pts: np.ndarray, iu: np.ndarray, ju: np.ndarray) -> np.ndarray:
        """:meth:`_visible_pairs` for index pairs into ``pts``, the same answers, with GEOS
        only for the segments :meth:`_pair_states` cannot decide."""
        state = self._pair_states(pts, iu, ju)
        left = np.flatnonzero(state < 0)
        if len(left):
            state[left] = self._visible_pairs(pts[iu[left]], pts[ju[left]])
        return state.astype(bool)

    def _snap(self, key: XY) -> XY:
        """The point itself, or the nearest walkable point when it is off the floor, or inside
        its 1 mm tolerance band but touching the (shrunk) blocked area, from where every
        segment would touch it."""
        if not self._covers.covers(Point(key)) or shapely.intersects_xy(self._blocked, *key):
            near = nearest_points(self.walkable, Point(key))[0]
            return (near.x, near.y)
        return key

    def _attach(self, p: XY) -> tuple[XY, np.ndarray, np.ndarray]:
        """(snapped point, indices of visible corners, distances to them); cached."""
        key = _key(p)
        hit = self._attached.get(key)
        if hit is not None:
            return hit
        q = self._snap(key)
        if len(self.corners):
            vis = np.flatnonzero(self._visible_from(q))
            d = np.hypot(*(self.corners[vis] - np.array(q)).T)
        else:
            vis, d = np.zeros(0, dtype=int), np.zeros(0)
        hit = (q, vis, d)
        self._attached[key] = hit
        return hit

    def _attach_all(self, keys) -> list[tuple[XY, np.ndarray, np.ndarray]]:
        """:meth:`_attach` for many points, their corner visibility decided in one batch."""
        todo = [k for k in dict.fromkeys(keys) if k not in self._attached]
        v = len(self.corners)
        step = max(1, _PAIR_CHUNK // max(v, 1))  # points per batch: about a chunk of pairs
        for b in range(0, len(todo) if len(todo) > 1 and v else 0, step):
            block = todo[b : b + step]
            snapped = np.array([self._snap(k) for k in block], dtype=float)
            pts = np.vstack([snapped, self.corners])
            iu = np.repeat(np.arange(len(block)), v)
            ju = np.tile(np.arange(v), len(block)) + len(block)
            seen = self._visible_pairs_fast(pts, iu, ju).reshape(len(block), v)
            for k, q, row in zip(block, snapped, seen, strict=True):
                vis = np.flatnonzero(row)
                d = np.hypot(*(self.corners[vis] - q).T)
                self._attached[k] = ((float(q[0]), float(q[1])), vis, d)
        return [self._attach(k) for k in keys]

    def _visible_from(self, q: XY) -> np.ndarray:
        """:meth:`_visible_pairs` from one point to every corner (segments built in place)."""
        segs = self._segments
        if segs is None:
            segs = self._segments = np.empty((len(self.corners), 2, 2))
            segs[:, 1] = self.corners
        segs[:, 0] = q
        out = ~shapely.intersects(self._blocked, shapely.linestrings(segs))
        same = (self.corners[:, 0] == q[0]) & (self.corners[:, 1] == q[1])
        if same.any():
            out[same] = shapely.contains_xy(self._covers, q[0], q[1])
        return out

    def _reach_corners(self, key: tuple[float, float], vis: np.ndarray, d: np.ndarray):
        """For an attached point: the shortest distance to every corner through the corners
        it sees, and the seen corner each of those paths enters by (first in index order on
        ties); cached, so a query costs one vector sum over the far point's corners."""
        hit = self._reach.get(key)
        if hit is None:
            via = d[:, None] + self._dist[vis]
            first = np.argmin(via, axis=0)
            hit = (via[first, np.arange(via.shape[1])], vis[first])
            self._reach[key] = hit
        return hit

    def _sees(self, a: XY, b: XY) -> bool:
        """Whether the straight segment a-b stays on the floor (one segment of
        :meth:`_visible_pairs`)."""
        if a == b:
            return bool(shapely.contains_xy(self._covers, a[0], a[1]))
        return not shapely.intersects(self._blocked, shapely.linestrings((a, b)))

    # ------------------------------------------------------------ public

    def waypoint(self, name: str) -> XY:
        """The floor position of a named waypoint (door, staging, dock)."""
        wp = self._waypoints.get(name)
        if wp is None:
            known = ", ".join(sorted(self._waypoints)) or "none"
            raise KeyError(f"no waypoint '{name}' on the floor plan (known: {known})")
        return (float(wp.position[0]), float(wp.position[1]))

    def standoff(self, rack_name: str, face: str) -> tuple[float, float, float]:
        """Where a walker stands to work on a rack face: ``(x_mm, y_mm, theta_rad)``.

        The point is on the face's centre line, ``clearance/2 + 300`` mm out into the aisle
        (pulled back onto the walkable floor when the aisle is narrower); theta points from
        the stand-off point at the rack face (VDA 5050: counter-clockwise from +x).
        """
        key = (rack_name, face)
        hit = self._standoffs.get(key)
        if hit is not None:
            return hit
        rack = self._racks.get(rack_name)
        if rack is None:
            raise KeyError(f"no rack '{rack_name}' on the floor plan")
        if face not in (FRONT, REAR):
            raise ValueError(f"face must be 'front' or 'rear', not {face!r}")
        rt = self.design.floorplan.rack_types.get(rack.rack_type)
        if rt is None:
            raise KeyError(f"rack '{rack_name}' has unknown rack type '{rack.rack_type}'")
        nx, ny = rack.front_normal()
        if face == REAR:
            nx, ny = -nx, -ny
        want = rack.face_point(rt, face, self.clearance_mm / 2 + STANDOFF_MARGIN_MM)
        x, y = want
        if not self._covers.covers(Point(want)):
            # the aisle is narrower than wanted: the walkable point nearest the face's centre line
            face_pt = rack.face_point(rt, face, 0.0)
            ray = LineString([face_pt, rack.face_point(rt, face, self.clearance_mm / 2 + 3000)])
            on_ray = ray.intersection(self.walkable)
            if not on_ray.is_empty:
                near = nearest_points(on_ray, Point(face_pt))[0]
            else:
                near = nearest_points(self.walkable, Point(want))[0]
                self.warnings.append(
                    f"rack '{rack_name}' {face}: no walkable floor in front of the face; stand-off moved {math.dist(want, (near.x, near.y)):.0f} mm"
                )
            x, y = near.x, near.y
        hit = (round(x, 1), round(y, 1), math.atan2(-ny, -nx))
        self._standoffs[key] = hit
        return hit

    def walk(self, a_xy, b_xy) -> tuple[tuple[tuple[float, float], ...], float]:
        """The shortest walking path from a to b: ``(polyline, length_mm)``.

        Points off the walkable floor (a waypoint in a wall's clearance margin) first step to
        the nearest walkable point. Raises :class:`WalkError` when no path exists.
        """
        a = (float(a_xy[0]), float(a_xy[1]))
        b = (float(b_xy[0]), float(b_xy[1]))
        qa, va, da = self._attach(a)
        qb, vb, db = self._attach(b)
        head = (a,) if qa != a else ()
        tail = (b,) if qb != b else ()
        extra = math.dist(a, qa) + math.dist(b, qb)
        if self._sees(qa, qb):
            pts = _dedupe((*head, qa, qb, *tail))
            return pts, extra + math.dist(qa, qb)
        if len(va) == 0 or len(vb) == 0:
            raise self._unreachable(a, b)
        # through the corners: min over (u seen by a, v seen by b) of da[u] + dist[u, v] + db[v],
        # the same sums and the same tie-break (first u, then first v) as the full matrix
        reach, entry = self._reach_corners(_key(a), va, da)
        total = reach[vb] + db
        k = int(np.argmin(total))
        best = float(total[k])
        if not math.isfinite(best):
            raise self._unreachable(a, b)
        u = int(entry[vb[k]])
        ties = np.flatnonzero(total == best)
        if len(ties) > 1:
            u = int(entry[vb[ties]].min())
            k = int(ties[np.flatnonzero(entry[vb[ties]] == u)[0]])
        v = int(vb[k])
        chain = [v]
        pred = self._pred[u]
        while chain[-1] != u:
            chain.append(int(pred[chain[-1]]))
        chain.reverse()
        mid = tuple((float(self.corners[i, 0]), float(self.corners[i, 1])) for i in chain)
        return _dedupe((*head, qa, *mid, qb, *tail)), best + extra

    def distance(self, a_xy, b_xy) -> float:
        """Walking distance in mm (``inf`` when unreachable)."""
        try:
            return self.walk(a_xy, b_xy)[1]
        except WalkError:
            return math.inf

    def distance_matrix(self, points) -> np.ndarray:
        """Walking mm between every pair of points (``inf`` where no path exists).

        Min-plus products over the precomputed corner distances give every path through
        corners; a pair of points gets its straight line where that is shorter and clear.
        Those visibility tests (every point against every corner, then the pairs) are
        decided in numpy against the blocked area's few edges (:meth:`_pair_states`), with
        GEOS only for segments that touch an edge or run along it, so a hall of 1,000 stops
        costs no more GEOS calls than it has such grazing pairs; the answers are those of
        one exact GEOS test per pair.
        """
        pts = np.asarray(points, dtype=float).reshape(-1, 2)
        n_all = len(pts)
        if n_all == 0:
            return np.zeros((0, 0))
        uniq, inverse = np.unique(np.round(pts, 3), axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        n = len(uniq)
        att = self._attach_all([_key(p) for p in uniq])
        snapped = np.array([q for q, _, _ in att], dtype=float)
        extra = np.hypot(*(uniq - snapped).T)
        v = len(self.corners)
        out = np.full((n, n), np.inf)
        if v:
            # m1[i, c] = shortest from point i to corner c through the corners it sees
            m1 = np.full((n, v), np.inf)
            for i, (_, vis, d) in enumerate(att):
                if len(vis):
                    m1[i] = np.min(d[:, None] + self._dist[vis], axis=0)
            for j, (_, vis, d) in enumerate(att):
                if len(vis):
                    out[:, j] = np.min(m1[:, vis] + d[None, :], axis=1)
        iu, ju = np.triu_indices(n, k=1)
        straight = np.hypot(*(snapped[iu] - snapped[ju]).T)
        need = straight < out[iu, ju] - 1e-6
        iu, ju, straight = iu[need], ju[need], straight[need]
        ok = self._visible_pairs_fast(snapped, iu, ju)
        out[iu[ok], ju[ok]] = straight[ok]
        out = np.minimum(out, out.T)
        np.fill_diagonal(out, 0.0)
        out = out + extra[:, None] + extra[None, :]
        np.fill_diagonal(out, 0.0)
        return out[np.ix_(inverse, inverse)]

    def can_stand(self, xy) -> bool:
        """Whether the centre of a walker of this graph's clearance may be at ``xy``."""
        return bool(self._covers.covers(Point(float(xy[0]), float(xy[1]))))

    def covers(self, polyline, tolerance_mm: float = TOLERANCE_MM) -> bool:
        """Whether a walking polyline stays on the walkable floor (within a tolerance)."""
        line = LineString(polyline) if len(polyline) > 1 else Point(polyline[0])
        if tolerance_mm == TOLERANCE_MM:
            return bool(self._covers.covers(line))  # built once, prepared
        return bool(self.walkable.buffer(tolerance_mm, join_style="mitre").covers(line))

    def _unreachable(self, a: XY, b: XY) -> WalkError:
        return WalkError(
            [
                Problem(
                    "<floor>",
                    0,
                    "walk",
                    f"no walkable path from ({a[0]:.0f}, {a[1]:.0f}) to ({b[0]:.0f}, {b[1]:.0f}) with a {self.clearance_mm} mm clearance",
                )
            ]
        )


def walkable_floor(design: Design, clearance_mm: int):
    """``(walkable, hall, warnings)``: where the centre of a walker ``clearance_mm`` wide can
    be — the hall minus rack footprints and obstacles, shrunk by half the clearance. Raises
    :class:`WalkError` when the outline is unusable or nothing is left."""
    warnings: list[str] = []
    fp = design.floorplan
    half = clearance_mm / 2
    hall = Polygon(fp.outline) if len(fp.outline) >= 3 else Polygon()
    if hall.is_empty or not hall.is_valid or hall.area <= 0:
        reason = shapely.is_valid_reason(hall) if not hall.is_empty else "fewer than 3 points"
        raise WalkError(
            [
                Problem.at(
                    fp.source,
                    f"hall outline is not a simple polygon ({reason}); cannot walk on it",
                    path="outline",
                )
            ]
        )
    blockers = []
    for rack in fp.racks:
        rt = fp.rack_types.get(rack.rack_type)
        if rt is not None:
            blockers.append(Polygon(rack.footprint(rt)))
    for obs in fp.obstacles:
        poly = Polygon(obs.polygon) if len(obs.polygon) >= 3 else Polygon()
        if not poly.is_valid:
            warnings.append(
                f"obstacle '{obs.name}' is not a simple polygon; using its repaired shape"
            )
            poly = shapely.make_valid(poly)
        if poly.is_empty or poly.area <= 0:
            warnings.append(f"obstacle '{obs.name}' has no area; ignored for walking")
            continue
        blockers.append(poly)
    inflated = (
        unary_union([b.buffer(half, join_style="mitre") for b in blockers])
        if blockers
        else Polygon()
    )
    inner = hall.buffer(-half, join_style="mitre") if half else hall
    walkable = inner.difference(inflated) if not inflated.is_empty else inner
    if walkable.is_empty:
        raise WalkError(
            [
                Problem.at(
                    fp.source,
                    f"no walkable floor left with a {clearance_mm} mm clearance",
                    path="outline",
                )
            ]
        )
    return walkable, hall, warnings


def robot_clearance_mm(width_mm: int, margin_mm: int = ROBOT_MARGIN_MM) -> int:
    """The walking-graph clearance of a robot ``width_mm`` wide: its half-width plus
    ``margin_mm`` on each side (:class:`WalkGraph` shrinks the floor by half the clearance).

    >>> robot_clearance_mm(900)
    1100
    """
    return int(width_mm) + 2 * int(margin_mm)


class FootprintWalks:
    """Walking graphs of one design per robot footprint, each built once on first use.

    >>> walks = FootprintWalks(design)
    >>> walks.leg(900, (1200, 300), walks.graph(900).standoff("A01", "front")[:2])
    """

    def __init__(self, design: Design, margin_mm: int = ROBOT_MARGIN_MM):
        self.design = design
        self.margin_mm = int(margin_mm)
        self._graphs: dict[int, WalkGraph | WalkError] = {}

    def graph(self, width_mm: int) -> WalkGraph:
        """The graph for a robot ``width_mm`` wide; raises :class:`WalkError` when no floor is
        left for it."""
        clearance = robot_clearance_mm(width_mm, self.margin_mm)
        hit = self._graphs.get(clearance)
        if hit is None:
            try:
                hit = WalkGraph(self.design, clearance_mm=clearance)
            except WalkError as exc:
                hit = exc
            self._graphs[clearance] = hit
        if isinstance(hit, WalkError):
            raise hit
        return hit

    def leg(self, width_mm: int, a_xy, b_xy):
        """:func:`robot_leg` on the graph of a robot ``width_mm`` wide (None: no path, or no
        floor at all for it)."""
        try:
            graph = self.graph(width_mm)
        except WalkError:
            return None
        return robot_leg(graph, a_xy, b_xy)


def robot_leg(graph: WalkGraph, a_xy, b_xy) -> tuple[tuple[float, float], ...] | None:
    """The polyline a robot travels from ``a`` (where it stands) to the stop ``b`` on its own
    walking graph, or None when there is none: ``b`` is closer to a rack, obstacle or wall
    than the robot's clearance allows, or no corridor is wide enough. Never a straight line
    through what is in the way. (The one place a robot leg is computed: the plan's own
    per-step paths can replace it.)
    """
    if not graph.can_stand(b_xy):
        return None
    try:
        return graph.walk(a_xy, b_xy)[0]
    except WalkError:
        return None


def _ring_edges(geom) -> np.ndarray:
    """The edges of every ring of a (multi)polygon as rows ``x0, y0, x1, y1, minx, miny, maxx,
    maxy``, longest first (long edges block the most segments), zero-length edges dropped."""
    rows = []
    for ring in shapely.get_rings(shapely.get_parts(geom)):
        c = shapely.get_coordinates(ring)
        if len(c) > 1:
            rows.append(np.hstack([c[:-1], c[1:]]))
    if not rows:
        return np.zeros((0, 8))
    e = np.vstack(rows)
    e = e[np.any(e[:, :2] != e[:, 2:], axis=1)]
    box_ = np.hstack([np.minimum(e[:, :2], e[:, 2:]), np.maximum(e[:, :2], e[:, 2:])])
    order = np.argsort(-np.hypot(e[:, 2] - e[:, 0], e[:, 3] - e[:, 1]), kind="stable")
    return np.hstack([e, box_])[order]


def _orient(px, py, qx, qy, rx, ry) -> np.ndarray:
    """Sign of the orientation of triangle p, q, r: +1, -1, or 0 where float rounding could
    have changed it (a conservative bound, so the nonzero signs are exact)."""
    left = (px - rx) * (qy - ry)
    right = (py - ry) * (qx - rx)
    det = left - right
    bound = _ORIENT_REL_ERR * (np.abs(left) + np.abs(right))
    return np.where(det > bound, 1, 0) - np.where(det < -bound, 1, 0)


def _classify_segments(ax, ay, bx, by, edges: np.ndarray) -> np.ndarray:
    """For segments (ax, ay)-(bx, by) with both ends outside a closed polygonal area whose
    boundary edges are ``edges`` (see :func:`_ring_edges`): 1 when the segment certainly misses
    every edge, 0 when it certainly crosses one, -1 when float precision cannot tell.

    Edges are taken one at a time against the segments still open (contiguous arrays,
    compacted when an edge blocks some), so a segment costs a few comparisons per edge until
    the first edge that blocks it.
    """
    n = len(ax)
    state = np.ones(n, dtype=np.int8)
    if n == 0 or len(edges) == 0:
        return state
    lox, hix = np.minimum(ax, bx), np.maximum(ax, bx)
    loy, hiy = np.minimum(ay, by), np.maximum(ay, by)
    # edges no segment's bounding box can reach (the frame around the hall) are skipped
    reach = (
        (edges[:, 4] <= hix.max())
        & (edges[:, 6] >= lox.min())
        & (edges[:, 5] <= hiy.max())
        & (edges[:, 7] >= loy.min())
    )
    idx = np.arange(n)
    for x0, y0, x1, y1, ex0, ey0, ex1, ey1 in edges[reach]:
        if len(idx) == 0:
            break
        near = (lox <= ex1) & (hix >= ex0) & (loy <= ey1) & (hiy >= ey0)
        k = np.flatnonzero(near)
        if len(k) == 0:
            continue
        kax, kay, kbx, kby = ax[k], ay[k], bx[k], by[k]
        s12 = _orient(kax, kay, kbx, kby, x0, y0) * _orient(kax, kay, kbx, kby, x1, y1)
        s34 = _orient(x0, y0, x1, y1, kax, kay) * _orient(x0, y0, x1, y1, kbx, kby)
        cross = (s12 == -1) & (s34 == -1)
        unsure = ~cross & (s12 != 1) & (s34 != 1)
        state[idx[k[unsure]]] = -1
        if cross.any():
            state[idx[k[cross]]] = 0
            keep = np.ones(len(idx), dtype=bool)
            keep[k[cross]] = False
            idx, ax, ay, bx, by = idx[keep], ax[keep], ay[keep], bx[keep], by[keep]
            lox, loy, hix, hiy = lox[keep], loy[keep], hix[keep], hiy[keep]
    return state


def _key(p) -> tuple[float, float]:
    return (round(float(p[0]), 3), round(float(p[1]), 3))


def _dedupe(pts) -> tuple[tuple[float, float], ...]:
    out: list[tuple[float, float]] = []
    for p in pts:
        p = (float(p[0]), float(p[1]))
        if not out or math.dist(out[-1], p) > 1e-6:
            out.append(p)
    if len(out) == 1:
        out.append(out[0])
    return tuple(out)
