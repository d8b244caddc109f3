"""Tray routing and cable lengths: ``build_cable_plan(design) -> CablePlan``. Pure.

The model (docs/cables.md has the worked example):

* **Ports** (NetBox: ``face`` is the rack face the device's own front is on). A port is on
  its device's front or rear (:func:`port_side`): data ports (interfaces, console ports) on the
  front, unless the type's airflow is ``front-to-rear`` (servers: cold air in at the bezel,
  NICs at the exhaust); front ports and power outlets on the front; rear ports and power
  ports on the rear. The device's front is on rack face ``face``, its rear on the other one.
  A device's ``ports_face`` names the rack face of its data ports outright. Zero-U devices
  (PDUs): the rack's rear, at mid-height. A port's height is the middle of its
  device: ``RACK_BASE_MM + (position - 1 + u_height / 2) * 44.45`` mm; its floor point is the
  centre of its rack face.
* **In-rack / rack-to-rack path** (same rack, or racks standing side by side): along the face
  to the far rack's face, through the rack depth when the faces differ (the front↔rear
  transition), then up or down to the far port.
* **Tray path**: up the face to the rack top, ``depth / 2`` in to the rack's cable exit (top
  centre), up to a drop point on a tray of the media's class (the nearest point of a tray that
  passes over the rack or within ``drop_reach_mm`` of its footprint), the shortest path over
  that class's tray network (junctions where trays meet or cross, vertical steps between tray
  elevations), and the same down into the far rack. The shorter of the two paths wins.
* **Length** = route + ``bends x (pi / 2) x bend radius`` (a quarter turn per change of
  direction) + slack per end x 2, rounded up to whole mm, then up to the next orderable length.

Routing runs one multi-source Dijkstra per media class over the unique source racks
(scipy.sparse.csgraph, in chunks of sources), extracts every rack pair's tray path, tray names
and bends at once with numpy, and sizes all cables as arrays (lengths, bends, orderable lengths
by ``searchsorted``); ports resolve per device and IDs hash in bulk. Only the run objects are
built one by one, sharing their point tuples.

Why this module is long: it is one vectorised pipeline, and its stages (``_resolve``,
``_batch_paths``, ``_build_runs``) hand each other a dozen parallel numpy arrays whose
layout (rack indexes, pair tables, path offsets) is private to it; cut apart, those layouts
would become a module interface. The tray graph and the port geometry are the parts that
could stand alone, and move out when the pipeline is next reworked for campus scale.
"""

from __future__ import annotations

import bisect
import dataclasses
import gc
import math
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Polygon
from shapely.ops import nearest_points

from fieldops.core.cableplan import (
    CableEnd,
    CablePlan,
    CableRun,
    Diversion,
    Point3,
    ReachProblem,
)
from fieldops.core.capacity import TrayFill, vertex_positions
from fieldops.core.feeds import OVERHEAD_SOURCE_MM
from fieldops.core.labels import _clean, assign_cable_ids
from fieldops.core.model import FRONT, OVERHEAD, REAR, U_MM, Design, Media

RACK_BASE_MM = 100  # bottom of U1 above the floor (plinth, castors)
DROP_REACH_MM = 600  # a tray this close to a rack's footprint can drop into it
ADJACENT_GAP_MM = 50  # racks this close side by side count as adjacent
BEND_MIN_DEG = 5.0  # direction changes below this are not bends
POWER_KINDS = ("power-port", "power-outlet")


@dataclass(frozen=True)
class RoutingOptions:
    drop_reach_mm: int = DROP_REACH_MM
    adjacent_gap_mm: int = ADJACENT_GAP_MM


def bend_allowance_mm(media: Media) -> float:
    """Extra length per change of direction: a quarter turn at the minimum bend radius."""
    return math.pi / 2 * media.bend_radius_mm


def count_bends(points) -> int:
    """Changes of direction (over ``BEND_MIN_DEG``) along a 3-D polyline."""
    cos_min = math.cos(math.radians(BEND_MIN_DEG))
    bends = 0
    prev = None
    for k in range(1, len(points)):
        p, q = points[k - 1], points[k]
        d = (q[0] - p[0], q[1] - p[1], q[2] - p[2])
        n = math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
        if n < 1e-6:
            continue
        d = (d[0] / n, d[1] / n, d[2] / n)
        if prev is not None and prev[0] * d[0] + prev[1] * d[1] + prev[2] * d[2] < cos_min:
            bends += 1
        prev = d
    return bends


def polyline_length(points) -> float:
    return sum(math.dist(points[k - 1], points[k]) for k in range(1, len(points)))


def orderable(media: Media, length_mm: float) -> int:
    """The next orderable length at or above ``length_mm`` (0 when none is long enough)."""
    k = bisect.bisect_left(media.lengths_mm, length_mm)
    return media.lengths_mm[k] if k < len(media.lengths_mm) else 0


def effective_reach(media: Media) -> int:
    return media.reach_mm or (media.lengths_mm[-1] if media.lengths_mm else 0)


# ---------------------------------------------------------------- racks and ports


class _RackGeo:
    __slots__ = (
        "name",
        "index",
        "cx",
        "cy",
        "top",
        "depth",
        "faces",
        "location_id",
        "label_prefix",
        "rotation",
        "axis",
        "normal",
        "width",
        "footprint",
        "dense",
        "tops",
    )

    def __init__(self, index, rack, rt, grid):
        self.name = rack.name
        self.index = index
        self.cx, self.cy = float(rack.position[0]), float(rack.position[1])
        self.top = float(rt.outer_height_mm)
        self.depth = float(rt.depth_mm)
        self.width = float(rt.width_mm)
        self.faces = {f: _r2(rack.face_point(rt, f)) for f in (FRONT, REAR)}
        self.location_id = grid.location_id(rack.position[0], rack.position[1])
        self.label_prefix = f"{_clean(self.location_id)} {_clean(rack.name)}"
        self.rotation = rack.rotation_deg % 360.0
        self.normal = rack.front_normal()
        self.axis = (-self.normal[1], self.normal[0])
        self.footprint = Polygon(rack.footprint(rt))
        self.dense = -1  # index in name order (set by the planner)
        self.tops = {f: (p[0], p[1], self.top) for f, p in self.faces.items()}


def _r2(p) -> tuple[float, float]:
    return (round(p[0], 1), round(p[1], 1))


def _opposite(face: str) -> str:
    return REAR if face == FRONT else FRONT


DATA = "data"  # a port side decided by the device type (interfaces, console ports)
FRONT_KINDS = ("front-port", "power-outlet")  # on the device's own front
REAR_KINDS = ("rear-port", "power-port", "fluid-port")  # on the device's own rear (QDs too)
_SIDE_INDEX = {DATA: 0, FRONT: 1, REAR: 2}  # per-device port point slots in ``_resolve``


def port_side(port_kind: str) -> str:
    """Which side of its device a kind of port is on: ``front``, ``rear``, or ``data`` for
    interfaces and console ports (their side comes from the type, :func:`data_side`)."""
    if port_kind in FRONT_KINDS:
        return FRONT
    if port_kind in REAR_KINDS:
        return REAR
    return DATA


def data_side(device_type) -> str:
    """The device side of its data ports: its front, unless its airflow is ``front-to-rear``
    (a server: cold air in at the bezel, the NICs at the exhaust, the rear)."""
    return REAR if device_type.airflow == "front-to-rear" else FRONT


def port_face(device, device_type, port) -> str:
    """The rack face a port is on (see the module docstring).

    >>> from fieldops.core.model import Device, DeviceType, PortTemplate
    >>> leaf = DeviceType("Gen", "Leaf", "leaf", ports=(PortTemplate("swp1", "interface"),))
    >>> port_face(Device("leaf-b", "leaf", "B03", 40, "rear"), leaf, leaf.ports[0])
    'rear'
    """
    return _face_for(device, device_type, port_side(port.kind))


def _face_for(device, device_type, side: str) -> str:
    """:func:`port_face` for a port on ``side`` (``front``, ``rear`` or ``data``) of a device."""
    if device_type.u_height == 0:
        return REAR
    if side == DATA:
        if device.ports_face:
            return device.ports_face
        side = data_side(device_type)
    return device.face if side == FRONT else _opposite(device.face)


def port_height_mm(device, device_type, rack_top_mm: float) -> float:
    """Height of a device's ports above the floor: mid-device, or mid-rack for zero-U.

    A device with ``mounting: overhead`` (a busway tap-off box) hangs above the rack: its
    whips run from there, so a length taken from mid-rack would order them short.
    """
    if device_type.u_height == 0 or device.position is None:
        if device.mounting == OVERHEAD:
            return rack_top_mm + OVERHEAD_SOURCE_MM
        return rack_top_mm / 2
    z = RACK_BASE_MM + (device.position - 1 + device_type.u_height / 2) * U_MM
    return min(max(z, 0.0), rack_top_mm)


# ---------------------------------------------------------------- tray graph


class TrayGraph:
    """The trays of one media class as a graph: tray nodes, junctions, rack drops.

    Each rack has an *up* node (its cable exit, edges out to its drop points) and a *down*
    node (edges in from its drop points), so no route passes down through a rack and back up.
    """

    def __init__(self, media_class: str, trays, racks: list[_RackGeo], options: RoutingOptions):
        self.media_class = media_class
        self.trays = sorted(
            (t for t in trays if media_class in t.media_classes), key=lambda t: t.name
        )
        self.racks = racks
        self.warnings: list[str] = []
        self._key_index: dict[tuple, int] = {}
        self.coords: list[Point3] = []
        self._edges: dict[tuple[int, int], tuple[float, str]] = {}
        self._span: dict[tuple[int, int], tuple[int, float, float]] = {}  # edge -> tray, from, to
        self.drops: dict[str, list[str]] = {}  # rack name -> tray names it can drop from
        self.up: dict[str, int] = {}
        self.down: dict[str, int] = {}
        self._build(options)

    def _node(self, key: tuple, xyz: Point3) -> int:
        i = self._key_index.get(key)
        if i is None:
            i = len(self.coords)
            self._key_index[key] = i
            self.coords.append(xyz)
        return i

    def _edge(
        self, i: int, j: int, w: float, tray: str, both: bool = True, span: tuple | None = None
    ) -> None:
        """An edge (both ways unless ``both=False``); ``span``: (tray index, from, to) along
        the tray, for tray edges (fill is counted on it)."""
        if i == j:
            return
        for a, b in ((i, j), (j, i)) if both else ((i, j),):
            old = self._edges.get((a, b))
            if old is None or w < old[0]:
                self._edges[(a, b)] = (w, tray)
                if span is None:
                    self._span.pop((a, b), None)
                else:
                    self._span[(a, b)] = span

    def _tray_node(self, t, line, pos: float) -> int:
        p = line.interpolate(pos)
        x, y = round(p.x, 1), round(p.y, 1)
        return self._node(("t", x, y, t.elevation_mm), (x, y, float(t.elevation_mm)))

    def _build(self, options: RoutingOptions) -> None:
        trays = [t for t in self.trays if len(set(t.points)) >= 2]
        for t in self.trays:
            if len(set(t.points)) < 2:
                self.warnings.append(f"tray '{t.name}' has zero length; ignored")
        lines = [LineString(t.points) for t in trays]
        splits: list[set[float]] = []
        for line in lines:
            splits.append(set(vertex_positions(list(line.coords))))
        junctions: list[tuple[int, float, int, float, float]] = []  # (i, pos_i, j, pos_j, gap)
        if lines:
            tree = shapely.STRtree(lines)
            widths = max(t.width_mm for t in trays)
            qi, qj = tree.query(lines, predicate="dwithin", distance=widths)
            for i, j in zip(qi.tolist(), qj.tolist(), strict=True):
                if i >= j:
                    continue
                li, lj = lines[i], lines[j]
                tol = (trays[i].width_mm + trays[j].width_mm) / 2
                pts = _points_of(li.intersection(lj))
                if pts:
                    for p in pts:
                        junctions.append((i, li.project(p), j, lj.project(p), 0.0))
                elif li.distance(lj) <= tol:
                    pi, pj = nearest_points(li, lj)
                    junctions.append((i, li.project(pi), j, lj.project(pj), pi.distance(pj)))
        for i, pi, j, pj, _ in junctions:
            splits[i].add(pi)
            splits[j].add(pj)
        # rack drops
        drops: list[tuple[int, int, float]] = []  # (rack index, tray index, pos)
        if lines and self.racks:
            tree = shapely.STRtree(lines)
            feet = [r.footprint for r in self.racks]
            ri, ti = tree.query(feet, predicate="dwithin", distance=options.drop_reach_mm)
            if len(ri):
                centres = shapely.points(
                    [(self.racks[r].cx, self.racks[r].cy) for r in ri.tolist()]
                )
                pos = shapely.line_locate_point(np.array(lines, dtype=object)[ti], centres)
                for r, t, p in zip(ri.tolist(), ti.tolist(), pos.tolist(), strict=True):
                    drops.append((r, t, p))
                    splits[t].add(p)
        # tray edges between consecutive split points
        for k, (t, line, cuts) in enumerate(zip(trays, lines, splits, strict=True)):
            order = sorted(cuts)
            prev_node, prev_pos = None, None
            for pos in order:
                node = self._tray_node(t, line, pos)
                if prev_node is not None:
                    self._edge(prev_node, node, pos - prev_pos, t.name, span=(k, prev_pos, pos))
                prev_node, prev_pos = node, pos
        for i, pi, j, pj, gap in junctions:
            a = self._tray_node(trays[i], lines[i], pi)
            b = self._tray_node(trays[j], lines[j], pj)
            self._edge(a, b, gap + abs(trays[i].elevation_mm - trays[j].elevation_mm), "")
        for r, t, pos in sorted(drops):
            rack, tray = self.racks[r], trays[t]
            d = self._tray_node(tray, lines[t], pos)
            up = self._node(("up", rack.name), (rack.cx, rack.cy, rack.top))
            down = self._node(("down", rack.name), (rack.cx, rack.cy, rack.top))
            self.up[rack.name], self.down[rack.name] = up, down
            dx, dy, _ = self.coords[d]
            w = abs(tray.elevation_mm - rack.top) + math.hypot(dx - rack.cx, dy - rack.cy)
            self._edge(up, d, w, "", both=False)
            self._edge(d, down, w, "", both=False)
            names = self.drops.setdefault(rack.name, [])
            if tray.name not in names:
                names.append(tray.name)
        n = len(self.coords)
        if self._edges:
            keys = np.array(list(self._edges.keys()), dtype=np.int64)
            w = np.array([max(v[0], 1e-9) for v in self._edges.values()])
            self.matrix = csr_matrix((w, (keys[:, 0], keys[:, 1])), shape=(n, n))
        else:
            self.matrix = csr_matrix((n, n))
        self.tray_of = {k: v[1] for k, v in self._edges.items()}
        # the same as arrays, for extracting many paths at once (see _batch_paths)
        self.coords_array = np.array(self.coords, dtype=float).reshape(-1, 3)
        self.tray_names = [t.name for t in trays]
        self.tray_objs = trays  # what edge_span_tray indexes (fill is counted per tray object)
        tray_index = {name: k for k, name in enumerate(self.tray_names)}
        if self._edges:
            flat = keys[:, 0] * n + keys[:, 1]
            order = np.argsort(flat)
            self.edge_keys = flat[order]
            tid = np.array([tray_index.get(v[1], -1) for v in self._edges.values()], dtype=np.int64)
            self.edge_tray = tid[order]
            # the same edges as arrays, in edge_keys order: ends, weight and the tray span
            self.edge_i, self.edge_j = keys[order, 0], keys[order, 1]
            self.edge_w = w[order]
            none = (-1, 0.0, 0.0)
            spans = [self._span.get(k, none) for k in self._edges]
            self.edge_span_tray = np.array([s[0] for s in spans], dtype=np.int64)[order]
            self.edge_lo = np.array([s[1] for s in spans], dtype=float)[order]
            self.edge_hi = np.array([s[2] for s in spans], dtype=float)[order]
        else:
            self.edge_keys = np.zeros(0, dtype=np.int64)
            self.edge_tray = np.zeros(0, dtype=np.int64)
            self.edge_i = self.edge_j = np.zeros(0, dtype=np.int64)
            self.edge_w = self.edge_lo = self.edge_hi = np.zeros(0)
            self.edge_span_tray = np.zeros(0, dtype=np.int64)
        # trays that join no other tray of the class
        if len(trays) > 1:
            joined = {i for i, *_ in junctions} | {j for _, _, j, *_ in junctions}
            for k, t in enumerate(trays):
                if k not in joined:
                    self.warnings.append(
                        f"tray '{t.name}' ({self.media_class}) meets no other {self.media_class} tray; only racks under it can use it"
                    )

    def shortest(self, sources: list[str], matrix=None):
        """Distances and predecessors from the up nodes of ``sources`` (one Dijkstra pass),
        over ``matrix`` (default: every edge; see :meth:`without`)."""
        idx = [self.up[s] for s in sources]
        if not idx:
            return np.zeros((0, len(self.coords))), np.zeros((0, len(self.coords)), dtype=np.int32)
        m = self.matrix if matrix is None else matrix
        return dijkstra(m, directed=True, indices=idx, return_predecessors=True)

    def without(self, drop: np.ndarray):
        """The graph's matrix without the edges where ``drop`` (in edge_keys order) is true:
        they weigh infinity, which Dijkstra never relaxes (cheaper than rebuilding the
        matrix; its rows hold the edges in edge_keys order)."""
        n = len(self.coords)
        indptr = np.searchsorted(self.edge_i, np.arange(n + 1))
        weights = np.where(drop, np.inf, self.edge_w)
        return csr_matrix((weights, self.edge_j, indptr), shape=(n, n))

    def path(
        self, pred_row: np.ndarray, src: int, dst: int
    ) -> tuple[list[Point3], tuple[str, ...]]:
        """Polyline (exit to exit, with the vertical corner above each exit) and tray names."""
        chain = [dst]
        while chain[-1] != src:
            chain.append(int(pred_row[chain[-1]]))
        chain.reverse()
        c = self.coords
        pts: list[Point3] = [c[src]]
        names: list[str] = []
        last = len(chain) - 1
        for k in range(1, len(chain)):
            a, b = chain[k - 1], chain[k]
            name = self.tray_of.get((a, b), "")
            if name and (not names or names[-1] != name):
                names.append(name)
            if k == 1:  # up from the exit to the tray's height, across to the drop point
                above = (c[a][0], c[a][1], c[b][2])
                if above != c[a] and above != c[b]:
                    pts.append(above)
            if k == last:  # from the drop point across above the far exit, then down
                above = (c[b][0], c[b][1], c[a][2])
                if above != c[a] and above != c[b]:
                    pts.append(above)
            pts.append(c[b])
        return pts, tuple(names)


def _points_of(geom) -> list:
    if geom.is_empty:
        return []
    kind = geom.geom_type
    if kind == "Point":
        return [geom]
    if kind == "LineString":
        return [shapely.Point(geom.coords[0]), shapely.Point(geom.coords[-1])]
    out = []
    for part in getattr(geom, "geoms", []):
        out.extend(_points_of(part))
    return out


def _dedupe3(pts) -> list[Point3]:
    out: list[Point3] = []
    for p in pts:
        if (
            not out
            or abs(out[-1][0] - p[0]) + abs(out[-1][1] - p[1]) + abs(out[-1][2] - p[2]) > 1e-6
        ):
            out.append(p)
    return out


# ---------------------------------------------------------------- tray paths in bulk

_SOURCE_CHUNK = 256  # Dijkstra sources per pass (bounds the distance/predecessor matrices)


def _batch_paths(
    g: TrayGraph,
    pred: np.ndarray,
    rows: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    with_edges: bool = False,
):
    """Tray paths for many (source row, up node, down node) triples at once.

    Returns ``(polylines, tray names, bends, plain)`` per pair, exactly as :meth:`TrayGraph.path`
    and :func:`count_bends` give them one by one: the predecessor chains are walked, the tray
    names looked up and the bends counted with numpy; only the polyline tuples are built per
    pair (from the graph's shared coordinate tuples). ``with_edges`` adds ``(edges, cut)``:
    the tray edges of pair p (indexes into ``g.edge_keys``) are ``edges[cut[p]:cut[p + 1]]``.
    """
    p_count = len(src)
    if p_count == 0:
        none = np.zeros(0, dtype=np.int64)
        empty = ([], [], none, [])
        return (*empty, none, np.zeros(1, dtype=np.int64)) if with_edges else empty
    # walk every chain back to its source at once: back[k, p] = pred^k(dst[p]) (then src)
    cur = dst.astype(np.int64)
    back = [cur]
    active = np.flatnonzero(cur != src)
    for _ in range(len(g.coords) + 1):
        if not len(active):
            break
        cur = cur.copy()
        cur[active] = pred[rows[active], cur[active]]
        back.append(cur)
        active = active[cur[active] != src[active]]
    chains = np.stack(back)
    m = (chains != src[None, :]).sum(axis=0)  # edges per path
    # forward node lists, flattened pair after pair
    n_nodes = m + 1
    node_off = np.concatenate(([0], np.cumsum(n_nodes)[:-1]))
    pair_of = np.repeat(np.arange(p_count), n_nodes)
    k = np.arange(int(n_nodes.sum())) - node_off[pair_of]
    nodes = chains[m[pair_of] - k, pair_of]
    # tray names along each path: edge -> tray, empty joins/drops skipped, repeats merged
    same = pair_of[1:] == pair_of[:-1]
    ea, eb = nodes[:-1][same], nodes[1:][same]
    e_pair = pair_of[:-1][same]
    key = ea * len(g.coords) + eb
    at = np.searchsorted(g.edge_keys, key)
    tid = g.edge_tray[np.minimum(at, len(g.edge_keys) - 1)]
    named = tid >= 0
    e_pair, tid = e_pair[named], tid[named]
    if with_edges:
        edges = at[named]
        edge_cut = np.searchsorted(e_pair, np.arange(p_count + 1))
    keep = np.ones(len(tid), dtype=bool)
    keep[1:] = (e_pair[1:] != e_pair[:-1]) | (tid[1:] != tid[:-1])
    e_pair, tid = e_pair[keep], tid[keep]
    name_cut = np.searchsorted(e_pair, np.arange(p_count + 1)).tolist()
    tid_list = tid.tolist()
    # bends: points [n0, above n0 at the tray height, n1 .. n(m-1), above n(m), n(m)]; the
    # "above" points that coincide with a neighbour are zero-length and do not count
    xyz = g.coords_array
    pt_count = m + 3
    pt_off = np.concatenate(([0], np.cumsum(pt_count)[:-1]))
    pts = np.empty((int(pt_count.sum()), 3))
    pos = pt_off[pair_of] + k + (k >= 1) + (k == m[pair_of])
    pts[pos] = xyz[nodes]
    first = nodes[node_off]
    second = nodes[node_off + 1]
    last = nodes[node_off + m]
    before = nodes[node_off + m - 1]
    pts[pt_off + 1, 0:2] = xyz[first, 0:2]
    pts[pt_off + 1, 2] = xyz[second, 2]
    pts[pt_off + m + 1, 0:2] = xyz[last, 0:2]
    pts[pt_off + m + 1, 2] = xyz[before, 2]
    bends = _bends_flat(pts, np.repeat(np.arange(p_count), pt_count), p_count)
    # polylines, as TrayGraph.path builds them: the graph's shared coordinate tuples, plus the
    # point above the first node at the tray height (unless it coincides with a neighbour)
    # and the point above the last node at the previous height (likewise)
    x0, x1 = xyz[first], xyz[second]
    xp, xe = xyz[before], xyz[last]
    same1 = (x1[:, 0] == x0[:, 0]) & (x1[:, 1] == x0[:, 1])
    same2 = (xp[:, 0] == xe[:, 0]) & (xp[:, 1] == xe[:, 1])
    ins1 = ~((x1[:, 2] == x0[:, 2]) | same1)
    ins2 = ~((xp[:, 2] == xe[:, 2]) | same2)
    # the path leaves and reaches the exits straight up: its second point is above the first
    plain = (~(x1[:, 2] == x0[:, 2]) | same1) & (~(xp[:, 2] == xe[:, 2]) | same2)
    c = g.coords
    names = g.tray_names
    node_list = nodes.tolist()
    cut = np.append(node_off, len(nodes)).tolist()
    ins1_l, ins2_l = ins1.tolist(), ins2.tolist()
    polylines, tray_names = [], []
    get = c.__getitem__
    for p in range(p_count):
        seq = list(map(get, node_list[cut[p] : cut[p + 1]]))
        c0, c1 = seq[0], seq[1]
        if ins2_l[p]:
            end, prev = seq[-1], seq[-2]
            seq.insert(len(seq) - 1, (end[0], end[1], prev[2]))
        if ins1_l[p]:
            seq.insert(1, (c0[0], c0[1], c1[2]))
        polylines.append(tuple(seq))
        s, e = name_cut[p], name_cut[p + 1]
        tray_names.append(tuple([names[i] for i in tid_list[s:e]]) if e > s else ())
    if (m < 2).any():  # not built by TrayGraph (exit -> drop -> exit), but keep path()'s rule
        for p in np.flatnonzero(m < 2).tolist():
            pts = polylines[p]
            plain[p] = pts[1][:2] == pts[0][:2] and pts[-2][:2] == pts[-1][:2]
    plain = plain.tolist()
    if with_edges:
        return polylines, tray_names, bends, plain, edges, edge_cut
    return polylines, tray_names, bends, plain


def _rack_nodes(g: TrayGraph, geos) -> tuple[np.ndarray, np.ndarray]:
    """Each rack's up and down node in ``g`` (-1: no tray of the class reaches it)."""
    up = np.array([g.up.get(r.name, -1) for r in geos], dtype=np.int64)
    down = np.array([g.down.get(r.name, -1) for r in geos], dtype=np.int64)
    return up, down


def _route_pairs(g: TrayGraph, geos, up, down, kx, ky, todo, matrix=None):
    """Shortest tray paths of the rack pairs ``(kx, ky)`` where ``todo``, over ``matrix``
    (default: the whole graph): per chunk of sources, ``(pairs, dist, polylines, tray names,
    bends, plain, edges, cut)`` of the pairs with a path (see :func:`_batch_paths`)."""
    sources = np.unique(kx[todo])
    for s0 in range(0, len(sources), _SOURCE_CHUNK):
        chunk = sources[s0 : s0 + _SOURCE_CHUNK]
        dist, pred = g.shortest([geos[x].name for x in chunk.tolist()], matrix)
        sel = np.flatnonzero(todo & (kx >= chunk[0]) & (kx <= chunk[-1]))
        rows = np.searchsorted(chunk, kx[sel])
        d = dist[rows, down[ky[sel]]]
        fin = np.isfinite(d)
        sel, rows, d = sel[fin], rows[fin], d[fin]
        paths = _batch_paths(g, pred, rows, up[kx[sel]], down[ky[sel]], with_edges=True)
        del dist, pred
        yield (sel, d, *paths)


def _join_routes(parts: list, dist: np.ndarray):
    """:func:`_route_pairs` chunks as one set of paths in pair order (``dist`` filled in)."""
    sel = [p[0] for p in parts]
    order = np.argsort(np.concatenate(sel)) if sel else np.zeros(0, dtype=np.int64)
    polys, names, bends, plain, edges = [], [], [], [], []
    for s, d, pl, nm, b, pn, e, c in parts:
        dist[s] = d
        polys += pl
        names += nm
        bends += np.asarray(b).tolist()
        plain += list(pn)
        edges += [e[c[k] : c[k + 1]] for k in range(len(s))]
    pick = order.tolist()
    edges = [edges[k] for k in pick]
    cut = np.concatenate(([0], np.cumsum([len(e) for e in edges]))).astype(np.int64)
    flat = np.concatenate(edges) if edges else np.zeros(0, dtype=np.int64)
    return (
        [polys[k] for k in pick],
        [names[k] for k in pick],
        [bends[k] for k in pick],
        [plain[k] for k in pick],
        flat.astype(np.int64),
        cut,
    )


def _bends_flat(pts: np.ndarray, owner: np.ndarray, count: int) -> np.ndarray:
    """:func:`count_bends` for many polylines stored one after another (``owner`` per point)."""
    d = pts[1:] - pts[:-1]
    seg_owner = owner[:-1]
    n = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2])
    ok = (seg_owner == owner[1:]) & ~(n < 1e-6)
    d, n, seg_owner = d[ok], n[ok], seg_owner[ok]
    u = d / n[:, None]
    dot = u[:-1, 0] * u[1:, 0] + u[:-1, 1] * u[1:, 1] + u[:-1, 2] * u[1:, 2]
    bend = (seg_owner[:-1] == seg_owner[1:]) & (dot < math.cos(math.radians(BEND_MIN_DEG)))
    return np.bincount(seg_owner[:-1][bend], minlength=count)


# ---------------------------------------------------------------- the plan


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while hundreds of thousands of acyclic run objects
    are built (its generation-2 passes grow with the heap)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def build_cable_plan(
    design: Design,
    *,
    progress: Callable[[str], None] | None = None,
    options: RoutingOptions | None = None,
    cable_ids: Mapping[tuple[str, str], str] | None = None,
) -> CablePlan:
    """Route, size, identify and label every cable of a design.

    ``cable_ids`` (``cable.key -> ID``) are the IDs :func:`fieldops.core.labels.assign_cable_ids`
    decided for the whole design (computed here when not given); routing never decides one.

    Problems never raise: cables that cannot be resolved (unknown device, port or media) are
    left out with a warning; cables with no tray path get a straight-line estimate, ordered
    length 0 and a :class:`ReachProblem` naming the rack or tray at fault.

    Ports are resolved per device, IDs hashed in bulk, tray paths found with one multi-source
    Dijkstra pass per media class and extracted per rack pair with numpy; lengths, bends and
    orderable lengths are computed as arrays; only the run objects are built one by one.

    Examples
    --------
    >>> plan = build_cable_plan(design)
    >>> run = plan.by_id()["C-6BMR43E27H"]
    >>> run.route_mm, run.length_mm, run.ordered_mm, run.sku
    (5222.0, 6105, 7000, 'CAT6A-7M')
    """
    say = progress or (lambda msg: None)
    options = options or RoutingOptions()
    with _gc_paused():
        return _plan(design, say, options, cable_ids)


_COLUMNS = (
    "cables",
    "media",
    "idents",
    "labels",
    "ra",  # per end: dense rack index
    "rb",
    "fa",  # rack face of the port
    "fb",
    "za",  # port height
    "zb",
    "pa3",  # port point (shared per device face)
    "pb3",
    "ua",  # device U (None for zero-U)
    "ub",
    "refa",  # label reference of the end
    "refb",
    "pta",  # port type
    "ptb",
)


class _Resolved:
    """The cables that resolved, as parallel columns (one entry per cable)."""

    def __init__(self, rows: list[tuple]):
        cols = list(zip(*rows, strict=True)) if rows else [() for _ in _COLUMNS]
        for name, col in zip(_COLUMNS, cols, strict=True):
            setattr(self, name, col)


def _resolve(design: Design, racks: dict[str, _RackGeo], warnings: list[str]) -> _Resolved:
    """Both ends of every cable: device -> rack, face, height, U and label text, cached per
    device and per device type (a cable end costs a few dictionary look-ups)."""
    devices = design.device_index()
    dtypes = design.device_types
    media_of = design.media
    dev_cache: dict[str, tuple | str] = {}
    type_ports: dict[str, dict[str, tuple[bool, str]]] = {}
    clean_port: dict[str, str] = {}

    def device_info(name: str):
        dev = devices.get(name)
        if dev is None:
            return f"unknown device '{name}'"
        if dev.rack not in racks:
            return f"device '{dev.name}' is in unknown rack '{dev.rack}'"
        dt = dtypes.get(dev.device_type)
        if dt is None:
            return f"device '{dev.name}' has unknown device type '{dev.device_type}'"
        ports = type_ports.get(dt.slug)
        if ports is None:
            ports = type_ports[dt.slug] = {
                p.name: (_SIDE_INDEX[port_side(p.kind)], p.type) for p in reversed(dt.ports)
            }
        rack = racks[dev.rack]
        u = dev.position if dt.u_height != 0 else None
        u_text = "U--" if u is None else f"U{u:02d}"
        no_pos = (
            f"device '{dev.name}' has no position; its ports are placed at mid-rack"
            if dev.position is None and dt.u_height != 0
            else ""
        )
        z = port_height_mm(dev, dt, rack.top)
        sides = {}  # port side index -> (rack face, port point); points shared per face
        for side, k in _SIDE_INDEX.items():
            face = _face_for(dev, dt, side)
            f = rack.faces[face]
            sides[k] = next((v for v in sides.values() if v[0] == face), (face, (f[0], f[1], z)))
        return (
            dev.name,
            rack.dense,
            z,
            u,
            (sides[0], sides[1], sides[2]),
            None,
            f"{rack.label_prefix} {u_text} {_clean(dev.name)}:",
            ports,
            dt.slug,
            no_pos,
        )

    rows: list[tuple] = []
    append = rows.append
    dev_get, media_get, clean_get = dev_cache.get, media_of.get, clean_port.get
    for cable in design.cables:
        ta, tb = cable.a, cable.b
        ia = dev_get(ta.device)
        if ia is None:
            ia = dev_cache[ta.device] = device_info(ta.device)
        ib = dev_get(tb.device)
        if ib is None:
            ib = dev_cache[tb.device] = device_info(tb.device)
        media = media_get(cable.media)
        port_a = ia[7].get(ta.port) if ia.__class__ is tuple else None
        port_b = ib[7].get(tb.port) if ib.__class__ is tuple else None
        if port_a is None or port_b is None or media is None:
            bad = []
            for term, info, port in ((ta, ia, port_a), (tb, ib, port_b)):
                if info.__class__ is str:
                    bad.append(f"{term}: {info}")
                elif port is None:
                    bad.append(f"{term}: device type '{info[8]}' has no port '{term.port}'")
                elif info[9]:
                    warnings.append(info[9])
            if media is None:
                bad.append(f"unknown media '{cable.media}'")
            warnings.append(f"cable {ta} -- {tb} not routed: {'; '.join(bad)}")
            continue
        if ia[9]:
            warnings.append(ia[9])
        if ib[9]:
            warnings.append(ib[9])
        pa, pb = ta.port, tb.port
        cpa = clean_get(pa)
        if cpa is None:
            cpa = clean_port[pa] = _clean(pa)
        cpb = clean_get(pb)
        if cpb is None:
            cpb = clean_port[pb] = _clean(pb)
        sa, sb = f"{ta.device}:{pa}", f"{tb.device}:{pb}"
        fa, pa3 = ia[4][port_a[0]]
        fb, pb3 = ib[4][port_b[0]]
        append(
            (
                cable,
                media,
                f"{sa}|{sb}" if sa <= sb else f"{sb}|{sa}",
                cable.label,
                ia[1],
                ib[1],
                fa,
                fb,
                ia[2],
                ib[2],
                pa3,
                pb3,
                ia[3],
                ib[3],
                ia[6] + cpa,
                ib[6] + cpb,
                port_a[1],
                port_b[1],
            )
        )
    return _Resolved(rows)


def _plan(design: Design, say, options: RoutingOptions, cable_ids=None) -> CablePlan:
    fp = design.floorplan
    warnings: list[str] = []
    racks: dict[str, _RackGeo] = {}
    for k, rack in enumerate(fp.racks):
        rt = fp.rack_types.get(rack.rack_type)
        if rt is None:
            warnings.append(
                f"rack '{rack.name}': unknown rack type '{rack.rack_type}'; its cables are not routed"
            )
            continue
        racks.setdefault(rack.name, _RackGeo(k, rack, rt, fp.grid))
    geos = [racks[name] for name in sorted(racks)]  # dense index = name order
    for i, geo in enumerate(geos):
        geo.dense = i

    say(f"resolving {len(design.cables):,} cables")
    res = _resolve(design, racks, warnings)
    n = len(res.cables)

    if cable_ids is None:
        say("assigning cable IDs")
        cable_ids, id_warnings = assign_cable_ids(design.cables)
        warnings.extend(id_warnings)
    ids = {f"{a}|{b}": cid for (a, b), cid in cable_ids.items()}

    # per-cable arrays
    ra = np.array(res.ra, dtype=np.int64)
    rb = np.array(res.rb, dtype=np.int64)
    za = np.array(res.za, dtype=float)
    zb = np.array(res.zb, dtype=float)
    fa_rear = np.array([f == REAR for f in res.fa], dtype=bool)
    fb_rear = np.array([f == REAR for f in res.fb], dtype=bool)
    media_list = list({m.slug: m for m in res.media}.values())
    media_idx = {m.slug: i for i, m in enumerate(media_list)}
    mi = np.array([media_idx[m.slug] for m in res.media], dtype=np.int64)
    top = np.array([g.top for g in geos], dtype=float)
    depth = np.array([g.depth for g in geos], dtype=float)
    other_rack = ra != rb

    # -- in-rack / rack-to-rack candidates (same rack, or side by side)
    gap = options.adjacent_gap_mm
    inrack = ~other_rack
    if other_rack.any() and geos:
        rot = np.array([g.rotation for g in geos])
        cx = np.array([g.cx for g in geos])
        cy = np.array([g.cy for g in geos])
        ax0 = np.array([g.axis[0] for g in geos])
        ax1 = np.array([g.axis[1] for g in geos])
        n0 = np.array([g.normal[0] for g in geos])
        n1 = np.array([g.normal[1] for g in geos])
        width = np.array([g.width for g in geos])
        dx, dy = cx[rb] - cx[ra], cy[rb] - cy[ra]
        along = np.abs(dx * ax0[ra] + dy * ax1[ra])
        across = np.abs(dx * n0[ra] + dy * n1[ra])
        adjacent = (
            other_rack
            & ~(np.abs(rot[ra] - rot[rb]) > 0.01)
            & (across <= gap)
            & (along <= (width[ra] + width[rb]) / 2 + gap)
        )
        inrack |= adjacent
    # route: through the depth when the faces differ, sideways to the far rack, up or down
    faces_differ = fa_rear != fb_rear
    side = np.zeros(n)
    sideways = np.flatnonzero(inrack & other_rack)
    if len(sideways):
        cache: dict[tuple[int, int, bool], float] = {}
        vals = []
        for a, b, rear in zip(
            ra[sideways].tolist(), rb[sideways].tolist(), fb_rear[sideways].tolist(), strict=True
        ):
            v = cache.get((a, b, rear))
            if v is None:
                f = REAR if rear else FRONT
                p, q = geos[a].faces[f], geos[b].faces[f]
                v = cache[(a, b, rear)] = math.hypot(q[0] - p[0], q[1] - p[1])
            vals.append(v)
        side[sideways] = vals
    ir_route = np.where(faces_differ, depth[ra], 0.0) + side + np.abs(zb - za)
    ir_bends = np.maximum(0, faces_differ.astype(np.int64) + other_rack + (zb != za) - 1)

    # -- tray paths: one multi-source Dijkstra per media class over the rack pairs it needs
    tray = np.flatnonzero(other_rack)
    lo = np.minimum(ra, rb)
    hi = np.maximum(ra, rb)
    n_racks = max(len(geos), 1)
    pair_key = lo * n_racks + hi
    classes = sorted({m.media_class for m in media_list})
    class_of_media = np.array([classes.index(m.media_class) for m in media_list], dtype=np.int64)
    cls_of_cable = class_of_media[mi] if n else np.zeros(0, dtype=np.int64)
    tr_route = np.full(n, np.inf)
    tr_bends = np.zeros(n, dtype=np.int64)
    tr_plain = np.zeros(n, dtype=bool)
    tr_pair = np.full(n, -1, dtype=np.int64)  # index into pair_poly / pair_names
    tr_fail: dict[int, str] = {}  # cable -> why no tray path
    pair_poly: list[tuple] = []
    pair_names: list[tuple] = []
    rack_list = sorted(racks.values(), key=lambda r: r.index)
    ons = [tray[cls_of_cable[tray] == c_i] for c_i in range(len(classes))]
    graphs = [
        TrayGraph(cls, fp.trays, rack_list, options) if len(ons[c_i]) else None
        for c_i, cls in enumerate(classes)
    ]
    fill = TrayFill(fp, classes, graphs, media_list)
    ends = [None if g is None else _rack_nodes(g, geos) for g in graphs]

    def on_trays() -> np.ndarray:
        """Cables whose tray path (as routed now) is shorter than their in-rack path."""
        has = np.isfinite(tr_route)
        total = np.full(n, np.inf)
        t = np.flatnonzero(has)
        total[t] = (top[ra[t]] - za[t]) + depth[ra[t]] / 2 + tr_route[t]
        total[t] += depth[rb[t]] / 2 + (top[rb[t]] - zb[t])
        return has & (~inrack | (total < ir_route - 1e-6))

    for c_i, cls in enumerate(classes):
        on, g = ons[c_i], graphs[c_i]
        if g is None:
            continue
        keys, inverse = np.unique(pair_key[on], return_inverse=True)
        px, py = (keys // n_racks).tolist(), (keys % n_racks).tolist()
        say(
            f"routing {len(keys):,} {cls} rack pairs over {sum(cls in t.media_classes for t in fp.trays)} trays"
        )
        warnings.extend(g.warnings)
        up, down = ends[c_i]
        kx, ky = keys // n_racks, keys % n_racks
        routable = (up[kx] >= 0) & (down[ky] >= 0)
        pair_d = np.full(len(keys), np.inf)
        pair_at = np.full(len(keys), -1, dtype=np.int64)
        pair_bends = np.zeros(len(keys), dtype=np.int64)
        pair_plain = np.zeros(len(keys), dtype=bool)
        matrices = [None]
        if fill.needs_separation(c_i):  # keep off the trays a class kept apart already uses
            _, count = fill.loads(tr_pair, mi, on_trays())
            drop = fill.edge_mask(c_i, fill.apart_atoms(c_i, fill.class_counts(count)))
            if drop.any():
                matrices = [g.without(drop), None]
        for matrix in matrices:
            todo = routable & ~np.isfinite(pair_d)
            for sel, d, polys, names, bends, plain, edges, cut in _route_pairs(
                g, geos, up, down, kx, ky, todo, matrix
            ):
                assert fill.n_entries == len(pair_poly)
                fill.add_entries(c_i, kx[sel], ky[sel], d, edges, cut)
                pair_d[sel] = d
                pair_at[sel] = np.arange(len(pair_poly), len(pair_poly) + len(sel))
                pair_bends[sel] = bends
                pair_plain[sel] = plain
                pair_poly.extend(polys)
                pair_names.extend(names)
        unreached: set[str] = set()
        reasons: dict[int, str] = {}
        for p in np.flatnonzero(~np.isfinite(pair_d)).tolist():
            x, y = geos[px[p]].name, geos[py[p]].name
            if x not in g.up or y not in g.down:
                unreached.update(r for r in (x, y) if r not in g.up)
            reasons[p] = _no_path_reason(g, x, y, fp.trays)
        for name in sorted(unreached):
            warnings.append(
                f"rack '{name}' is reached by no {cls} tray (none passes within {options.drop_reach_mm} mm of it)"
            )
        tr_route[on] = pair_d[inverse]
        tr_pair[on] = pair_at[inverse]
        tr_bends[on] = pair_bends[inverse]
        tr_plain[on] = pair_plain[inverse]
        for k in np.flatnonzero(~np.isfinite(pair_d[inverse])).tolist():
            tr_fail[int(on[k])] = reasons[int(inverse[k])]

    # -- tray fill: move cables off segments over their limit where a path has room
    def reroute(c: int, drop: np.ndarray, cands: np.ndarray):
        g, (up, down) = graphs[c], ends[c]
        kx = np.array([fill.ent_src[p] for p in cands.tolist()], dtype=np.int64)
        ky = np.array([fill.ent_dst[p] for p in cands.tolist()], dtype=np.int64)
        dist = np.full(len(cands), np.inf)
        parts = list(
            _route_pairs(g, geos, up, down, kx, ky, np.ones(len(cands), bool), g.without(drop))
        )
        return dist, _join_routes(parts, dist)

    def moved(cables, new, dist, bends, plain, poly, names):
        assert new == len(pair_poly)
        pair_poly.append(poly)
        pair_names.append(names)
        tr_pair[cables] = new
        tr_route[cables] = dist
        tr_bends[cables] = bends
        tr_plain[cables] = plain

    def order_key(cables: np.ndarray) -> np.ndarray:
        """The cables' ranks among themselves in cable-ID order."""
        idents = res.idents
        cids = [ids[idents[i]] for i in cables.tolist()]
        rank = np.empty(len(cids), dtype=np.int64)
        rank[sorted(range(len(cids)), key=cids.__getitem__)] = np.arange(len(cids))
        return rank

    longest = [min(effective_reach(m), m.lengths_mm[-1] if m.lengths_mm else 0) for m in media_list]
    allow_of = [bend_allowance_mm(m) for m in media_list]
    slack_of = [2 * m.slack_per_end_mm for m in media_list]
    outside: list = []  # per cable: the route's parts outside the trays, as Python floats

    def fits(i: int, dist: float, bends: int, plain: bool) -> bool:
        """Whether cable i still reaches (and can be ordered) over a tray path of ``dist``
        (summed as sizing sums it; two bends to spare where sizing recounts them)."""
        if not outside:
            outside.extend(
                zip(
                    ((top[ra] - za) + depth[ra] / 2).tolist(),
                    (depth[rb] / 2).tolist(),
                    (top[rb] - zb).tolist(),
                    mi.tolist(),
                    strict=True,
                )
            )
        a, b, c, m = outside[i]
        turns = bends + 4 + (0 if plain else 2)
        need = math.ceil(a + dist + b + c + turns * allow_of[m] + slack_of[m] - 1e-9)
        return need <= longest[m]

    diverted = fill.divert(
        entry=tr_pair,
        media=mi,
        order_key=order_key,
        use=on_trays,
        reroute=reroute,
        moved=moved,
        fits=fits,
    )
    if diverted.from_mm:
        say(f"moved {len(diverted.from_mm):,} cables off full tray segments")

    # -- choose the shorter path per cable, size it
    say(f"sizing {n:,} cables")
    has_tray = np.isfinite(tr_route)
    tr_total = np.full(n, np.inf)
    if has_tray.any():
        t = np.flatnonzero(has_tray)
        tr_total[t] = (
            (top[ra[t]] - za[t])
            + depth[ra[t]] / 2
            + tr_route[t]
            + depth[rb[t]] / 2
            + (top[rb[t]] - zb[t])
        )
    use_tray = has_tray & (~inrack | (tr_total < ir_route - 1e-6))
    estimated = ~inrack & ~has_tray
    route = np.where(use_tray, tr_total, ir_route)
    bends = np.where(use_tray, tr_bends + 4, ir_bends)
    # tray paths that do not leave the exits straight up (or ports at the rack top): count
    recount = np.flatnonzero(use_tray & ~(tr_plain & (za < top[ra]) & (zb < top[rb])))
    polylines: dict[int, tuple] = {}
    for i in recount.tolist():
        polylines[i] = pts = _tray_polyline(i, res, geos, pair_poly[tr_pair[i]], ra, rb)
        bends[i] = count_bends(pts)
    for i in np.flatnonzero(estimated).tolist():
        a, b = geos[res.ra[i]], geos[res.rb[i]]
        fa, fb = a.faces[res.fa[i]], b.faces[res.fb[i]]
        pts = _dedupe3(
            [
                (fa[0], fa[1], res.za[i]),
                (fa[0], fa[1], a.top),
                (a.cx, a.cy, a.top),
                (b.cx, b.cy, b.top),
                (fb[0], fb[1], b.top),
                (fb[0], fb[1], res.zb[i]),
            ]
        )
        polylines[i] = tuple(pts)
        route[i] = polyline_length(pts)
        bends[i] = count_bends(pts)
    allow = np.array([bend_allowance_mm(m) for m in media_list])
    slack2 = np.array([2 * m.slack_per_end_mm for m in media_list], dtype=float)
    reach = np.array([effective_reach(m) for m in media_list], dtype=np.int64)
    length = (
        np.ceil(route + bends * allow[mi] + slack2[mi] - 1e-9).astype(np.int64)
        if n
        else np.zeros(0, dtype=np.int64)
    )
    ordered = np.zeros(n, dtype=np.int64)
    for k, m in enumerate(media_list):
        sel = np.flatnonzero((mi == k) & ~estimated)
        if len(sel) and m.lengths_mm:
            lengths = np.array(m.lengths_mm, dtype=np.int64)
            at = np.searchsorted(lengths, length[sel], side="left")
            ordered[sel] = np.where(at < len(lengths), lengths[np.minimum(at, len(lengths) - 1)], 0)

    # -- problems
    problems: list[ReachProblem] = []
    for i in np.flatnonzero(estimated | (length > reach[mi]) | (ordered == 0)).tolist():
        cable, media, cid, ln = res.cables[i], res.media[i], ids[res.idents[i]], int(length[i])
        rch = int(reach[mi[i]])
        if estimated[i]:
            failure = tr_fail.get(i) or f"no {media.media_class} tray path"
            problems.append(
                ReachProblem(
                    cid,
                    media.slug,
                    ln,
                    rch,
                    "",
                    f"cable {cid} ({cable.a} -- {cable.b}): {failure}; estimated {ln / 1000:.2f} m in a straight line, not ordered",
                )
            )
            continue
        sugg = _suggest(design, media, float(route[i]), int(bends[i]), (res.pta[i], res.ptb[i]), ln)
        why = (
            f"beyond its {rch / 1000:g} m reach"
            if ln > rch
            else f"longer than its longest orderable length ({media.lengths_mm[-1] / 1000:g} m)"
        )
        tip = f"; use {sugg} (reaches)" if sugg else "; no catalogue media reaches"
        problems.append(
            ReachProblem(
                cid,
                media.slug,
                ln,
                rch,
                sugg,
                f"cable {cid} ({cable.a} -- {cable.b}) needs {ln / 1000:.2f} m of {media.slug}, {why}{tip}",
            )
        )

    # -- the run objects
    arrays = {
        "route": route,
        "length": length,
        "ordered": ordered,
        "bends": bends,
        "use_tray": use_tray,
        "pair": tr_pair,
        "media": mi,
    }
    runs = _build_runs(res, ids, geos, arrays, pair_poly, pair_names, polylines, media_list)
    runs.sort(key=_run_id)
    problems.sort(key=lambda p: p.cable_id)
    diversions = []
    for i, from_mm in diverted.from_mm.items():
        # summed in the order the routes are, so an undiverted cable would read the same
        up = (top[ra[i]] - za[i]) + depth[ra[i]] / 2 + from_mm + depth[rb[i]] / 2
        shortest = round(float(up + (top[rb[i]] - zb[i])), 1)
        diversions.append(Diversion(ids[res.idents[i]], shortest, round(float(route[i]), 1)))
    diversions.sort(key=lambda d: d.cable_id)
    return CablePlan(
        tuple(runs),
        tuple(problems),
        tuple(dict.fromkeys(warnings)),
        tray_segments=tuple(fill.segments(tr_pair, mi, use_tray)),
        diversions=tuple(diversions),
    )


def _run_id(run: CableRun) -> str:
    return run.id


def _tray_polyline(i: int, res: _Resolved, geos, mid: tuple, ra, rb) -> tuple:
    a, b = geos[res.ra[i]], geos[res.rb[i]]
    if ra[i] > rb[i]:
        mid = mid[::-1]
    fa, fb = a.faces[res.fa[i]], b.faces[res.fb[i]]
    return (
        (fa[0], fa[1], res.za[i]),
        (fa[0], fa[1], a.top),
        *mid,
        (fb[0], fb[1], b.top),
        (fb[0], fb[1], res.zb[i]),
    )


_END_FIELDS = ("device", "port", "rack", "location_id", "u", "face", "label")
_RUN_FIELDS = (
    "id",
    "a",
    "b",
    "media",
    "media_class",
    "route_mm",
    "length_mm",
    "ordered_mm",
    "sku",
    "tray_path",
    "polyline",
    "bends",
    "qr_payload",
)


def _slot_constructor(cls, names: tuple[str, ...]):
    """A positional constructor for a frozen, slotted dataclass that fills its slots directly.

    The generated ``__init__`` of a frozen dataclass calls ``object.__setattr__`` per field,
    which is most of the cost of building 300,000 run objects; setting the slot descriptors
    is about twice as fast and gives equal objects. Falls back to the class itself when its
    fields are not exactly ``names`` or it has a ``__post_init__``.
    """
    if (
        tuple(f.name for f in dataclasses.fields(cls)) != names
        or len(cls.__dataclass_fields__) != len(names)
        or hasattr(cls, "__post_init__")
        or not all(isinstance(cls.__dict__.get(n), _MEMBER) for n in names)
    ):
        return cls
    new = object.__new__
    sets = tuple(cls.__dict__[n].__set__ for n in names)
    if len(names) == len(_END_FIELDS):
        s0, s1, s2, s3, s4, s5, s6 = sets

        def make_end(device, port, rack, location_id, u, face, label):
            o = new(cls)
            s0(o, device)
            s1(o, port)
            s2(o, rack)
            s3(o, location_id)
            s4(o, u)
            s5(o, face)
            s6(o, label)
            return o

        return make_end
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12 = sets

    def make_run(id, a, b, media, media_class, route, length, ordered, sku, trays, poly, bends, qr):  # noqa: A002
        o = new(cls)
        s0(o, id)
        s1(o, a)
        s2(o, b)
        s3(o, media)
        s4(o, media_class)
        s5(o, route)
        s6(o, length)
        s7(o, ordered)
        s8(o, sku)
        s9(o, trays)
        s10(o, poly)
        s11(o, bends)
        s12(o, qr)
        return o

    return make_run


_MEMBER = type(CableEnd.device)
_new_end = _slot_constructor(CableEnd, _END_FIELDS)
_new_run = _slot_constructor(CableRun, _RUN_FIELDS)


def _build_runs(
    res: _Resolved,
    ids: dict[str, str],
    geos: list[_RackGeo],
    arrays: dict[str, np.ndarray],
    pair_poly: list[tuple],
    pair_names: list[tuple],
    polylines: dict[int, tuple],
    media_list: list[Media],
) -> list[CableRun]:
    """One CableRun (and two CableEnds) per cable, from the computed arrays.

    Point tuples are shared (port points per device face, rack-top points per rack face, tray
    paths per rack pair, in-rack polylines per geometry), so the plan holds few small objects.
    """
    skus: dict[tuple[int, int], str] = {}
    reversed_poly: dict[int, tuple] = {}
    in_rack: dict[tuple, tuple] = {}
    runs: list[CableRun] = []
    append = runs.append
    new_run, new_end = _new_run, _new_end
    special = polylines.get if polylines else None
    rows = zip(
        res.idents,
        res.cables,
        res.ra,
        res.rb,
        res.fa,
        res.fb,
        res.pa3,
        res.pb3,
        res.ua,
        res.ub,
        res.refa,
        res.refb,
        arrays["route"].tolist(),
        arrays["length"].tolist(),
        arrays["ordered"].tolist(),
        arrays["bends"].tolist(),
        arrays["use_tray"].tolist(),
        arrays["pair"].tolist(),
        arrays["media"].tolist(),
        strict=True,
    )
    for i, (
        ident,
        cable,
        ra,
        rb,
        fa,
        fb,
        pa3,
        pb3,
        ua,
        ub,
        near_a,
        near_b,
        route,
        length,
        ordered,
        bends,
        tray,
        p,
        m,
    ) in enumerate(rows):
        cid = ids[ident]
        a, b = geos[ra], geos[rb]
        names: tuple = ()
        pts = special(i) if special else None
        if tray:
            names = pair_names[p]
            if pts is None:
                if ra > rb:
                    mid = reversed_poly.get(p)
                    if mid is None:
                        mid = reversed_poly[p] = pair_poly[p][::-1]
                else:
                    mid = pair_poly[p]
                pts = (pa3, a.tops[fa], *mid, b.tops[fb], pb3)
        elif pts is None:
            key = (ra, fa, pa3[2], rb, fb, pb3[2])
            pts = in_rack.get(key)
            if pts is None:
                pts = in_rack[key] = _in_rack_points(a, b, fa, fb, pa3, pb3)
        media = media_list[m]
        sku = ""
        if ordered:
            sku = skus.get((m, ordered))
            if sku is None:
                sku = skus[(m, ordered)] = media.sku_for(ordered)
        append(
            new_run(
                cid,
                new_end(
                    cable.a.device,
                    cable.a.port,
                    a.name,
                    a.location_id,
                    ua,
                    fa,
                    f"{cid}/A {near_a} > {near_b}",
                ),
                new_end(
                    cable.b.device,
                    cable.b.port,
                    b.name,
                    b.location_id,
                    ub,
                    fb,
                    f"{cid}/B {near_b} > {near_a}",
                ),
                media.slug,
                media.media_class,
                round(route, 1),
                length,
                ordered,
                sku,
                names,
                pts,
                bends,
                cid,
            )
        )
    return runs


def _in_rack_points(
    ra: _RackGeo, rb: _RackGeo, face_a: str, face_b: str, pa3: Point3, pb3: Point3
) -> tuple[Point3, ...]:
    """In-rack / rack-to-rack polyline from port ``pa3`` to port ``pb3``: through the rack
    depth when the faces differ, sideways to the far rack's face, then up or down. The legs
    are at right angles, so bends = points - 2 (computed as arrays in ``_plan``)."""
    za, zb = pa3[2], pb3[2]
    pts = [pa3]
    if face_a != face_b:
        other = ra.faces[face_b]
        pts.append((other[0], other[1], za))
    if ra is not rb:
        fb = rb.faces[face_b]
        pts.append((fb[0], fb[1], za))
    if zb != za:
        pts.append(pb3)
    return tuple(pts)


def _no_path_reason(g: TrayGraph, x: str, y: str, trays) -> str:
    cls = g.media_class
    if not g.trays:
        return f"no tray carries {cls} media"
    missing = [r for r in (x, y) if r not in g.up]
    if missing:
        return " and ".join(f"rack '{r}' is reached by no {cls} tray" for r in missing)
    tx, ty = ", ".join(g.drops.get(x, [])), ", ".join(g.drops.get(y, []))
    return f"the {cls} trays over rack '{x}' ({tx}) do not connect to those over rack '{y}' ({ty})"


def _suggest(
    design: Design, media: Media, route: float, bends: int, port_types: tuple[str, str], length: int
) -> str:
    """A catalogue media that fits both ports and reaches this route (same class first)."""
    ranked = sorted(
        design.media.values(),
        key=lambda m: (m.media_class != media.media_class, effective_reach(m), m.slug),
    )
    for m in ranked:
        if m.slug == media.slug or (m.media_class in ("power", "fluid")) != (
            media.media_class in ("power", "fluid")
        ):
            continue
        if m.media_class == "fluid" and m.media_class != media.media_class:
            continue  # only a hose replaces a hose
        if m.port_types and any(pt and pt not in m.port_types for pt in port_types):
            continue
        need = math.ceil(route + bends * bend_allowance_mm(m) + 2 * m.slack_per_end_mm - 1e-9)
        if need <= effective_reach(m) and orderable(m, need):
            return m.slug
    return ""
