"""Design validation rules. Pure: a Design in, a sorted list of Problems out.

Each rule is a function ``check_*(design, ctx) -> Iterable[Problem]``; ``RULES`` lists them in
order. Every rule is linear in the size of the design (dict lookups, one STRtree per geometry
family; overlaps on a work budget in :mod:`fieldops.core.overlaps`), so 10,000 racks and
100,000 cables validate in seconds. Geometry works in integer
millimetres with shapely and treats overlaps under ``AREA_EPS_MM2`` as touching.

Rule names (``Problem.rule``): ``duplicate``, ``reference``, ``elevation``, ``power``,
``weight``, ``port``, ``media``, ``cable``, ``floor``, ``tray``, ``clearance``; after routing
(:mod:`fieldops.core.trays`, :mod:`fieldops.core.feasibility`): ``fill``, ``separation``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from fieldops.core.delivery import check_floor_load
from fieldops.core.feeds import check_feeds
from fieldops.core.fluid import check_cooling
from fieldops.core.model import (
    FLUID_PORT,
    FRONT,
    REAR,
    Design,
    Device,
    DeviceType,
    PortTemplate,
    Rack,
    RackType,
)
from fieldops.core.overlaps import Overlaps, Shapes, first_blockers, overlapping_pairs
from fieldops.core.problems import ERROR, WARNING, Problem, sort_key
from fieldops.core.rackloads import rack_loads
from fieldops.core.trays import check_tray_geometry

AREA_EPS_MM2 = 1.0
MAX_OVERLAPS_SHOWN = 100  # overlap problems listed one by one; the rest are counted
DEFAULT_CLEARANCE_MM = 900  # working space in front of a rack face (a person, a tablet, a lift)
CONNECTABLE_KINDS = (
    "interface",
    "console-port",
    "console-server-port",
    "front-port",
    "rear-port",
    "power-port",
    "power-outlet",
    FLUID_PORT,
)
POWER_KINDS = ("power-port", "power-outlet")
# NetBox's COMPATIBLE_TERMINATION_TYPES, for the kinds a device type declares
_PASS_THROUGH = ("front-port", "rear-port")
COMPATIBLE_KINDS = {
    "interface": ("interface", *_PASS_THROUGH),
    "console-port": ("console-server-port", *_PASS_THROUGH),
    "console-server-port": ("console-port", *_PASS_THROUGH),
    "front-port": ("interface", "console-port", "console-server-port", *_PASS_THROUGH),
    "rear-port": ("interface", "console-port", "console-server-port", *_PASS_THROUGH),
    "power-port": ("power-outlet",),
    "power-outlet": ("power-port",),
    FLUID_PORT: (FLUID_PORT,),  # a hose: supply to supply, return to return (below)
}
VIRTUAL_INTERFACE_TYPES = ("virtual", "bridge", "lag")


@dataclass(frozen=True)
class Context:
    clearance_mm: int = DEFAULT_CLEARANCE_MM


def _p(src, message, *, path="", severity=ERROR, rule=""):
    return Problem.at(src, message, path=path, severity=severity, rule=rule)


def _where(src) -> str:
    return f"{src.file}:{src.line}" if src.line else src.file


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _few(names: list[str], n: int = 3) -> str:
    return ", ".join(names[:n]) + ("…" if len(names) > n else "")


# ---------------------------------------------------------------- names and references


def check_duplicates(design: Design, ctx: Context) -> Iterable[Problem]:
    """Racks, devices, floor objects and cable labels need unique names; a cable is drawn once."""
    fp = design.floorplan
    groups = (
        ("rack name", fp.racks, lambda r: r.name),
        ("device name", design.devices, lambda d: d.name),
        ("floor object name", (*fp.obstacles, *fp.waypoints, *fp.trays), lambda o: o.name),
        ("cable label", [c for c in design.cables if c.label], lambda c: c.label),
    )
    for what, items, name_of in groups:
        first: dict[str, object] = {}
        for item in items:
            name = name_of(item)
            if name in first:
                yield _p(
                    item.source,
                    f"duplicate {what} '{name}' (first at {_where(first[name].source)})",
                    rule="duplicate",
                )
            else:
                first[name] = item
    seen: dict[tuple[str, str], object] = {}
    for cable in design.cables:
        if cable.key in seen:
            yield _p(
                cable.source,
                f"duplicate cable {cable.a} -- {cable.b} (first at {_where(seen[cable.key].source)})",
                rule="duplicate",
            )
        else:
            seen[cable.key] = cable


def _unprintable(text: str) -> str:
    """The characters of ``text`` the PDFs cannot print (their fonts cover Latin-1)."""
    if text.isascii():
        return ""
    return "".join(dict.fromkeys(ch for ch in text if ord(ch) > 0xFF))


def check_printable(design: Design, ctx: Context) -> Iterable[Problem]:
    """Names printed on cut sheets and labels: a character outside Latin-1 prints as '?'."""
    named = [("rack", r.name, r.source) for r in design.floorplan.racks]
    named += [("device", d.name, d.source) for d in design.devices]
    for c in design.cables:  # a port's device is checked above
        named += [("port", f"{t.device}:{t.port}", c.source) for t in (c.a, c.b)]
        named += [("cable label", c.label, c.source)] if c.label else []
    seen: set[str] = set()
    for what, name, src in named:
        bad = _unprintable(name.rpartition(":")[2] if what == "port" else name)
        if bad and name not in seen:
            seen.add(name)
            yield _p(
                src,
                f"{what} '{name}': {bad!r} would print as '?' on cut sheets and labels "
                "(their fonts cover Latin-1 only)",
                severity=WARNING,
                rule="printable",
            )


_URL_UNSAFE = re.compile(r"[^A-Za-z0-9._:~\-\u0080-\U0010ffff]")  # ASCII a URL must escape


def check_url_safe(design: Design, ctx: Context) -> Iterable[Problem]:
    """Rack and device names become step IDs, which travel in URLs and QR payloads: a name
    with '/', a space, '#', '?' or '%' works (the app takes any ID) but has to be escaped
    wherever a person types or links it."""
    named = [("rack", r.name, r.source) for r in design.floorplan.racks]
    named += [("device", d.name, d.source) for d in design.devices]
    for what, name, src in named:
        odd = "".join(dict.fromkeys(_URL_UNSAFE.findall(name)))
        if odd:
            yield _p(
                src,
                f"{what} '{name}': {odd!r} must be escaped in the step IDs and links made from "
                "this name; letters, digits and - _ . : are safe",
                severity=WARNING,
                rule="url-safe",
            )


def check_references(design: Design, ctx: Context) -> Iterable[Problem]:
    """Every rack names a known rack type; every device a known rack and device type."""
    fp = design.floorplan
    for rack in fp.racks:
        if rack.rack_type not in fp.rack_types:
            known = _few(sorted(fp.rack_types)) or "none declared"
            yield _p(
                rack.source,
                f"rack '{rack.name}': unknown rack type '{rack.rack_type}' (known: {known})",
                path=f"{rack.source.path}.rack_type",
                rule="reference",
            )
    racks = {r.name for r in fp.racks}
    for dev in design.devices:
        if dev.rack not in racks:
            yield _p(
                dev.source,
                f"device '{dev.name}': unknown rack '{dev.rack}'",
                path=f"{dev.source.path}.rack",
                rule="reference",
            )
        if dev.device_type not in design.device_types:
            yield _p(
                dev.source,
                f"device '{dev.name}': unknown device type '{dev.device_type}' (not in the device_types sources)",
                path=f"{dev.source.path}.device_type",
                rule="reference",
            )


# ---------------------------------------------------------------- rack elevations


def _half_units(dev: Device, dt: DeviceType) -> range:
    start = (dev.position - 1) * 2
    return range(start, start + int(round(dt.u_height * 2)))


def _top_u(dev: Device, dt: DeviceType) -> int:
    # only called for devices with u_height > 0 (0-U ones are skipped first), where
    # ``units`` is exactly ceil(u_height)
    return dev.position + dt.units - 1


def check_elevations(design: Design, ctx: Context) -> Iterable[Problem]:
    """Devices sit inside their rack's U range and do not overlap.

    A full-depth device fills both faces of its units; a half-depth one only its ``face``, so a
    half-depth switch at the rear and a half-depth patch panel at the front share a U. An overlap
    is reported on the device declared later, naming the one declared first.
    """
    fp = design.floorplan
    racks = {r.name: r for r in fp.racks}
    occupancy: dict[tuple[str, str, int], Device] = {}
    for dev in design.devices:  # declaration order: a clash is reported on the later device
        dt = design.device_types.get(dev.device_type)
        rack = racks.get(dev.rack)
        rt = fp.rack_types.get(rack.rack_type) if rack else None
        if dt is None or rt is None:
            continue
        path = f"{dev.source.path}.position"
        if dt.u_height == 0:
            if dev.position is not None:
                yield _p(
                    dev.source,
                    f"device '{dev.name}' is zero-U ({dt.slug}); it takes no 'position' (ignored)",
                    path=path,
                    severity=WARNING,
                    rule="elevation",
                )
            continue
        if dev.position is None:
            yield _p(
                dev.source,
                f"device '{dev.name}' needs a 'position' (lowest U occupied, {dt.u_height:g}U tall)",
                path=path,
                rule="elevation",
            )
            continue
        top = _top_u(dev, dt)
        if dev.position < 1 or top > rt.u_height:
            span = f"U{dev.position}" if top == dev.position else f"U{dev.position}-U{top}"
            yield _p(
                dev.source,
                f"device '{dev.name}' ({dt.u_height:g}U) at {span} lies outside rack '{rack.name}' (U1-U{rt.u_height})",
                path=path,
                rule="elevation",
            )
            continue
        faces = (FRONT, REAR) if dt.is_full_depth else (dev.face,)
        clash = None
        for half in _half_units(dev, dt):
            for face in faces:
                key = (dev.rack, face, half)
                other = occupancy.get(key)
                if other is not None and clash is None:
                    clash = (other, half // 2 + 1, face)
                occupancy[key] = dev
        if clash:
            other, u, face = clash
            yield _p(
                dev.source,
                f"device '{dev.name}' overlaps '{other.name}' at U{u} ({face}) in rack '{rack.name}'",
                path=path,
                rule="elevation",
            )


def check_rack_budgets(design: Design, ctx: Context) -> Iterable[Problem]:
    """Sum device draw (allocated, else maximum) and weight per rack against its rack type.

    Unknown draw or weight is a warning naming the devices; PDUs (device types with power
    outlets) add their weight but not their draw, which is the rack's load passing through.
    """
    fp = design.floorplan
    loads = rack_loads(design)
    for rack in fp.racks:
        rt = fp.rack_types.get(rack.rack_type)
        load = loads.get(rack.name)
        if rt is None or load is None:
            continue
        watts, kg, no_draw, no_weight = load.watts, load.kg, load.no_draw, load.no_weight
        if rt.max_kw and watts > rt.max_kw * 1000:
            yield _p(
                rack.source,
                f"rack '{rack.name}' draws {watts:,.0f} W, over its {rt.max_kw:g} kW budget ({rt.slug})",
                rule="power",
            )
        if rt.max_kw and no_draw:
            yield _p(
                rack.source,
                f"rack '{rack.name}': power draw unknown for {len(no_draw)} device(s) ({_few(sorted(no_draw))}); budget check uses the known {watts:,.0f} W",
                severity=WARNING,
                rule="power",
            )
        if rt.max_kg and kg > rt.max_kg:
            yield _p(
                rack.source,
                f"rack '{rack.name}' holds {kg:,.1f} kg, over its {rt.max_kg:g} kg limit ({rt.slug})",
                rule="weight",
            )
        if rt.max_kg and no_weight:
            yield _p(
                rack.source,
                f"rack '{rack.name}': weight unknown for {len(no_weight)} device(s) ({_few(sorted(no_weight))}); weight check uses the known {kg:,.1f} kg",
                severity=WARNING,
                rule="weight",
            )


# ---------------------------------------------------------------- cables


def check_cables(design: Design, ctx: Context) -> Iterable[Problem]:
    """Both ends exist, are physical ports of compatible kinds, are used once, and fit the media."""
    devices = design.device_index()
    port_maps: dict[str, dict[str, PortTemplate]] = {}
    for slug, dt in design.device_types.items():
        ports: dict[str, PortTemplate] = {}
        for p in dt.ports:
            ports.setdefault(p.name, p)
        port_maps[slug] = ports
    used: dict[tuple[str, str], object] = {}
    drawn: set[tuple[str, str]] = set()
    for cable in design.cables:
        path = cable.source.path
        media = design.media.get(cable.media)
        if media is None:
            known = _few(sorted(design.media), 4)
            yield _p(
                cable.source,
                f"cable {cable.a} -- {cable.b}: unknown media '{cable.media}' (known: {known})",
                path=f"{path}.media",
                rule="media",
            )
        if cable.a == cable.b:
            yield _p(
                cable.source,
                f"cable {cable.a} -- {cable.b} connects a port to itself",
                rule="cable",
            )
            continue
        if cable.key in drawn:
            continue  # a duplicate cable: check_duplicates reports it once
        drawn.add(cable.key)
        ends: list[PortTemplate] = []
        for end_name, end in (("a", cable.a), ("b", cable.b)):
            epath = f"{path}.{end_name}"
            dev = devices.get(end.device)
            if dev is None:
                yield _p(
                    cable.source,
                    f"cable end {end}: unknown device '{end.device}'",
                    path=epath,
                    rule="reference",
                )
                continue
            dt = design.device_types.get(dev.device_type)
            if dt is None:
                continue  # check_references reports the device
            port = port_maps[dt.slug].get(end.port)
            if port is None or port.kind not in CONNECTABLE_KINDS:
                near = [p.name for p in dt.ports if p.kind in CONNECTABLE_KINDS][:5]
                hint = (
                    f" (it has e.g. {', '.join(near)})"
                    if near
                    else " (its device type declares no ports)"
                )
                yield _p(
                    cable.source,
                    f"cable end {end}: device type '{dt.slug}' has no port '{end.port}'{hint}",
                    path=epath,
                    rule="port",
                )
                continue
            if port.kind == "interface" and port.type in VIRTUAL_INTERFACE_TYPES:
                yield _p(
                    cable.source,
                    f"cable end {end}: '{end.port}' is a {port.type} interface and takes no cable",
                    path=epath,
                    rule="port",
                )
                continue
            key = (end.device, end.port)
            if key in used:
                other = used[key]
                yield _p(
                    cable.source,
                    f"port {end} is already used by cable {other.a} -- {other.b} ({_where(other.source)})",
                    path=epath,
                    rule="port",
                )
            else:
                used[key] = cable
            ends.append(port)
            if media is not None:
                if media.port_types and port.type and port.type not in media.port_types:
                    yield _p(
                        cable.source,
                        f"cable end {end}: media '{media.slug}' does not fit port type '{port.type}' (fits {_few(list(media.port_types), 4)})",
                        path=f"{path}.media",
                        rule="media",
                    )
                if (port.kind == FLUID_PORT) != (media.media_class == "fluid"):
                    yield _p(
                        cable.source,
                        f"cable end {end}: {media.media_class} media '{media.slug}' cannot connect to {_a(port.kind)}"
                        + (" (a hose needs fluid media)" if port.kind == FLUID_PORT else ""),
                        path=f"{path}.media",
                        rule="media",
                    )
                elif (port.kind in POWER_KINDS) != (media.media_class == "power"):
                    yield _p(
                        cable.source,
                        f"cable end {end}: {media.media_class} media '{media.slug}' cannot plug into {_a(port.kind)}",
                        path=f"{path}.media",
                        rule="media",
                    )
        if len(ends) == 2 and ends[1].kind not in COMPATIBLE_KINDS.get(ends[0].kind, ()):
            yield _p(
                cable.source,
                f"cable {cable.a} -- {cable.b}: {_a(ends[0].kind)} cannot connect to {_a(ends[1].kind)}",
                rule="port",
            )
        elif len(ends) == 2 and ends[0].fluid_leg != ends[1].fluid_leg:
            yield _p(
                cable.source,
                f"hose {cable.a} -- {cable.b}: joins the {ends[0].fluid_leg} and the {ends[1].fluid_leg} side of the loop",
                rule="port",
            )


# ---------------------------------------------------------------- floor geometry


def rack_footprints(design: Design) -> tuple[list[Rack], Shapes]:
    """The racks of known rack types and their footprints (same order)."""
    types = design.floorplan.rack_types
    racks = [r for r in design.floorplan.racks if r.rack_type in types]
    return racks, Shapes.rectangles([r.footprint(types[r.rack_type]) for r in racks])


def check_floor(design: Design, ctx: Context) -> Iterable[Problem]:
    """Racks inside the hall, not overlapping each other or obstacles, with clearance at both faces."""
    fp = design.floorplan
    hall = Polygon(fp.outline) if len(fp.outline) >= 3 else None
    if hall is None:
        yield _p(
            fp.source,
            "the hall needs an outline of at least 3 points",
            path=_sub(fp.source.path, "outline"),
            rule="floor",
        )
        return
    if not hall.is_valid or hall.area <= 0:
        reason = shapely.is_valid_reason(hall)
        yield _p(
            fp.source,
            f"hall outline is not a simple polygon ({reason})",
            path=_sub(fp.source.path, "outline"),
            rule="floor",
        )
        return
    shapely.prepare(hall)
    for tray in fp.trays:
        if len(set(tray.points)) < 2:
            yield _p(
                tray.source,
                f"tray '{tray.name}' has zero length",
                path=f"{tray.source.path}.points",
                rule="tray",
            )
    obstacles = []
    for obs in fp.obstacles:
        poly = Polygon(obs.polygon)
        if not poly.is_valid or poly.area <= 0:
            yield _p(
                obs.source,
                f"obstacle '{obs.name}' is not a simple polygon ({shapely.is_valid_reason(poly)})",
                path=f"{obs.source.path}.polygon",
                rule="floor",
            )
            continue
        obstacles.append((obs, poly))
    racks, shapes = rack_footprints(design)
    polys = shapes.polys
    if len(polys):
        outside = ~shapely.contains(hall, polys)
        if outside.any():
            spill = shapely.area(shapely.difference(polys[outside], hall))
            for k, area in zip(np.flatnonzero(outside).tolist(), spill.tolist(), strict=True):
                if area > AREA_EPS_MM2:
                    rack = racks[k]
                    yield _p(
                        rack.source,
                        f"rack '{rack.name}' at {list(rack.position)} lies (partly) outside the hall",
                        rule="floor",
                    )
    found = overlapping_pairs(shapes, eps=AREA_EPS_MM2, limit=MAX_OVERLAPS_SHOWN)
    for i, j in found.pairs:
        a, b = racks[i], racks[j]
        yield _p(b.source, f"rack '{b.name}' overlaps rack '{a.name}'", rule="floor")
    yield from _more(fp, found, "pairs of overlapping racks")
    obs_shapes = Shapes.polygons([p for _, p in obstacles])
    found_obs = overlapping_pairs(shapes, obs_shapes, eps=AREA_EPS_MM2, limit=MAX_OVERLAPS_SHOWN)
    for i, j in found_obs.pairs:
        yield _p(
            racks[i].source,
            f"rack '{racks[i].name}' overlaps obstacle '{obstacles[j][0].name}'",
            rule="floor",
        )
    yield from _more(fp, found_obs, "racks overlapping obstacles")
    if found.total > MAX_OVERLAPS_SHOWN or found_obs.total > MAX_OVERLAPS_SHOWN:
        return  # racks piled on each other: clearance would only repeat that
    yield from _check_face_clearance(design, ctx, hall, racks, shapes + obs_shapes, obstacles)
    for wp in fp.waypoints:
        if not hall.covers(shapely.Point(wp.position)):
            yield _p(
                wp.source,
                f"waypoint '{wp.name}' at {list(wp.position)} lies outside the hall",
                rule="floor",
            )


def _sub(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def clearance_zone(
    rack: Rack, rt: RackType, face: str, clearance_mm: int
) -> list[tuple[float, float]]:
    """The working zone in front of a rack face: the rack's width × ``clearance_mm``.

    It starts 1 mm off the face and stops 1 mm short of the sides, so neighbours in a row
    (touching side by side) do not block each other.
    """
    nx, ny = rack.front_normal()
    ax, ay = -ny, nx
    sign = 1 if face == FRONT else -1
    cx, cy = rack.face_point(rt, face)
    hw = rt.width_mm / 2 - 1
    d0, d1 = 1, clearance_mm
    return [
        (cx + ax * s * hw + sign * nx * d, cy + ay * s * hw + sign * ny * d)
        for s, d in ((-1, d0), (1, d0), (1, d1), (-1, d1))
    ]


def _check_face_clearance(design, ctx, hall, racks, blockers, obstacles) -> Iterable[Problem]:
    """A working zone (rack width × clearance) must be free in front of each rack face."""
    if ctx.clearance_mm <= 0 or not racks:
        return
    fp = design.floorplan
    zones = Shapes.rectangles(
        [
            clearance_zone(rack, fp.rack_types[rack.rack_type], face, ctx.clearance_mm)
            for rack in racks
            for face in (FRONT, REAR)
        ]
    )
    walled = ~shapely.contains(hall, zones.polys)
    if walled.any():
        spill = np.zeros(len(zones))
        spill[walled] = shapely.area(shapely.difference(zones.polys[walled], hall))
        walled = spill > AREA_EPS_MM2
    own = np.repeat(np.arange(len(racks)), 2)  # a zone touches its own rack's face: not a blocker
    first = first_blockers(zones, blockers, eps=AREA_EPS_MM2, skip=own)
    for z in np.flatnonzero(walled | (first >= 0)).tolist():
        rack, face = racks[z // 2], (FRONT, REAR)[z % 2]
        blocked = "the hall wall" if walled[z] else _blocker_name(int(first[z]), racks, obstacles)
        yield _p(
            rack.source,
            f"rack '{rack.name}': no {ctx.clearance_mm} mm working clearance at its {face} face (blocked by {blocked})",
            rule="clearance",
        )


def _more(fp, found: Overlaps, what: str) -> Iterable[Problem]:
    """One problem for the overlaps not listed one by one."""
    more = found.total - len(found.pairs)
    if more > 0 or not found.exact:
        yield _p(
            fp.source,
            f"and {'' if found.exact else 'at least '}{more:,} more {what} (the first "
            f"{len(found.pairs)} are listed)",
            path=_sub(fp.source.path, "racks"),
            rule="floor",
        )


def _blocker_name(k, racks, obstacles) -> str:
    if k < len(racks):
        return f"rack '{racks[k].name}'"
    return f"obstacle '{obstacles[k - len(racks)][0].name}'"


RULES = (
    check_duplicates,
    check_printable,
    check_url_safe,
    check_references,
    check_elevations,
    check_rack_budgets,
    check_cables,
    check_floor,
    check_tray_geometry,  # fieldops.core.trays: obstacles, racks, the hall wall, near misses
    check_cooling,  # fieldops.core.fluid: every liquid-cooled device's fluid ports have hoses
    check_feeds,  # fieldops.core.feeds: one A/B feed's loss takes no device or busbar rack down
    check_floor_load,  # fieldops.core.delivery: each rack installed within the floor's rating
)


def validate(design: Design, ctx: Context | None = None) -> list[Problem]:
    """Every problem of a design, sorted by file, line and path.

    Examples
    --------
    >>> [str(p) for p in validate(design) if p.severity == "error"]
    ["elevations.yaml:12: devices[3].position: device 'srv-04' overlaps 'srv-03' at U9 (front) in rack 'A01'"]
    """
    ctx = ctx or Context()
    out: set[Problem] = set()
    for rule in RULES:
        out.update(rule(design, ctx))
    return sorted(out, key=sort_key)
