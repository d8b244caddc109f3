"""Load a design directory (``design.yaml`` + floor plan + elevations + connections).

The format is documented in docs/formats.md. Loading collects every problem it can find and
raises :class:`DesignError` only when nothing usable can be built; otherwise the problems
travel with the design to validation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from fieldops.adapters import netboxcsv, safefiles
from fieldops.adapters.devicetypes import BUILTIN, builtin_library, keep_gaps_for, load_device_types
from fieldops.adapters.fluidfile import apply_fluid, load_fluid
from fieldops.adapters.yamlfile import (
    Fields,
    LMap,
    bad_char,
    describe,
    display_path,
    item_line,
    read_yaml,
)
from fieldops.core.model import (
    FACES,
    FRONT,
    MEDIA_CLASSES,
    OVERHEAD,
    PROFILE_KINDS,
    Cable,
    CableTray,
    Design,
    Device,
    FloorGrid,
    FloorPlan,
    FluidRules,
    Media,
    Obstacle,
    Rack,
    RackType,
    RobotProfile,
    Source,
    Termination,
    TrayRules,
    Waypoint,
    frozen_map,
)
from fieldops.core.problems import DesignError, Problem, errors
from fieldops.core.vda5050 import VERSIONS as VDA_VERSIONS

MAX_INCLUDE_DEPTH = 16
# what a loader can still raise on hostile input (deep structures, huge numbers, odd files)
LOAD_FAILURES = (
    ArithmeticError,
    LookupError,
    MemoryError,
    OSError,
    RecursionError,
    RuntimeError,
    TypeError,
    ValueError,
)
MAX_RACKS = 25_000  # racks in one hall (listed and from rows); a sanity cap, not a target


@dataclass
class Loaded:
    design: Design
    problems: list[Problem] = field(default_factory=list)
    base: Path = Path(".")


def builtin_media_file() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "media.yaml"


# ---------------------------------------------------------------- floor plan


def parse_floorplan(data, file: str, problems: list[Problem], path: str = "") -> FloorPlan:
    """A floor plan from its YAML mapping (``path`` prefixes field paths when inline)."""
    f = Fields(data, file, path, problems)
    hall = f.str("hall", max_len=64) or "HALL"
    outline = f.polygon("outline")
    g = Fields(f.map("grid"), file, f.sub("grid"), problems, line=f.line_of("grid"))
    grid = FloorGrid(
        pitch_mm=g.int("pitch_mm", 600, required=False, low=100, high=10_000),
        origin=g.point("origin", required=False) or (0, 0),
        prefix=(g.str("prefix", "1A", required=False, max_len=16) or "1A").upper(),
        first_row=g.int("first_row", 1, required=False, low=0, high=10_000),
        row_digits=g.int("row_digits", 2, required=False, low=1, high=6),
    )
    g.unknown()
    obstacles = []
    for o in f.each("obstacles", max_items=100_000):
        name = o.str("name", max_len=64)
        poly = o.polygon("polygon")
        kind = o.str(
            "kind", "other", required=False, choices=("column", "cooling", "keepout", "other")
        )
        height = parse_obstacle_height(o)
        o.unknown()
        if name and poly:
            obstacles.append(Obstacle(name, kind, poly, o.source(), height))
    waypoints = []
    for w in f.each("waypoints", max_items=10_000):
        name = w.str("name", max_len=64)
        kind = w.str("kind", "staging", required=False, choices=("door", "staging", "dock"))
        pos = w.point("position")
        opening = {
            k: w.int(k, 0, required=False, low=0, high=20_000) or 0
            for k in ("width_mm", "height_mm")
        }
        w.unknown()
        if name and pos:
            waypoints.append(Waypoint(name, kind, pos, w.source(), **opening))
    trays = []
    for t in f.each("trays", max_items=100_000):
        name = t.str("name", max_len=64)
        pts = t.polygon("points", min_points=2)
        media = t.raw("media", ["copper", "fibre"])
        media = [media] if isinstance(media, str) else media
        if not isinstance(media, list) or not media or any(m not in MEDIA_CLASSES for m in media):
            t.error("media", f"expected a list of media classes from: {', '.join(MEDIA_CLASSES)}")
            media = []
        elev = t.int("elevation_mm", 2700, required=False, low=0, high=20_000)
        width = t.int("width_mm", 300, required=False, low=50, high=3_000)
        fill = parse_tray_fill(t)
        t.unknown()
        if name and pts and media:
            trays.append(CableTray(name, pts, elev, width, tuple(media), t.source(), **fill))
    rack_types = {}
    for rt in f.each("rack_types", max_items=10_000):
        slug = rt.str("slug", max_len=64)
        value = RackType(
            slug=slug or "",
            width_mm=rt.int("width_mm", 600, required=False, low=200, high=3_000),
            depth_mm=rt.int("depth_mm", 1200, required=False, low=200, high=3_000),
            u_height=rt.int("u_height", 42, required=False, low=1, high=100),
            max_kw=rt.number("max_kw", 0.0, required=False, low=0, high=10_000),
            max_kg=rt.number("max_kg", 0.0, required=False, low=0, high=100_000),
            height_mm=rt.int("height_mm", 0, required=False, low=0, high=10_000),
            source=rt.source(),
            weight_kg=rt.number("weight_kg", 0.0, required=False, low=0, high=100_000),
        )
        rt.unknown()
        if slug:
            if slug in rack_types:
                rt.error(
                    "slug",
                    f"duplicate rack type '{slug}' (first at line {rack_types[slug].source.line})",
                )
            rack_types[slug] = value
    racks: list[Rack] = []
    for r in f.each("racks", max_items=MAX_RACKS):
        name = r.str("name", max_len=64)
        rtype = r.str("rack_type", max_len=64)
        pos = r.point("position")
        rot = r.number("rotation_deg", 0.0, required=False, low=-360, high=360)
        row = r.str("row", "", required=False, max_len=32)
        r.unknown()
        if name and rtype and pos is not None:
            racks.append(Rack(name, rtype, pos, float(rot), row or "", r.source()))
    for row in f.each("rows", max_items=10_000):
        racks.extend(_expand_row(row, rack_types, room=MAX_RACKS - len(racks)))
    tray_rules = parse_tray_rules(f)
    floor_load = f.number("floor_load_kg_m2", 0.0, required=False, low=0, high=1_000_000)
    f.unknown()
    return FloorPlan(
        name=hall,
        outline=outline,
        grid=grid,
        obstacles=tuple(obstacles),
        waypoints=tuple(waypoints),
        trays=tuple(trays),
        rack_types=frozen_map(rack_types),
        racks=tuple(racks),
        source=f.source(),
        tray_rules=tray_rules,
        floor_load_kg_m2=floor_load or 0.0,
    )


# ---------------------------------------------------------------- tray engineering fields


def parse_obstacle_height(o: Fields) -> int:
    """An obstacle's ``height_mm`` (0 or absent: floor to ceiling)."""
    return o.int("height_mm", 0, required=False, low=0, high=20_000)


def parse_tray_fill(t: Fields) -> dict:
    """A tray's fill fields: ``depth_mm``, ``max_fill_ratio``, ``fill_area_mm2``, ``divider``
    (0 / absent: the floor plan's ``tray_rules``)."""
    return {
        "depth_mm": t.int("depth_mm", 0, required=False, low=0, high=1_000),
        "max_fill_ratio": float(
            t.number("max_fill_ratio", 0.0, required=False, low=0.0, high=1.0) or 0.0
        ),
        "fill_area_mm2": t.int("fill_area_mm2", 0, required=False, low=0, high=10_000_000),
        "divider": bool(t.bool("divider", False, required=False)),
    }


def parse_tray_rules(f: Fields) -> TrayRules:
    """The floor plan's ``tray_rules:`` mapping (every field optional; defaults in TrayRules)."""
    if not f.has("tray_rules"):
        return TrayRules()
    r = Fields(
        f.map("tray_rules"), f.file, f.sub("tray_rules"), f.problems, line=f.line_of("tray_rules")
    )
    d = TrayRules()
    separate = d.separate
    raw = r.raw("separate")
    if raw is not None:
        pairs = raw if isinstance(raw, list) else None
        ok = pairs is not None and all(
            isinstance(p, list)
            and len(p) == 2
            and all(c in MEDIA_CLASSES for c in p)
            and p[0] != p[1]
            for p in pairs
        )
        if ok:
            separate = tuple((p[0], p[1]) for p in pairs)
        else:
            r.error(
                "separate",
                f"expected a list of pairs of different media classes from: {', '.join(MEDIA_CLASSES)} "
                "(e.g. [[power, copper]]; [] separates nothing)",
            )
    rules = TrayRules(
        max_fill_ratio=float(
            r.number("max_fill_ratio", d.max_fill_ratio, required=False, low=0.01, high=1.0)
        ),
        depth_mm=r.int("depth_mm", d.depth_mm, required=False, low=10, high=1_000),
        overfill=r.str("overfill", d.overfill, required=False, choices=("error", "warning"))
        or d.overfill,
        separate=separate,
        join_tolerance_mm=r.int(
            "join_tolerance_mm", d.join_tolerance_mm, required=False, low=0, high=5_000
        ),
        source=r.source(),
    )
    r.unknown({"separate"})
    return rules


def _expand_row(row: Fields, rack_types: dict[str, RackType], room: int) -> list[Rack]:
    """``rows:`` entries declare identical racks side by side along the rack width axis."""
    name = row.str("name", max_len=32)
    rtype = row.str("rack_type", max_len=64)
    count = row.int("count", low=1, high=10_000)
    first = row.point("first")
    rot = float(row.number("rotation_deg", 0.0, required=False, low=-360, high=360))
    pitch = row.int("pitch_mm", None, required=False, low=100, high=10_000)
    start = row.int("start", 1, required=False, low=0, high=100_000)
    digits = row.int("digits", 2, required=False, low=1, high=6)
    prefix = row.str("prefix", name or "", required=False, max_len=32)
    row.unknown()
    if not (name and rtype and count and first is not None):
        return []
    if count > room:
        row.error("count", f"{count:,} more racks make the hall over the {MAX_RACKS:,}-rack limit")
        return []
    if pitch is None:
        pitch = rack_types[rtype].width_mm if rtype in rack_types else 600
    probe = Rack("", rtype, (0, 0), rot)
    nx, ny = probe.front_normal()
    ax, ay = -ny, nx  # width axis, left to right seen from the front is -axis; keep it simple
    out = []
    for i in range(count):
        pos = (round(first[0] + ax * pitch * i), round(first[1] + ay * pitch * i))
        out.append(Rack(f"{prefix}{start + i:0{digits}d}", rtype, pos, rot, name, row.source()))
    return out


# ---------------------------------------------------------------- media, robots


def parse_media(data, file: str, problems: list[Problem]) -> dict[str, Media]:
    f = Fields(data, file, "", problems)
    out: dict[str, Media] = {}
    for m in f.each("media", required=True, max_items=10_000):
        slug = m.str("slug", max_len=64)
        lengths = m.list("lengths_mm", required=True, max_items=1_000)
        good = [
            x
            for x in lengths
            if isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 1_000_000
        ]
        if len(good) != len(lengths) or not good:
            m.error("lengths_mm", "expected a non-empty list of whole millimetres (1..1,000,000)")
        port_types = m.raw("port_types", [])
        if not isinstance(port_types, list) or not all(isinstance(p, str) for p in port_types):
            m.error("port_types", "expected a list of NetBox port types")
            port_types = []
        media = Media(
            slug=slug or "",
            name=m.str("name", slug or "", required=False, max_len=120),
            media_class=m.str("class", choices=MEDIA_CLASSES),
            cable_type=m.str("cable_type", "", required=False, max_len=40) or "",
            lengths_mm=tuple(sorted(set(good))),
            sku=m.str("sku", "{slug}-{length_m}M", required=False, max_len=80),
            bend_radius_mm=m.int("bend_radius_mm", 30, required=False, low=0, high=2_000),
            slack_per_end_mm=m.int("slack_per_end_mm", 300, required=False, low=0, high=20_000),
            reach_mm=m.int("reach_mm", 0, required=False, low=0, high=10_000_000),
            port_types=tuple(port_types),
            color=m.str("color", "", required=False, max_len=20) or "",
            source=m.source(),
            outer_diameter_mm=float(
                m.number("outer_diameter_mm", 0.0, required=False, low=0, high=200) or 0.0
            ),
            inner_diameter_mm=float(
                m.number("inner_diameter_mm", 0.0, required=False, low=0, high=500) or 0.0
            ),
        )
        m.unknown()
        try:
            media.sku_for(1000)
        except (KeyError, IndexError, ValueError):
            m.error("sku", "sku must be a format using only {slug}, {length_m} and {length_mm}")
            continue
        if slug and media.media_class and good:
            if slug in out:
                m.error("slug", f"duplicate media '{slug}'")
            out[slug] = media
    f.unknown()
    return out


def load_media(path: Path, problems: list[Problem], base: Path | None = None) -> dict[str, Media]:
    label = display_path(path, base)
    try:
        return parse_media(read_yaml(path, label), label, problems)
    except DesignError as exc:
        problems.extend(exc.problems)
        return {}


def parse_robot_profile(data, file: str, problems: list[Problem]) -> RobotProfile | None:
    f = Fields(data, file, "", problems)
    name = f.str("name", max_len=64)
    kind = f.str("kind", choices=PROFILE_KINDS)
    actions = f.list("actions", required=True, max_items=200)
    if not all(isinstance(a, str) for a in actions):
        f.error("actions", "expected a list of action names")
        actions = []
    times = f.map("action_time_s")
    tf = Fields(times, file, "action_time_s", problems, line=f.line_of("action_time_s"))
    action_time = {k: tf.number(k, low=0, high=86_400) for k in times}
    profile = RobotProfile(
        name=name or "",
        kind=kind or "",
        manufacturer=_robot_text(f, "manufacturer", kind),
        serial_number=_robot_text(f, "serial_number", kind),
        actions=tuple(actions),
        payload_kg=f.number("payload_kg", 0.0, required=False, low=0, high=10_000),
        u_min=f.int("u_min", 1, required=False, low=0, high=100),
        u_max=f.int("u_max", 60, required=False, low=0, high=100),
        speed_m_s=f.number("speed_m_s", 1.0, required=False, low=0.01, high=20),
        width_mm=f.int("width_mm", 600, required=False, low=100, high=5_000),
        action_time_s=frozen_map({k: v for k, v in action_time.items() if v is not None}),
        count=f.int("count", 1, required=False, low=0, high=10_000),
        source=f.source(),
        vda_version=f.str("vda_version", "", required=False, choices=("", *VDA_VERSIONS)) or "",
    )
    f.unknown()
    if profile.u_min > profile.u_max:
        f.error("u_min", f"u_min {profile.u_min} is above u_max {profile.u_max}")
    return profile if name and kind else None


def _robot_text(f: Fields, key: str, kind: str | None) -> str:
    """VDA 5050 needs a robot's manufacturer and serial number (its topic); crews may omit them."""
    if kind == "robot":
        return f.str(key, max_len=64) or ""
    return f.str(key, "", required=False, max_len=64) or ""


def load_robot_profile(
    path: Path, problems: list[Problem] | None = None, base: Path | None = None
) -> RobotProfile:
    """Load one profile; raises DesignError when it has errors."""
    problems = [] if problems is None else problems
    label = display_path(path, base)
    mark = len(problems)
    profile = parse_robot_profile(read_yaml(path, label), label, problems)
    if profile is None or errors(problems[mark:]):
        raise DesignError(errors(problems[mark:]) or [Problem(label, 0, "", "not a robot profile")])
    return profile


# ---------------------------------------------------------------- elevations and connections


def parse_termination(value, report) -> Termination | None:
    """A cable end from ``"device:port"`` (split at the first colon) or ``{device:, port:}``."""
    if isinstance(value, dict):
        dev, port = value.get("device"), value.get("port")
    elif isinstance(value, str) and ":" in value:
        dev, port = value.split(":", 1)
    elif value is None:
        report("missing cable end: expected 'device:port'")
        return None
    else:
        report(f"expected 'device:port' or {{device: ..., port: ...}}, got {describe(value)}")
        return None
    if not isinstance(dev, str) or not isinstance(port, str) or not dev.strip() or not port.strip():
        report("expected 'device:port' with both parts")
        return None
    if len(dev) > 100 or len(port) > 100:
        report("device or port name is over 100 characters")
        return None
    bad = bad_char(dev + port)
    if bad:
        report(f"text contains the control character {bad}; use one line of printable text")
        return None
    return Termination(dev.strip(), port.strip())


def parse_devices(f: Fields, key: str = "devices") -> list[Device]:
    out = []
    for d in f.each(key, max_items=1_000_000):
        name = d.str("name", max_len=100)
        dtype = d.str("device_type", max_len=100)
        rack = d.str("rack", max_len=64)
        raw_pos = d.raw("position")
        if isinstance(raw_pos, float) and math.isfinite(raw_pos) and not raw_pos.is_integer():
            # NetBox allows half-U positions; racks here are planned in whole units
            d.error(
                "position",
                f"half-U position {raw_pos:g}: fieldops plans whole units, "
                f"use {math.floor(raw_pos)} or {math.ceil(raw_pos)}",
            )
            pos = None
        else:
            pos = d.int("position", None, required=False, low=-10_000, high=10_000)
        face = d.str("face", FRONT, required=False, choices=FACES)
        ports_face = d.str("ports_face", "", required=False, choices=("",) + FACES)
        mounting = d.str("mounting", "", required=False, choices=(OVERHEAD,))
        if mounting and pos is not None:
            d.error("mounting", f"'{mounting}' is for a zero-U device: remove its position")
        dev = Device(
            name=name or "",
            device_type=dtype or "",
            rack=rack or "",
            position=pos,
            face=face or FRONT,
            role=d.str("role", "", required=False, max_len=64) or "",
            asset_tag=d.str("asset_tag", "", required=False, max_len=64) or "",
            serial=d.str("serial", "", required=False, max_len=64) or "",
            ports_face=ports_face or "",
            mounting=mounting or "",
            source=d.source(),
        )
        d.unknown()
        if name and dtype and rack:
            out.append(dev)
    return out


def parse_cables(f: Fields, key: str = "cables") -> list[Cable]:
    out = []
    for c in f.each(key, max_items=2_000_000):
        a = parse_termination(c.raw("a"), lambda m, c=c: c.error("a", m))
        b = parse_termination(c.raw("b"), lambda m, c=c: c.error("b", m))
        media = c.str("media", max_len=64)
        label = c.str("label", "", required=False, max_len=64) or ""
        c.unknown({"a", "b"})
        if a and b and media:
            out.append(Cable(a, b, media, label, source=c.source()))
    return out


def _existing_file(
    path: Path, ref: Source, what: str, problems: list[Problem], base: Path, jail: Path | None
) -> Path | None:
    """The real path of a referenced regular file inside ``jail`` (None: anywhere); else a
    problem at the line that names it (missing, a folder, a loop, outside the design...)."""
    try:
        return safefiles.regular_file(path, jail)
    except safefiles.Refused as exc:
        problems.append(
            Problem(
                ref.file,
                ref.line,
                ref.path,
                f"{what} '{safefiles.shown(path, base)}' {exc}",
                rule="reference",
            )
        )
        return None


def _load_with_includes(
    path: Path,
    key: str,
    parse,
    problems: list[Problem],
    base: Path,
    ref: Source,
    jail: Path | None,
    chain: tuple[Path, ...] = (),
) -> list:
    """Load ``key`` items from a file and from the files its ``include:`` names, detecting cycles."""
    real = _existing_file(path, ref, "file", problems, base, jail)
    if real is None:
        return []
    if real in chain:
        cycle = " -> ".join(display_path(p, base) for p in (*chain, real))
        problems.append(
            Problem(ref.file, ref.line, ref.path, f"circular include: {cycle}", rule="include")
        )
        return []
    if len(chain) >= MAX_INCLUDE_DEPTH:
        problems.append(
            Problem(
                ref.file,
                ref.line,
                ref.path,
                f"includes nested deeper than {MAX_INCLUDE_DEPTH}",
                rule="include",
            )
        )
        return []
    label = display_path(path, base)
    try:
        data = read_yaml(path, label)
    except DesignError as exc:
        problems.extend(exc.problems)
        return []
    if data is None:
        return []
    f = Fields(data, label, "", problems)
    items = []
    raw = f.raw("include")
    includes = [raw] if isinstance(raw, str) else f.list("include", max_items=1_000)
    for i, inc in enumerate(includes):
        where = Source(
            label,
            item_line(includes, i, f.line_of("include")),
            f"include[{i}]" if isinstance(raw, list) else "include",
        )
        if not isinstance(inc, str) or not inc:
            problems.append(
                Problem(where.file, where.line, where.path, "expected a file path", rule="schema")
            )
            continue
        items.extend(
            _load_with_includes(
                path.parent / inc, key, parse, problems, base, where, jail, (*chain, real)
            )
        )
    items.extend(parse(f, key))
    f.unknown()
    return items


# ---------------------------------------------------------------- design


def load_design(path: Path | str) -> Loaded:
    """Load a design directory (or its design.yaml).

    Problems found while loading travel with the design in ``Loaded.problems``; DesignError is
    raised only when nothing usable can be built (no design.yaml, unreadable floor plan).
    File names in problems are relative to the design directory.
    """
    try:
        return _load_design(Path(path))
    except DesignError:
        raise
    except LOAD_FAILURES as exc:
        # whatever slipped past the loaders' own checks is still bad input, never a traceback
        raise DesignError(
            [
                Problem(
                    str(path)[:200],
                    0,
                    "",
                    f"cannot load this design: {type(exc).__name__}: {str(exc)[:200]}",
                    rule="reference",
                )
            ]
        ) from None


def _load_design(path: Path) -> Loaded:
    path = Path(path)
    design_file, root = _design_file(path)
    base = root
    problems: list[Problem] = []
    label = display_path(design_file, base)
    data = read_yaml(design_file, label)
    f = Fields(data if data is not None else LMap(), label, "", problems)
    outside = f.bool("allow_outside", False, required=False)
    jail = None if outside else root

    name = f.str("name", "", required=False, max_len=100) or root.resolve().name
    revision = str(f.str("revision", "1", required=False, max_len=40))

    # floor plan
    fp_ref = f.raw("floorplan")
    if isinstance(fp_ref, str) and fp_ref:
        fp_path = root / fp_ref
        if not _existing_file(fp_path, f.source("floorplan"), "floor plan", problems, base, jail):
            raise DesignError(problems)
        fp_label = display_path(fp_path, base)
        try:
            floorplan = parse_floorplan(read_yaml(fp_path, fp_label), fp_label, problems)
        except DesignError as exc:
            raise DesignError(problems + exc.problems) from None
    elif isinstance(fp_ref, dict):
        floorplan = parse_floorplan(fp_ref, label, problems, path="floorplan")
    else:
        raise DesignError(
            problems
            + [
                Problem(
                    label,
                    f.line_of("floorplan") if fp_ref is not None else f.line,
                    "floorplan",
                    "missing required field 'floorplan' (a file name or an inline mapping)",
                    rule="schema",
                )
            ]
        )

    # device types: later sources override earlier ones (a fixed copy of a library file)
    dt_refs = f.raw("device_types", [BUILTIN])
    items = [dt_refs] if isinstance(dt_refs, str) else dt_refs
    dt_paths: list[Path] = []
    dt_refs_at: list[Source] = []
    if not isinstance(items, list):
        f.error("device_types", "expected a list of files or directories (or @builtin)")
        items = []
    for i, ref in enumerate(items):
        where = Source(
            label,
            item_line(items, i, f.line_of("device_types")),
            f"device_types[{i}]" if isinstance(dt_refs, list) else "device_types",
        )
        if not isinstance(ref, str) or not ref:
            problems.append(
                Problem(
                    where.file,
                    where.line,
                    where.path,
                    "expected a file or directory path (or @builtin)",
                    rule="schema",
                )
            )
            continue
        if ref == BUILTIN:
            dt_paths.append(builtin_library())
        else:
            dt_paths.append(root / ref)
        dt_refs_at.append(where)
    device_types = load_device_types(
        dt_paths, problems, base, jail=jail, refs=dt_refs_at, trusted=builtin_library()
    )

    # fluid ports and loop tests: a side file, the device types stay library files
    fluid_ref = f.str("fluid", "", required=False, max_len=400)
    fluid_rules = FluidRules()
    fluid_file = fluid_ref and _existing_file(
        root / fluid_ref, f.source("fluid"), "fluid file", problems, base, jail
    )
    if fluid_file:
        side = load_fluid(fluid_file, problems, base)
        device_types = apply_fluid(
            device_types, side, display_path(root / fluid_ref, base), problems
        )
        fluid_rules = side.rules

    # media catalogue
    media_ref = f.str("media", "", required=False, max_len=400)
    media: dict[str, Media] = {}
    if media_ref:
        if _existing_file(
            root / media_ref, f.source("media"), "media catalogue", problems, base, jail
        ):
            media = load_media(root / media_ref, problems, base)
    else:
        media = load_media(builtin_media_file(), problems, base)

    # elevations and connections: inline lists, files (with include:), or NetBox CSV
    devices: list[Device] = list(parse_devices(f, "devices"))
    for ref, where in _refs(f, "elevations"):
        devices.extend(
            _load_with_includes(root / ref, "devices", parse_devices, problems, base, where, jail)
        )
    nb = Fields(f.map("netbox"), label, "netbox", problems, line=f.line_of("netbox"))
    nb_devices = nb.str("devices", "", required=False, max_len=400)
    nb_cables = nb.str("cables", "", required=False, max_len=400)
    nb.unknown()
    if nb_devices and _existing_file(
        root / nb_devices, nb.source("devices"), "NetBox devices CSV", problems, base, jail
    ):
        racks = {r.name for r in floorplan.racks}
        devices.extend(
            netboxcsv.load_devices(root / nb_devices, problems, base, device_types, racks)
        )
    cables: list[Cable] = list(parse_cables(f, "cables"))
    for ref, where in _refs(f, "connections"):
        cables.extend(
            _load_with_includes(root / ref, "cables", parse_cables, problems, base, where, jail)
        )
    if nb_cables and _existing_file(
        root / nb_cables, nb.source("cables"), "NetBox cables CSV", problems, base, jail
    ):
        cables.extend(
            netboxcsv.load_cables(
                root / nb_cables,
                problems,
                base,
                media,
                port_types=_port_types(devices, device_types),
            )
        )
    f.unknown()
    problems = keep_gaps_for(problems, {d.device_type for d in devices}, device_types)

    design = Design(
        name=name,
        revision=revision,
        floorplan=floorplan,
        device_types=frozen_map(device_types),
        devices=tuple(devices),
        cables=tuple(cables),
        media=frozen_map(media),
        source=f.source(),
        fluid=fluid_rules,
    )
    return Loaded(design, problems, base)


def _design_file(path: Path) -> tuple[Path, Path]:
    """The design.yaml a path names (a folder holding one, or the file) and the design folder's
    real path; DesignError when there is none."""

    def none_here(what: str) -> DesignError:
        return DesignError(
            [
                Problem(
                    str(path)[:200],
                    0,
                    "",
                    f"no design here: {what} (expected a directory with a design.yaml)",
                    rule="reference",
                )
            ]
        )

    try:
        is_dir = path.is_dir()
        design_file = path / "design.yaml" if is_dir else path
        root = safefiles.real_path(design_file.parent)
        if not design_file.is_file():
            raise none_here("is a directory without a design.yaml" if is_dir else "does not exist")
        # design.yaml in a design folder is the folder's own; a file named outright may be a link
        safefiles.regular_file(design_file, root if is_dir else None)
    except safefiles.Refused as exc:
        raise none_here(f"{'design.yaml ' if is_dir else ''}{exc}") from None
    except (OSError, ValueError) as exc:
        raise none_here(safefiles.reason(exc)) from None
    return design_file, root


def _port_types(
    devices: list[Device], device_types: dict
) -> dict[tuple[str, str], tuple[str, str]]:
    """(device, port) -> (port kind, NetBox port type), for picking a media that fits a CSV cable."""
    by_type: dict[str, dict[str, tuple[str, str]]] = {}
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for dev in devices:
        dt = device_types.get(dev.device_type)
        if dt is None:
            continue
        ports = by_type.get(dt.slug)
        if ports is None:
            ports = by_type[dt.slug] = {}
            for p in dt.ports:
                ports.setdefault(p.name, (p.kind, p.type))
        for port, ptype in ports.items():
            out[(dev.name, port)] = ptype
    return out


def _refs(f: Fields, key: str) -> list[tuple[str, Source]]:
    """File names under ``key`` (one or a list), each with the line that names it."""
    raw = f.raw(key)
    if raw is None:
        return []
    if isinstance(raw, str) and raw:
        return [(raw, f.source(key))]
    if not isinstance(raw, list):
        f.error(key, "expected a file name or a list of file names")
        return []
    out = []
    for i, ref in enumerate(raw):
        where = Source(f.file, item_line(raw, i, f.line_of(key)), f"{key}[{i}]")
        if not isinstance(ref, str) or not ref:
            f.problems.append(
                Problem(where.file, where.line, where.path, "expected a file name", rule="schema")
            )
            continue
        out.append((ref, where))
    return out
