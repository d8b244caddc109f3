"""Tray routing and cable lengths: ``build_cable_plan(design) -> CablePlan``. Pure.

The model (docs/cables.md has the worked example):

* **Ports.** Data ports sit on the rack face given by the device's ``ports_face``; otherwise on
  the device's rear (the face opposite ``device.face``), unless its type's airflow is
  ``rear-to-front`` (then on ``device.face``). Power ports and outlets: the device's rear.
  Zero-U devices (PDUs): the rack's rear, at mid-height. A port's height is the middle of its
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
(scipy.sparse.csgraph), and caches each rack pair's tray path.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Polygon
from shapely.ops import nearest_points

from fieldops.core.cableplan import CableEnd, CablePlan, CableRun, Point3, ReachProblem
from fieldops.core.labels import _clean, assign_ids, cable_identity
from fieldops.core.model import FRONT, REAR, U_MM, Design, Media

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


class _End:
    __slots__ = ("device", "port", "rack", "face", "z", "u", "port_type", "ref")

    def __init__(self, device, port, rack, face, z, u, port_type):
        self.device, self.port, self.rack, self.face = device, port, rack, face
        self.u, self.port_type, self.z = u, port_type, z
        u_text = "U--" if u is None else f"U{u:02d}"
        self.ref = f"{rack.label_prefix} {u_text} {_clean(device)} {_clean(port)}"


def _r2(p) -> tuple[float, float]:
    return (round(p[0], 1), round(p[1], 1))


def _opposite(face: str) -> str:
    return REAR if face == FRONT else FRONT


def port_face(device, device_type, port) -> str:
    """The rack face a port is on (see the module docstring)."""
    if device_type.u_height == 0:
        return REAR
    if port.kind in POWER_KINDS:
        return _opposite(device.face)
    if device.ports_face:
        return device.ports_face
    if device_type.airflow == "rear-to-front":
        return device.face
    return _opposite(device.face)


def port_height_mm(device, device_type, rack_top_mm: float) -> float:
    """Height of a device's ports above the floor: mid-device, or mid-rack for zero-U."""
    if device_type.u_height == 0 or device.position is None:
        return rack_top_mm / 2
    z = RACK_BASE_MM + (device.position - 1 + device_type.u_height / 2) * U_MM
    return min(max(z, 0.0), rack_top_mm)


def _adjacent(a: _RackGeo, b: _RackGeo, gap: float) -> bool:
    if a is b:
        return True
    if abs(a.rotation - b.rotation) > 0.01:
        return False
    dx, dy = b.cx - a.cx, b.cy - a.cy
    along = abs(dx * a.axis[0] + dy * a.axis[1])
    across = abs(dx * a.normal[0] + dy * a.normal[1])
    return across <= gap and along <= (a.width + b.width) / 2 + gap


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

    def _edge(self, i: int, j: int, w: float, tray: str, both: bool = True) -> None:
        if i == j:
            return
        for a, b in ((i, j), (j, i)) if both else ((i, j),):
            old = self._edges.get((a, b))
            if old is None or w < old[0]:
                self._edges[(a, b)] = (w, tray)

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
            acc, s = [0.0], 0.0
            coords = list(line.coords)
            for k in range(1, len(coords)):
                s += math.dist(coords[k - 1], coords[k])
                acc.append(s)
            splits.append(set(acc))
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
        for t, line, cuts in zip(trays, lines, splits, strict=True):
            order = sorted(cuts)
            prev_node, prev_pos = None, None
            for pos in order:
                node = self._tray_node(t, line, pos)
                if prev_node is not None:
                    self._edge(prev_node, node, pos - prev_pos, t.name)
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
        # trays that join no other tray of the class
        if len(trays) > 1:
            joined = {i for i, *_ in junctions} | {j for _, _, j, *_ in junctions}
            for k, t in enumerate(trays):
                if k not in joined:
                    self.warnings.append(
                        f"tray '{t.name}' ({self.media_class}) meets no other {self.media_class} tray; only racks under it can use it"
                    )

    def shortest(self, sources: list[str]):
        """Distances and predecessors from the up nodes of ``sources`` (one Dijkstra pass)."""
        idx = [self.up[s] for s in sources]
        if not idx:
            return np.zeros((0, len(self.coords))), np.zeros((0, len(self.coords)), dtype=np.int32)
        return dijkstra(self.matrix, directed=True, indices=idx, return_predecessors=True)

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


# ---------------------------------------------------------------- the plan


def build_cable_plan(
    design: Design,
    *,
    progress: Callable[[str], None] | None = None,
    options: RoutingOptions | None = None,
) -> CablePlan:
    """Route, size, identify and label every cable of a design.

    Problems never raise: cables that cannot be resolved (unknown device, port or media) are
    left out with a warning; cables with no tray path get a straight-line estimate, ordered
    length 0 and a :class:`ReachProblem` naming the rack or tray at fault.

    Examples
    --------
    >>> plan = build_cable_plan(design)
    >>> run = plan.by_id()["C-6Q2Y2C4"]
    >>> run.route_mm, run.length_mm, run.ordered_mm, run.sku
    (5222.0, 6105, 7000, 'CAT6A-7M')
    """
    say = progress or (lambda msg: None)
    options = options or RoutingOptions()
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
    devices = design.device_index()
    dtypes = design.device_types

    # -- resolve both ends of every cable
    port_cache: dict[tuple[str, str], _End | str] = {}
    port_index: dict[str, dict] = {}

    def resolve(term) -> _End | str:
        key = (term.device, term.port)
        hit = port_cache.get(key)
        if hit is not None:
            return hit
        dev = devices.get(term.device)
        if dev is None:
            out: _End | str = f"unknown device '{term.device}'"
        elif dev.rack not in racks:
            out = f"device '{dev.name}' is in unknown rack '{dev.rack}'"
        elif dev.device_type not in dtypes:
            out = f"device '{dev.name}' has unknown device type '{dev.device_type}'"
        else:
            dt = dtypes[dev.device_type]
            ports = port_index.get(dt.slug)
            if ports is None:
                ports = port_index[dt.slug] = {p.name: p for p in reversed(dt.ports)}
            port = ports.get(term.port)
            if port is None:
                out = f"device type '{dt.slug}' has no port '{term.port}'"
            else:
                rack = racks[dev.rack]
                if dev.position is None and dt.u_height != 0:
                    warnings.append(
                        f"device '{dev.name}' has no position; its ports are placed at mid-rack"
                    )
                u = dev.position if dt.u_height != 0 else None
                out = _End(
                    dev.name,
                    term.port,
                    rack,
                    port_face(dev, dt, port),
                    port_height_mm(dev, dt, rack.top),
                    u,
                    port.type,
                )
        port_cache[key] = out
        return out

    say(f"resolving {len(design.cables):,} cables")
    resolved = []
    for cable in design.cables:
        media = design.media.get(cable.media)
        ea, eb = resolve(cable.a), resolve(cable.b)
        if media is None or ea.__class__ is str or eb.__class__ is str:
            bad = [f"{t}: {e}" for t, e in ((cable.a, ea), (cable.b, eb)) if isinstance(e, str)]
            if media is None:
                bad.append(f"unknown media '{cable.media}'")
            warnings.append(f"cable {cable.a} -- {cable.b} not routed: {'; '.join(bad)}")
            continue
        a, b = cable.a, cable.b
        ident = cable_identity(f"{a.device}:{a.port}", f"{b.device}:{b.port}")
        resolved.append((cable, media, ea, eb, ident))

    say("assigning cable IDs")
    ids, id_warnings = assign_ids([(ident, c.label) for c, _, _, _, ident in resolved])
    warnings.extend(id_warnings)

    # -- tray graphs and one multi-source shortest-path pass per media class
    gap = options.adjacent_gap_mm
    need: dict[str, set[tuple[str, str]]] = {}
    for _, media, ea, eb, _ in resolved:
        if ea.rack is not eb.rack:
            x, y = sorted((ea.rack.name, eb.rack.name))
            need.setdefault(media.media_class, set()).add((x, y))
    rack_list = sorted(racks.values(), key=lambda r: r.index)
    graphs: dict[str, TrayGraph] = {}
    tray_paths: dict[tuple[str, str, str], tuple[float, list[Point3], tuple[str, ...]] | str] = {}
    for cls in sorted(need):
        say(
            f"routing {len(need[cls]):,} {cls} rack pairs over {sum(cls in t.media_classes for t in fp.trays)} trays"
        )
        g = TrayGraph(cls, fp.trays, rack_list, options)
        graphs[cls] = g
        warnings.extend(g.warnings)
        pairs = sorted(need[cls])
        sources = sorted({x for x, _ in pairs if x in g.up})
        row = {s: k for k, s in enumerate(sources)}
        dist, pred = g.shortest(sources)
        unreached: set[str] = set()
        for x, y in pairs:
            if x not in g.up or y not in g.down:
                unreached.update(r for r in (x, y) if r not in g.up)
                tray_paths[(cls, x, y)] = _no_path_reason(g, x, y, fp.trays)
                continue
            r = row[x]
            d = float(dist[r, g.down[y]])
            if not math.isfinite(d):
                tray_paths[(cls, x, y)] = _no_path_reason(g, x, y, fp.trays)
                continue
            pts, names = g.path(pred[r], g.up[x], g.down[y])
            # joints with the in-rack legs add 2 bends per end when the path starts and ends
            # with a vertical rise above the exit (any other shape is counted in full)
            plain = pts[1][:2] == pts[0][:2] and pts[-2][:2] == pts[-1][:2]
            tray_paths[(cls, x, y)] = (d, pts, names, count_bends(pts), plain)
        for name in sorted(unreached):
            warnings.append(
                f"rack '{name}' is reached by no {cls} tray (none passes within {options.drop_reach_mm} mm of it)"
            )

    # -- build the runs
    say(f"sizing {len(resolved):,} cables")
    runs: list[CableRun] = []
    media_terms: dict[str, tuple[float, int, int]] = {}
    skus: dict[tuple[str, int], str] = {}
    problems: list[ReachProblem] = []
    for cable, media, ea, eb, ident in resolved:
        cid = ids[ident]
        ra, rb = ea.rack, eb.rack
        best = None  # (route, polyline, tray names, bends)
        if ra is rb or _adjacent(ra, rb, gap):
            best = _in_rack_route(ea, eb)
        failure = ""
        if ra is not rb:
            x, y = sorted((ra.name, rb.name))
            tp = tray_paths.get((media.media_class, x, y), "")
            if isinstance(tp, str):
                failure = tp or f"no {media.media_class} tray path"
            else:
                d, mid, names, mid_bends, plain = tp
                if ra.name != x:
                    mid = mid[::-1]
                fa, fb = ra.faces[ea.face], rb.faces[eb.face]
                route = (ra.top - ea.z) + ra.depth / 2 + d + rb.depth / 2 + (rb.top - eb.z)
                if best is None or route < best[0] - 1e-6:
                    pts = [
                        (fa[0], fa[1], ea.z),
                        (fa[0], fa[1], ra.top),
                        *mid,
                        (fb[0], fb[1], rb.top),
                        (fb[0], fb[1], eb.z),
                    ]
                    if plain and ea.z < ra.top and eb.z < rb.top:
                        bends = mid_bends + 4
                    else:
                        bends = count_bends(pts)
                    best = (route, pts, names, bends)
        estimated = False
        if best is None:
            fa, fb = ra.faces[ea.face], rb.faces[eb.face]
            pts = [
                (fa[0], fa[1], ea.z),
                (fa[0], fa[1], ra.top),
                (ra.cx, ra.cy, ra.top),
                (rb.cx, rb.cy, rb.top),
                (fb[0], fb[1], rb.top),
                (fb[0], fb[1], eb.z),
            ]
            pts = _dedupe3(pts)
            best = (polyline_length(pts), pts, (), count_bends(pts))
            estimated = True
        route, pts, names, bends = best
        allow, slack2, reach = media_terms.get(media.slug) or media_terms.setdefault(
            media.slug,
            (bend_allowance_mm(media), 2 * media.slack_per_end_mm, effective_reach(media)),
        )
        length = math.ceil(route + bends * allow + slack2 - 1e-9)
        ordered = 0 if estimated else orderable(media, length)
        if estimated:
            problems.append(
                ReachProblem(
                    cid,
                    media.slug,
                    length,
                    reach,
                    "",
                    f"cable {cid} ({cable.a} -- {cable.b}): {failure}; estimated {length / 1000:.2f} m in a straight line, not ordered",
                )
            )
        elif length > reach or ordered == 0:
            sugg = _suggest(design, media, route, bends, (ea.port_type, eb.port_type), length)
            why = (
                f"beyond its {reach / 1000:g} m reach"
                if length > reach
                else f"longer than its longest orderable length ({media.lengths_mm[-1] / 1000:g} m)"
            )
            tip = f"; use {sugg} (reaches)" if sugg else "; no catalogue media reaches"
            problems.append(
                ReachProblem(
                    cid,
                    media.slug,
                    length,
                    reach,
                    sugg,
                    f"cable {cid} ({cable.a} -- {cable.b}) needs {length / 1000:.2f} m of {media.slug}, {why}{tip}",
                )
            )
        near_a, near_b = ea.ref, eb.ref
        runs.append(
            CableRun(
                id=cid,
                a=CableEnd(
                    ea.device,
                    ea.port,
                    ra.name,
                    ra.location_id,
                    ea.u,
                    ea.face,
                    f"{cid}/A {near_a} > {near_b}",
                ),
                b=CableEnd(
                    eb.device,
                    eb.port,
                    rb.name,
                    rb.location_id,
                    eb.u,
                    eb.face,
                    f"{cid}/B {near_b} > {near_a}",
                ),
                media=media.slug,
                media_class=media.media_class,
                route_mm=round(route, 1),
                length_mm=length,
                ordered_mm=ordered,
                sku=(
                    skus.get((media.slug, ordered))
                    or skus.setdefault((media.slug, ordered), media.sku_for(ordered))
                )
                if ordered
                else "",
                tray_path=names,
                polyline=tuple(pts),
                bends=bends,
                qr_payload=cid,
            )
        )
    runs.sort(key=lambda r: r.id)
    problems.sort(key=lambda p: p.cable_id)
    return CablePlan(tuple(runs), tuple(problems), tuple(dict.fromkeys(warnings)))


def _in_rack_route(ea: _End, eb: _End) -> tuple[float, list[Point3], tuple, int]:
    """Along the face, through the rack depth when the faces differ, then up or down.

    ``(route_mm, polyline, (), bends)``; the legs (depth, sideways, vertical) are at right
    angles, so bends = legs - 1.
    """
    ra, rb = ea.rack, eb.rack
    fa = ra.faces[ea.face]
    pts = [(fa[0], fa[1], ea.z)]
    route = 0.0
    if ea.face != eb.face:
        other = ra.faces[eb.face]
        pts.append((other[0], other[1], ea.z))
        route += ra.depth
    fb = rb.faces[eb.face]
    if ra is not rb:
        last = pts[-1]
        route += math.hypot(fb[0] - last[0], fb[1] - last[1])
        pts.append((fb[0], fb[1], ea.z))
    if eb.z != ea.z:
        route += abs(eb.z - ea.z)
        pts.append((fb[0], fb[1], eb.z))
    return route, pts, (), max(0, len(pts) - 2)


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
        if m.slug == media.slug or (m.media_class == "power") != (media.media_class == "power"):
            continue
        if m.port_types and any(pt and pt not in m.port_types for pt in port_types):
            continue
        need = math.ceil(route + bends * bend_allowance_mm(m) + 2 * m.slack_per_end_mm - 1e-9)
        if need <= effective_reach(m) and orderable(m, need):
            return m.slug
    return ""
