"""Design validation rules. Pure: a Design in, a sorted list of Problems out.

Each rule is a function ``check_*(design, ctx) -> Iterable[Problem]``; ``RULES`` lists them in
order. Geometry works in integer millimetres with shapely (STRtree for pairwise tests), and
treats overlaps under ``AREA_EPS_MM2`` as touching.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import shapely
from shapely.geometry import Polygon
from shapely.strtree import STRtree

from fieldops.core.model import FRONT, REAR, Design, Device, DeviceType, RackType
from fieldops.core.problems import ERROR, WARNING, Problem

AREA_EPS_MM2 = 1.0
DEFAULT_CLEARANCE_MM = 900  # working space in front of a rack face (a person, a tablet, a lift)
CONNECTABLE_KINDS = ("interface", "console-port", "console-server-port", "front-port", "rear-port", "power-port", "power-outlet")


@dataclass(frozen=True)
class Context:
    clearance_mm: int = DEFAULT_CLEARANCE_MM


def _p(src, message, *, path="", severity=ERROR, rule=""):
    return Problem.at(src, message, path=path, severity=severity, rule=rule)


# ---------------------------------------------------------------- names and references


def check_duplicates(design: Design, ctx: Context) -> Iterable[Problem]:
    seen: dict[str, object] = {}
    for rack in design.floorplan.racks:
        if rack.name in seen:
            yield _p(rack.source, f"duplicate rack name '{rack.name}' (first at line {seen[rack.name].source.line})", rule="duplicate")
        else:
            seen[rack.name] = rack
    seen = {}
    for dev in design.devices:
        if dev.name in seen:
            first = seen[dev.name].source
            yield _p(dev.source, f"duplicate device name '{dev.name}' (first at {first.file}:{first.line})", rule="duplicate")
        else:
            seen[dev.name] = dev
    seen = {}
    for cable in design.cables:
        if cable.key in seen:
            first = seen[cable.key].source
            yield _p(cable.source, f"duplicate cable {cable.a} -- {cable.b} (first at {first.file}:{first.line})", rule="duplicate")
        else:
            seen[cable.key] = cable
    names = [o.name for o in design.floorplan.obstacles] + [w.name for w in design.floorplan.waypoints] + [t.name for t in design.floorplan.trays]
    dup = {n for n in names if names.count(n) > 1} if len(names) < 10_000 else set()
    for obj in (*design.floorplan.obstacles, *design.floorplan.waypoints, *design.floorplan.trays):
        if obj.name in dup:
            yield _p(obj.source, f"duplicate floor object name '{obj.name}'", rule="duplicate")
            dup.discard(obj.name)


def check_references(design: Design, ctx: Context) -> Iterable[Problem]:
    fp = design.floorplan
    for rack in fp.racks:
        if rack.rack_type not in fp.rack_types:
            yield _p(rack.source, f"rack '{rack.name}': unknown rack type '{rack.rack_type}'", path=f"{rack.source.path}.rack_type", rule="reference")
    racks = {r.name for r in fp.racks}
    for dev in design.devices:
        if dev.rack not in racks:
            yield _p(dev.source, f"device '{dev.name}': unknown rack '{dev.rack}'", path=f"{dev.source.path}.rack", rule="reference")
        if dev.device_type not in design.device_types:
            yield _p(dev.source, f"device '{dev.name}': unknown device type '{dev.device_type}'", path=f"{dev.source.path}.device_type", rule="reference")


# ---------------------------------------------------------------- rack elevations


def _occupied_half_units(dev: Device, dt: DeviceType) -> range:
    start = (dev.position - 1) * 2
    return range(start, start + int(round(dt.u_height * 2)))


def check_elevations(design: Design, ctx: Context) -> Iterable[Problem]:
    fp = design.floorplan
    racks = {r.name: r for r in fp.racks}
    occupancy: dict[tuple[str, str, int], Device] = {}
    for dev in sorted(design.devices, key=lambda d: (d.rack, d.position or 0, d.name)):
        dt = design.device_types.get(dev.device_type)
        rack = racks.get(dev.rack)
        rt = fp.rack_types.get(rack.rack_type) if rack else None
        if dt is None or rt is None:
            continue
        path = f"{dev.source.path}.position"
        if dt.u_height == 0:
            if dev.position is not None:
                yield _p(dev.source, f"device '{dev.name}' is zero-U ({dt.slug}); it takes no 'position'", path=path, severity=WARNING, rule="elevation")
            continue
        if dev.position is None:
            yield _p(dev.source, f"device '{dev.name}' needs a 'position' (lowest U occupied, {dt.u_height:g}U tall)", path=path, rule="elevation")
            continue
        top = dev.position + dt.u_height - 1
        if dev.position < 1 or top > rt.u_height:
            yield _p(dev.source, f"device '{dev.name}' occupies U{dev.position}-U{top:g}, outside rack '{rack.name}' (U1-U{rt.u_height})", path=path, rule="elevation")
            continue
        faces = (FRONT, REAR) if dt.is_full_depth else (dev.face,)
        clash = None
        for half in _occupied_half_units(dev, dt):
            for face in faces:
                other = occupancy.get((dev.rack, face, half))
                if other is not None and clash is None:
                    clash = (other, half // 2 + 1, face)
                occupancy[(dev.rack, face, half)] = dev
        if clash:
            other, u, face = clash
            yield _p(dev.source, f"device '{dev.name}' overlaps '{other.name}' at U{u} ({face}) in rack '{rack.name}'", path=path, rule="elevation")


def check_rack_budgets(design: Design, ctx: Context) -> Iterable[Problem]:
    fp = design.floorplan
    by_rack: dict[str, list[Device]] = defaultdict(list)
    for dev in design.devices:
        by_rack[dev.rack].append(dev)
    for rack in fp.racks:
        rt = fp.rack_types.get(rack.rack_type)
        devs = by_rack.get(rack.name, [])
        if rt is None or not devs:
            continue
        watts, kg = 0.0, 0.0
        no_draw, no_weight = [], []
        for dev in devs:
            dt = design.device_types.get(dev.device_type)
            if dt is None:
                continue
            draw = dt.max_draw_w
            if draw is None:
                if dt.u_height > 0 and not _is_pdu(dt):
                    no_draw.append(dev.name)
            else:
                watts += 0 if _is_pdu(dt) else draw
            if dt.weight_kg is None:
                no_weight.append(dev.name)
            else:
                kg += dt.weight_kg
        if rt.max_kw and watts > rt.max_kw * 1000:
            yield _p(rack.source, f"rack '{rack.name}' draws {watts / 1000:.1f} kW, over its {rt.max_kw:g} kW budget", rule="power")
        if rt.max_kw and no_draw:
            yield _p(rack.source, f"rack '{rack.name}': power draw unknown for {len(no_draw)} device(s) ({', '.join(no_draw[:3])}{'…' if len(no_draw) > 3 else ''}); budget check uses known draws ({watts / 1000:.1f} kW)", severity=WARNING, rule="power")
        if rt.max_kg and kg > rt.max_kg:
            yield _p(rack.source, f"rack '{rack.name}' holds {kg:.0f} kg, over its {rt.max_kg:g} kg limit", rule="weight")
        if rt.max_kg and no_weight:
            yield _p(rack.source, f"rack '{rack.name}': weight unknown for {len(no_weight)} device(s) ({', '.join(no_weight[:3])}{'…' if len(no_weight) > 3 else ''})", severity=WARNING, rule="weight")


def _is_pdu(dt: DeviceType) -> bool:
    """PDUs pass power through: their inlet draw is the rack's load, not extra load."""
    return any(p.kind == "power-outlet" for p in dt.ports)


# ---------------------------------------------------------------- cables


def check_cables(design: Design, ctx: Context) -> Iterable[Problem]:
    devices = design.device_index()
    used: dict[tuple[str, str], object] = {}
    for cable in design.cables:
        media = design.media.get(cable.media)
        if media is None:
            yield _p(cable.source, f"cable {cable.a} -- {cable.b}: unknown media '{cable.media}'", path=f"{cable.source.path}.media", rule="media")
        if cable.a == cable.b:
            yield _p(cable.source, f"cable {cable.a} -- {cable.b} connects a port to itself", rule="cable")
            continue
        for end_name, end in (("a", cable.a), ("b", cable.b)):
            path = f"{cable.source.path}.{end_name}"
            dev = devices.get(end.device)
            if dev is None:
                yield _p(cable.source, f"cable end {end}: unknown device '{end.device}'", path=path, rule="reference")
                continue
            dt = design.device_types.get(dev.device_type)
            if dt is None:
                continue
            port = dt.port(end.port)
            if port is None or port.kind not in CONNECTABLE_KINDS:
                near = [p.name for p in dt.ports if p.kind in CONNECTABLE_KINDS][:5]
                hint = f" (it has e.g. {', '.join(near)})" if near else " (its device type declares no ports)"
                yield _p(cable.source, f"cable end {end}: device type '{dt.slug}' has no port '{end.port}'{hint}", path=path, rule="port")
                continue
            key = (end.device, end.port)
            if key in used:
                other = used[key]
                yield _p(cable.source, f"port {end} is already used by cable {other.a} -- {other.b} ({other.source.file}:{other.source.line})", path=path, rule="port")
            else:
                used[key] = cable
            if media is not None:
                if media.port_types and port.type and port.type not in media.port_types:
                    yield _p(cable.source, f"cable end {end}: media '{media.slug}' does not fit port type '{port.type}' (fits {', '.join(media.port_types[:4])})", path=f"{cable.source.path}.media", rule="media")
                is_power_port = port.kind in ("power-port", "power-outlet")
                if is_power_port != (media.media_class == "power"):
                    yield _p(cable.source, f"cable end {end}: {media.media_class} media '{media.slug}' on a {port.kind}", path=f"{cable.source.path}.media", rule="media")


# ---------------------------------------------------------------- floor geometry


def rack_polygon(design: Design, rack) -> Polygon | None:
    rt: RackType | None = design.floorplan.rack_types.get(rack.rack_type)
    if rt is None:
        return None
    return Polygon(rack.footprint(rt))


def check_floor(design: Design, ctx: Context) -> Iterable[Problem]:
    fp = design.floorplan
    hall = Polygon(fp.outline) if len(fp.outline) >= 3 else None
    if hall is None:
        yield _p(fp.source, "the hall needs an outline of at least 3 points", path="outline", rule="floor")
        return
    if not hall.is_valid or hall.area <= 0:
        reason = shapely.is_valid_reason(hall)
        yield _p(fp.source, f"hall outline is not a simple polygon ({reason})", path="outline", rule="floor")
        return
    for tray in fp.trays:
        if len(set(tray.points)) < 2:
            yield _p(tray.source, f"tray '{tray.name}' has zero length", path=f"{tray.source.path}.points", rule="tray")
    obstacles = []
    for obs in fp.obstacles:
        poly = Polygon(obs.polygon)
        if not poly.is_valid or poly.area <= 0:
            yield _p(obs.source, f"obstacle '{obs.name}' is not a simple polygon ({shapely.is_valid_reason(poly)})", path=f"{obs.source.path}.polygon", rule="floor")
            continue
        obstacles.append((obs, poly))
    racks = [(r, rack_polygon(design, r)) for r in fp.racks]
    racks = [(r, p) for r, p in racks if p is not None]
    shapely.prepare(hall)
    for rack, poly in racks:
        if not hall.contains(poly) and poly.difference(hall).area > AREA_EPS_MM2:
            yield _p(rack.source, f"rack '{rack.name}' at {rack.position} lies (partly) outside the hall", rule="floor")
    rack_polys = [p for _, p in racks]
    tree = STRtree(rack_polys)
    pairs = tree.query(rack_polys, predicate="intersects")
    for i, j in zip(*pairs, strict=True):
        if i < j and rack_polys[i].intersection(rack_polys[j]).area > AREA_EPS_MM2:
            a, b = racks[i][0], racks[j][0]
            yield _p(b.source, f"rack '{b.name}' overlaps rack '{a.name}'", rule="floor")
    if obstacles:
        obs_polys = [p for _, p in obstacles]
        idx_r, idx_o = STRtree(obs_polys).query(rack_polys, predicate="intersects")
        for i, j in zip(idx_r, idx_o, strict=True):
            if rack_polys[i].intersection(obs_polys[j]).area > AREA_EPS_MM2:
                yield _p(racks[i][0].source, f"rack '{racks[i][0].name}' overlaps obstacle '{obstacles[j][0].name}'", rule="floor")
    yield from _check_face_clearance(design, ctx, hall, racks, obstacles)
    for wp in fp.waypoints:
        if not hall.covers(shapely.Point(wp.position)):
            yield _p(wp.source, f"waypoint '{wp.name}' lies outside the hall", rule="floor")


def _check_face_clearance(design, ctx, hall, racks, obstacles) -> Iterable[Problem]:
    """A working zone (rack width × clearance) must be free in front of each rack face."""
    fp = design.floorplan
    blockers = [p for _, p in racks] + [p for _, p in obstacles]
    tree = STRtree(blockers) if blockers else None
    walkable = hall
    for rack, _poly in racks:
        rt = fp.rack_types[rack.rack_type]
        nx, ny = rack.front_normal()
        ax, ay = -ny, nx
        for face, sign in ((FRONT, 1), (REAR, -1)):
            cx, cy = rack.face_point(rt, face)
            hw = rt.width_mm / 2 - 1  # 1 mm in from the sides: neighbours touch, they do not block
            d0, d1 = 1, ctx.clearance_mm
            zone = Polygon([
                (cx + ax * s * hw + sign * nx * d, cy + ay * s * hw + sign * ny * d)
                for s, d in ((-1, d0), (1, d0), (1, d1), (-1, d1))
            ])
            blocked = None
            if zone.difference(walkable).area > AREA_EPS_MM2:
                blocked = "the hall wall"
            elif tree is not None:
                for k in tree.query(zone, predicate="intersects"):
                    if zone.intersection(blockers[k]).area > AREA_EPS_MM2:
                        blocked = _blocker_name(k, racks, obstacles)
                        break
            if blocked:
                yield _p(rack.source, f"rack '{rack.name}': no {ctx.clearance_mm} mm working clearance at its {face} face (blocked by {blocked})", rule="clearance")


def _blocker_name(k, racks, obstacles) -> str:
    if k < len(racks):
        return f"rack '{racks[k][0].name}'"
    return f"obstacle '{obstacles[k - len(racks)][0].name}'"


RULES = (check_duplicates, check_references, check_elevations, check_rack_budgets, check_cables, check_floor)


def validate(design: Design, ctx: Context | None = None) -> list[Problem]:
    """Every problem of a design, sorted by file, line and path.

    Examples
    --------
    >>> [str(p) for p in validate(design) if p.severity == "error"]
    ['elevations.yaml:12: devices[3].position: device 'srv-04' overlaps 'srv-03' at U9 (front) in rack 'A01'']
    """
    ctx = ctx or Context()
    out: list[Problem] = []
    for rule in RULES:
        out.extend(rule(design, ctx))
    return sorted(set(out), key=lambda p: (p.file, p.line, p.path, p.message))
