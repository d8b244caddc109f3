"""Blueprints: reference designs as code. Pure: a Blueprint and parameters in, design dicts out.

A blueprint (format: docs/blueprints.md) declares parameters, derived values (``let``), the
scalable units and the pods they group into, rack groups (racks per hall, pod or unit, each with
the devices it holds by role), connection rules between roles, and the floor layout. Expansion
places the racks in rows with hot and cold aisles, puts a cable tray above every row and cross
trays between them, fills the racks, and wires the ports the rules name. The result is the four
plain dicts of a design directory (floor plan, elevations, connections), ready to be written
by :mod:`fieldops.adapters.blueprintfile` and read back by :mod:`fieldops.adapters.designfile`.

Expressions (counts, positions, ``when`` conditions) are small arithmetic over the parameters:
integers, strings, ``+ - * // %``, comparisons, ``and or not``, ``a if c else b`` and the
functions ``min``, ``max`` and ``ceil_div``. Nothing else is evaluated.

Why this module is long: expansion is one pass over one context (parameters, derived
values, the racks placed so far, the ports still free) that the expression evaluator, rack
groups, connection rules and floor layout all read and extend; the evaluator (the first
third) is the part that could stand alone.
"""

from __future__ import annotations

import ast
import re
import string
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from fieldops.core.model import NO_SOURCE, DeviceType, FloorGrid, Source
from fieldops.core.problems import DesignError, Problem

LEVELS = ("hall", "pod", "unit")
SCOPES = ("hall", "pod", "unit", "row", "rack")
PATTERNS = ("rail", "cycle", "spread", "pack")
MAX_DEVICES = 500_000
MAX_CABLES = 2_000_000
MAX_RACKS = 20_000
MAX_EXPR_LEN = 300
MAX_INT = 10**12

Expr = int | str  # an int, or an expression text

# ---------------------------------------------------------------- the blueprint


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    default: int | str
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()  # non-empty: a text parameter with these values
    help: str = ""
    source: Source = NO_SOURCE


@dataclass(frozen=True, slots=True)
class DeviceTemplate:
    """Devices of one role in every rack of a group: ``count`` per rack, stacked by ``step``."""

    role: str
    name: str  # format: {unit} {pod} {rack} {row} {n} {i} {g}
    device_type: str
    count: Expr = 1
    position: Expr | None = None  # lowest U of the first one; None = zero-U
    step: Expr = 0  # U between consecutive devices in a rack (negative stacks downwards)
    face: str = "front"
    mounting: str = ""  # Device.mounting ("overhead": a zero-U device hung above the rack)
    total: Expr | None = None  # cap per scope instance (hall, pod or unit of the group)
    when: Expr = 1
    source: Source = NO_SOURCE


@dataclass(frozen=True, slots=True)
class RackGroup:
    name: str
    level: str  # hall | pod | unit: racks per hall, per pod, per unit
    rack_type: str
    count: Expr = 1
    devices: tuple[DeviceTemplate, ...] = ()
    when: Expr = 1
    source: Source = NO_SOURCE


@dataclass(frozen=True, slots=True)
class Selector:
    """Which devices (by role) and which of their ports, in order."""

    role: str
    ports: tuple[str, ...] = ()  # names with {a..b} ranges
    port_type: str = ""  # or: every port of this NetBox type, in declaration order


@dataclass(frozen=True, slots=True)
class Rule:
    """Cables from each ``a`` device's ports to ``b`` devices of the same scope.

    Patterns, for A port k of the j-th A device in a scope with B devices b_0..b_{n-1}:
    ``rail`` splits the B devices into one group per A port (k → group k, first with a free
    port: GPU NIC k → leaf k); ``cycle`` → b_{k mod n} (PSU k → PDU k mod 3); ``spread`` →
    b_{g mod n} with g counting every A port of the scope (balanced all-to-all: leaf → spine);
    ``pack`` → the first B device with a free port (BMCs → OOB switch). The B port is always
    the next free one of its list.
    """

    name: str
    a: Selector
    b: Selector
    media: str
    scope: str = "unit"
    pattern: str = "spread"
    when: Expr = 1
    source: Source = NO_SOURCE


@dataclass(frozen=True, slots=True)
class Layout:
    hall: str = "HALL1"
    rack_types: tuple[Mapping, ...] = ()
    racks_per_row: Expr = 10
    rack_name: str = "{row}{pos:02d}"
    grid_prefix: str = "1A"
    grid_pitch_mm: int = 600
    wall_clearance_mm: int = 3000  # from the walls to the row ends and the outer faces
    cold_aisle_mm: int = 1800  # between facing fronts
    hot_aisle_mm: int = 1200  # between facing rears
    tray_elevation_mm: int = 2900
    tray_width_mm: Expr = 600
    tray_depth_mm: Expr = 0  # usable loading depth; 0: the floor plan's default
    tray_media: tuple[str, ...] = ("copper", "fibre")
    tray_overhang_mm: int = 600  # row trays run this far past the row ends to the cross trays
    cross_tray_every: Expr = 0  # also a cross tray every N racks (0: only at the row ends)
    source: Source = NO_SOURCE
    # fluid routes (coolant piping) along the trays' paths at their own elevation; 0: none
    fluid_route_elevation_mm: int = 0
    fluid_route_width_mm: int = 300
    # delivery (docs/liquid.md#delivery-from-the-dock): 0 = not checked
    floor_load_kg_m2: float = 0.0
    dock_width_mm: int = 0
    dock_height_mm: int = 0


@dataclass(frozen=True, slots=True)
class Blueprint:
    name: str
    title: str = ""
    description: str = ""
    references: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    lets: tuple[tuple[str, Expr, Source], ...] = ()
    units: Expr = 1
    units_per_pod: Expr = 1
    layout: Layout = Layout()
    racks: tuple[RackGroup, ...] = ()
    rules: tuple[Rule, ...] = ()
    source: Source = NO_SOURCE

    def parameter(self, name: str) -> Parameter | None:
        for p in self.parameters:
            if p.name == name:
                return p
        return None


@dataclass(frozen=True)
class Expansion:
    """A design as the plain dicts of its files, plus counts by role and by rule."""

    name: str
    params: Mapping[str, int | str]
    floorplan: dict
    devices: list[dict]
    cables: list[dict]
    roles: Mapping[str, int] = field(default_factory=dict)  # devices per role
    links: Mapping[str, int] = field(default_factory=dict)  # cables per rule

    def summary(self) -> dict:
        return {
            "racks": len(self.floorplan["racks"]),
            "devices": len(self.devices),
            "cables": len(self.cables),
            "roles": dict(self.roles),
            "links": dict(self.links),
        }


# ---------------------------------------------------------------- expressions

_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
}
_CMPS = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


_FUNCS = {"min": min, "max": max, "ceil_div": _ceil_div}


class ExprError(ValueError):
    pass


def evaluate(expr: Expr | None, env: Mapping[str, int | str]) -> int | str | bool:
    """Evaluate a blueprint expression over ``env`` (parameters and ``let`` values).

    Examples
    --------
    >>> evaluate("ceil_div(su_count * 8, 3) if su_count > 1 else 4", {"su_count": 4})
    11
    """
    if expr is None:
        return 0
    if isinstance(expr, bool | int):
        return expr
    if not isinstance(expr, str):
        raise ExprError(f"expected a number or an expression, got {type(expr).__name__}")
    if len(expr) > MAX_EXPR_LEN:
        raise ExprError(f"expression is over {MAX_EXPR_LEN} characters")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"cannot read expression '{expr}': {exc.msg}") from None
    return _eval(tree.body, env, expr)


def _eval(node: ast.AST, env: Mapping, text: str):
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | str)
        and not isinstance(node.value, bool)
    ):
        if isinstance(node.value, int) and node.value > MAX_INT:
            raise ExprError(f"'{text}': {node.value} is beyond {MAX_INT:,}")
        return node.value
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        if node.id in ("True", "False"):
            return node.id == "True"
        raise ExprError(
            f"unknown name '{node.id}' in '{text}' (known: {', '.join(sorted(env)) or 'none'})"
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Not):
        v = _eval(node.operand, env, text)
        return (not v) if isinstance(node.op, ast.Not) else -_int(v, text)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = _int(_eval(node.left, env, text), text), _int(_eval(node.right, env, text), text)
        if isinstance(node.op, ast.FloorDiv | ast.Mod) and b == 0:
            raise ExprError(f"division by zero in '{text}'")
        out = _BINOPS[type(node.op)](a, b)
        if abs(out) > MAX_INT:
            raise ExprError(f"'{text}' is beyond {MAX_INT:,}")
        return out
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, env, text) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare) and all(type(op) in _CMPS for op in node.ops):
        left = _eval(node.left, env, text)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, env, text)
            if type(left) is not type(right) and not isinstance(op, ast.Eq | ast.NotEq):
                raise ExprError(f"cannot compare {left!r} with {right!r} in '{text}'")
            if not _CMPS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, env, text) else node.orelse, env, text)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCS
        and not node.keywords
    ):
        args = [_int(_eval(a, env, text), text) for a in node.args]
        if not args or (node.func.id == "ceil_div" and len(args) != 2):
            raise ExprError(f"wrong number of arguments to {node.func.id} in '{text}'")
        if node.func.id == "ceil_div" and args[1] == 0:
            raise ExprError(f"division by zero in '{text}'")
        return _FUNCS[node.func.id](*args)
    raise ExprError(
        f"'{text}': only numbers, parameter names, + - * // %, comparisons, and/or/not, 'x if c else y', min, max and ceil_div are allowed"
    )


def _int(v, text: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ExprError(f"'{text}': expected a whole number, got {v!r}")
    return v


# ---------------------------------------------------------------- names and ports

_RANGE = re.compile(r"\{(-?\d+)\.\.(-?\d+)\}")


def expand_names(pattern: str, limit: int = 100_000) -> list[str]:
    """Expand ``{a..b}`` ranges (inclusive, left to right, leftmost slowest).

    >>> expand_names("P{0..1}.{0..1}")
    ['P0.0', 'P0.1', 'P1.0', 'P1.1']
    """
    m = _RANGE.search(pattern)
    if not m:
        return [pattern]
    lo, hi = int(m.group(1)), int(m.group(2))
    step = 1 if hi >= lo else -1
    if abs(hi - lo) + 1 > limit:
        raise ExprError(f"range {m.group(0)} has more than {limit:,} values")
    out: list[str] = []
    for v in range(lo, hi + step, step):
        out.extend(expand_names(pattern[: m.start()] + str(v) + pattern[m.end() :], limit))
        if len(out) > limit:
            raise ExprError(f"'{pattern}' expands to more than {limit:,} names")
    return out


NAME_FIELDS = ("unit", "pod", "rack", "row", "n", "i", "g")


def check_name_pattern(pattern: str, fields: tuple[str, ...] = NAME_FIELDS) -> str | None:
    """A message when a name pattern uses anything but the plain named fields."""
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        return f"bad name pattern '{pattern}': {exc}"
    if ":" in "".join(lit for lit, *_ in parts) or any(c in pattern for c in "\n\r\t\"'#"):
        return f"name pattern '{pattern}': names cannot contain ':', quotes, '#' or control characters (cable ends are written device:port)"
    for _lit, fname, spec, conv in parts:
        if fname is None:
            continue
        if fname not in fields:
            return f"name pattern '{pattern}' uses '{{{fname}}}'; allowed: {', '.join('{' + f + '}' for f in fields)}"
        if conv or (spec and not re.fullmatch(r"0?\d{0,2}d?", spec)):
            return f"name pattern '{pattern}': only formats like {{{fname}:02d}} are allowed"
    return None


def _format(pattern: str, values: Mapping) -> str:
    return pattern.format_map(values)


# ---------------------------------------------------------------- parameters


def resolve_params(
    bp: Blueprint, overrides: Mapping[str, int | str] | None = None, *, label: str = "--param"
) -> dict[str, int | str]:
    """Parameter values: defaults, then ``overrides`` (text from the command line is parsed).

    Raises DesignError naming every unknown, non-numeric or out-of-range parameter.
    """
    problems: list[Problem] = []
    values: dict[str, int | str] = {p.name: p.default for p in bp.parameters}
    for name, raw in sorted((overrides or {}).items()):
        p = bp.parameter(name)
        if p is None:
            known = ", ".join(sorted(values)) or "none"
            problems.append(
                Problem(
                    label,
                    0,
                    name,
                    f"unknown parameter '{name}' for blueprint '{bp.name}' (known: {known})",
                )
            )
            continue
        if p.choices:
            if str(raw) not in p.choices:
                problems.append(
                    Problem(label, 0, name, f"'{raw}' is not one of: {', '.join(p.choices)}")
                )
                continue
            values[name] = str(raw)
            continue
        value = raw
        if isinstance(raw, str):
            text = raw.strip().replace("_", "")
            if not re.fullmatch(r"[+-]?\d{1,13}", text):
                problems.append(Problem(label, 0, name, f"'{raw}' is not a whole number"))
                continue
            value = int(text)
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(Problem(label, 0, name, f"{raw!r} is not a whole number"))
            continue
        values[name] = value
    for p in bp.parameters:
        v = values[p.name]
        if isinstance(v, int) and not p.choices:
            if p.low is not None and v < p.low:
                problems.append(
                    Problem(
                        label, 0, p.name, f"{v} is below the minimum {p.low} ({p.help or p.name})"
                    )
                )
            elif p.high is not None and v > p.high:
                problems.append(
                    Problem(
                        label, 0, p.name, f"{v} is above the maximum {p.high} ({p.help or p.name})"
                    )
                )
    if problems:
        raise DesignError(problems)
    return values


# ---------------------------------------------------------------- expansion


@dataclass(slots=True)
class _Dev:
    name: str
    device_type: str
    role: str
    rack: str
    row: str
    unit: int | None
    pod: int | None


class _Expander:
    def __init__(self, bp: Blueprint, params: Mapping, device_types: Mapping[str, DeviceType]):
        self.bp, self.params, self.types = bp, dict(params), device_types
        self.env = derive_env(bp, params)

    def fail(self, source: Source, message: str, path: str = "") -> DesignError:
        return DesignError([Problem(source.file, source.line, path or source.path, message)])

    def value(
        self,
        expr,
        source: Source,
        what: str,
        *,
        kind=int,
        low: int | None = None,
        high: int | None = None,
    ):
        try:
            v = evaluate(expr, self.env)
        except ExprError as exc:
            raise self.fail(source, f"{what}: {exc}") from None
        if kind is int:
            if isinstance(v, bool) or not isinstance(v, int):
                raise self.fail(source, f"{what}: expected a whole number, got {v!r}")
            if low is not None and v < low:
                raise self.fail(source, f"{what} is {v}, below {low}")
            if high is not None and v > high:
                raise self.fail(source, f"{what} is {v}, above {high:,}")
        return v

    def when(self, expr, source: Source) -> bool:
        return bool(self.value(expr, source, "when", kind=bool))

    # -- racks and devices
    def blocks(
        self, units: int, per_pod: int
    ) -> list[list[tuple[RackGroup, int | None, int | None]]]:
        """Rack blocks in floor order: hall racks, then each pod's racks followed by its units'."""
        groups = [g for g in self.bp.racks if self.when(g.when, g.source)]
        counts = {
            id(g): self.value(
                g.count, g.source, f"rack group '{g.name}' count", low=0, high=MAX_RACKS
            )
            for g in groups
        }
        pods = _ceil_div(units, per_pod)

        def block(level, pod, unit):
            return [
                (g, pod, unit) for g in groups if g.level == level for _ in range(counts[id(g)])
            ]

        out = [block("hall", None, None)]
        for p in range(1, pods + 1):
            out.append(block("pod", p, None))
            for u in range((p - 1) * per_pod + 1, min(units, p * per_pod) + 1):
                out.append(block("unit", p, u))
        return [b for b in out if b]

    def expand(self) -> Expansion:
        bp, lay = self.bp, self.bp.layout
        units = self.value(bp.units, bp.source, "units", low=1, high=100_000)
        per_pod = self.value(bp.units_per_pod, bp.source, "units_per_pod", low=1, high=100_000)
        per_row = self.value(
            lay.racks_per_row, lay.source, "layout.racks_per_row", low=1, high=1_000
        )
        cross_every = self.value(
            lay.cross_tray_every, lay.source, "layout.cross_tray_every", low=0, high=1_000
        )
        rack_types = {rt["slug"]: rt for rt in lay.rack_types}
        blocks = self.blocks(units, per_pod)
        n_racks = sum(len(b) for b in blocks)
        if n_racks > MAX_RACKS:
            raise self.fail(
                bp.source, f"the expansion has {n_racks:,} racks, over the {MAX_RACKS:,} limit"
            )
        if not n_racks:
            raise self.fail(
                bp.source, "the expansion has no racks (check the rack groups' counts and 'when')"
            )
        for g in bp.racks:
            if g.rack_type not in rack_types:
                raise self.fail(
                    g.source,
                    f"rack group '{g.name}': unknown rack type '{g.rack_type}' (layout.rack_types has: {', '.join(rack_types)})",
                )
        # rows: a block never splits across rows unless it is longer than a row
        rows: list[list[tuple[RackGroup, int | None, int | None]]] = [[]]
        for b in blocks:
            if rows[-1] and len(rows[-1]) + len(b) > per_row:
                rows.append([])
            for item in b:
                if len(rows[-1]) == per_row:
                    rows.append([])
                rows[-1].append(item)
        floorplan, placed = self._floor(rows, per_row, rack_types, cross_every)
        devices, devs = self._devices(placed)
        cables, links = self._cables(devs)
        roles: dict[str, int] = defaultdict(int)
        for d in devs:
            roles[d.role] += 1
        return Expansion(
            bp.name, self.params, floorplan, devices, cables, dict(sorted(roles.items())), links
        )

    def _floor(self, rows, per_row, rack_types, cross_every):
        lay = self.lay = self.bp.layout
        width = max(int(rt.get("width_mm", 600)) for rt in rack_types.values())
        depth = max(int(rt.get("depth_mm", 1200)) for rt in rack_types.values())
        wall = lay.wall_clearance_mm
        x0 = wall + lay.tray_overhang_mm
        hall_w = 2 * x0 + per_row * width
        grid = FloorGrid(prefix=lay.grid_prefix)
        racks, placed, row_ys = [], [], []
        y = wall  # the next front (even rows) face line
        for r, row in enumerate(rows):
            label = grid.column_label(r)
            if r % 2 == 0:  # front faces -y
                cy, rot = y + depth // 2, 0
                y += depth + lay.hot_aisle_mm
            else:  # rear faces the previous row's rear; front faces +y
                cy, rot = y + depth // 2, 180
                y += depth + lay.cold_aisle_mm
            row_ys.append(cy)
            for k, (group, pod, unit) in enumerate(row):
                name = _format(lay.rack_name, {"row": label, "pos": k + 1})
                cx = x0 + width // 2 + k * width
                racks.append(
                    {
                        "name": name,
                        "rack_type": group.rack_type,
                        "position": [cx, cy],
                        "rotation_deg": rot,
                        "row": label,
                    }
                )
                placed.append((name, label, group, pod, unit))
        last_face = row_ys[-1] + depth // 2
        hall_h = last_face + max(wall, lay.hot_aisle_mm)
        names = [r["name"] for r in racks]
        if len(set(names)) != len(names):
            raise self.fail(
                lay.source,
                f"layout.rack_name '{lay.rack_name}' gives duplicate rack names; use {{row}} and {{pos}}",
            )
        xs = sorted(
            {x0 - lay.tray_overhang_mm // 2, x0 + per_row * width + lay.tray_overhang_mm // 2}
            | (
                {x0 + k * width for k in range(cross_every, per_row, cross_every)}
                if cross_every
                else set()
            )
        )
        media = list(lay.tray_media)
        tray_width = self.value(
            lay.tray_width_mm, lay.source, "layout.tray_width_mm", low=50, high=3_000
        )
        tray_depth = self.value(
            lay.tray_depth_mm, lay.source, "layout.tray_depth_mm", low=0, high=1_000
        )
        depth = {"depth_mm": tray_depth} if tray_depth else {}
        trays = []
        for r, cy in enumerate(row_ys):
            trays.append(
                {
                    "name": f"TRAY-{grid.column_label(r)}",
                    "media": media,
                    "elevation_mm": lay.tray_elevation_mm,
                    "width_mm": tray_width,
                    **depth,
                    "points": [[x, cy] for x in xs],
                }
            )
        if len(row_ys) > 1:
            for k, x in enumerate(xs):
                trays.append(
                    {
                        "name": f"TRAY-X{k + 1}",
                        "media": media,
                        "elevation_mm": lay.tray_elevation_mm,
                        "width_mm": tray_width,
                        **depth,
                        "points": [[x, cy] for cy in row_ys],
                    }
                )
        if lay.fluid_route_elevation_mm:  # coolant piping: same paths, its own level
            trays += [
                {
                    **t,
                    "name": t["name"].replace("TRAY-", "FLUID-", 1),
                    "media": ["fluid"],
                    "elevation_mm": lay.fluid_route_elevation_mm,
                    "width_mm": lay.fluid_route_width_mm,
                }
                for t in list(trays)
            ]
        fp = {
            "hall": lay.hall,
            "outline": [[0, 0], [hall_w, 0], [hall_w, hall_h], [0, hall_h]],
            "grid": {"pitch_mm": lay.grid_pitch_mm, "origin": [0, 0], "prefix": lay.grid_prefix},
            "waypoints": [
                {"name": "DOOR-1", "kind": "door", "position": [wall // 2, wall // 2]},
                {"name": "STAGING", "kind": "staging", "position": [hall_w - wall // 2, wall // 2]},
                {
                    "name": "DOCK",
                    "kind": "dock",
                    "position": [hall_w - wall // 2, hall_h - wall // 2],
                    **({"width_mm": lay.dock_width_mm} if lay.dock_width_mm else {}),
                    **({"height_mm": lay.dock_height_mm} if lay.dock_height_mm else {}),
                },
            ],
            "trays": trays,
            "rack_types": [dict(rack_types[k]) for k in rack_types],
            "racks": racks,
        }
        if lay.floor_load_kg_m2:
            fp["floor_load_kg_m2"] = lay.floor_load_kg_m2
        return fp, placed

    def _devices(self, placed):
        out, devs = [], []
        counters: dict[tuple, int] = defaultdict(int)  # (template, scope instance) -> i
        global_counters: dict[int, int] = defaultdict(int)
        cache: dict[int, tuple] = {}
        seen: set[str] = set()
        for rack, row, group, pod, unit in placed:
            for t in group.devices:
                key = id(t)
                if key not in cache:
                    if not self.when(t.when, t.source):
                        cache[key] = None
                    else:
                        msg = check_name_pattern(t.name)
                        if msg:
                            raise self.fail(t.source, msg, f"{t.source.path}.name")
                        if t.device_type not in self.types:
                            raise self.fail(
                                t.source,
                                f"unknown device type '{t.device_type}' (not in the blueprint's device types or @builtin)",
                                f"{t.source.path}.device_type",
                            )
                        count = self.value(t.count, t.source, f"{t.role} count", low=0, high=100)
                        pos = (
                            None
                            if t.position is None
                            else self.value(
                                t.position, t.source, f"{t.role} position", low=-1000, high=1000
                            )
                        )
                        step = self.value(t.step, t.source, f"{t.role} step", low=-100, high=100)
                        total = (
                            None
                            if t.total is None
                            else self.value(
                                t.total, t.source, f"{t.role} total", low=0, high=MAX_DEVICES
                            )
                        )
                        cache[key] = (count, pos, step, total)
                params = cache[key]
                if params is None:
                    continue
                count, pos, step, total = params
                scope = (
                    key,
                    pod if group.level != "hall" else None,
                    unit if group.level == "unit" else None,
                )
                for n in range(1, count + 1):
                    if total is not None and counters[scope] >= total:
                        break
                    counters[scope] += 1
                    global_counters[key] += 1
                    values = {
                        "unit": unit or 0,
                        "pod": pod or 0,
                        "rack": rack.lower(),
                        "row": row,
                        "n": n,
                        "i": counters[scope],
                        "g": global_counters[key],
                    }
                    name = _format(t.name, values)
                    if name in seen:
                        raise self.fail(
                            t.source,
                            f"device name '{name}' is made twice; make the pattern '{t.name}' unique with {{unit}}, {{i}} or {{g}}",
                            f"{t.source.path}.name",
                        )
                    seen.add(name)
                    d = {"name": name, "device_type": t.device_type, "rack": rack}
                    if pos is not None:
                        d["position"] = pos + (n - 1) * step
                    d["face"] = t.face
                    if t.mounting:
                        d["mounting"] = t.mounting
                    d["role"] = t.role
                    out.append(d)
                    devs.append(
                        _Dev(
                            name,
                            t.device_type,
                            t.role,
                            rack,
                            row,
                            unit if group.level == "unit" else None,
                            pod if group.level != "hall" else None,
                        )
                    )
                    if len(out) > MAX_DEVICES:
                        raise self.fail(
                            self.bp.source, f"the expansion has more than {MAX_DEVICES:,} devices"
                        )
        return out, devs

    # -- cables
    def _ports(self, sel: Selector, slug: str, rule: Rule, end: str) -> list[str]:
        dt = self.types[slug]
        if sel.port_type:
            names = [p.name for p in dt.ports if p.type == sel.port_type]
            if not names:
                raise self.fail(
                    rule.source,
                    f"rule '{rule.name}': device type '{slug}' has no port of type '{sel.port_type}'",
                    f"{rule.source.path}.{end}",
                )
            return names
        names = []
        for pattern in sel.ports:
            try:
                names.extend(expand_names(pattern))
            except ExprError as exc:
                raise self.fail(
                    rule.source, f"rule '{rule.name}': {exc}", f"{rule.source.path}.{end}.ports"
                ) from None
        have = {p.name for p in dt.ports}
        missing = [n for n in names if n not in have]
        if missing:
            raise self.fail(
                rule.source,
                f"rule '{rule.name}': device type '{slug}' has no port {', '.join(repr(m) for m in missing[:4])}{' …' if len(missing) > 4 else ''}",
                f"{rule.source.path}.{end}.ports",
            )
        if len(set(names)) != len(names):
            raise self.fail(
                rule.source,
                f"rule '{rule.name}': a port is listed twice in {end}.ports",
                f"{rule.source.path}.{end}.ports",
            )
        return names

    def _scope_key(self, d: _Dev, scope: str):
        if scope == "hall":
            return ()
        if scope == "rack":
            return d.rack
        if scope == "row":
            return d.row
        if scope == "pod":
            return d.pod
        return d.unit

    def _cables(self, devs: list[_Dev]):
        by_role: dict[str, list[_Dev]] = defaultdict(list)
        for d in devs:
            by_role[d.role].append(d)
        used: dict[tuple[str, str], str] = {}
        next_free: dict[tuple[str, str], int] = defaultdict(
            int
        )  # (device, rule b-port list id) -> index
        port_lists: dict[tuple[str, int], list[str]] = {}
        cables: list[dict] = []
        links: dict[str, int] = {}
        for rule in self.bp.rules:
            if not self.when(rule.when, rule.source):
                continue
            a_devs, b_devs = by_role.get(rule.a.role, []), by_role.get(rule.b.role, [])
            links[rule.name] = 0
            if not a_devs:
                continue
            if not b_devs:
                raise self.fail(
                    rule.source,
                    f"rule '{rule.name}': no '{rule.b.role}' devices to connect the {len(a_devs)} '{rule.a.role}' devices to",
                    f"{rule.source.path}.b.role",
                )
            b_by_scope: dict = defaultdict(list)
            for d in b_devs:
                b_by_scope[self._scope_key(d, rule.scope)].append(d)
            a_by_scope: dict = defaultdict(list)
            for d in a_devs:
                k = self._scope_key(d, rule.scope)
                if k is None:
                    raise self.fail(
                        rule.source,
                        f"rule '{rule.name}': '{rule.a.role}' devices are not per {rule.scope} (they sit in a {self._level_of(d)}-level rack group)",
                        f"{rule.source.path}.scope",
                    )
                a_by_scope[k].append(d)
            for key, a_list in a_by_scope.items():
                b_list = b_by_scope.get(key, [])
                if not b_list:
                    raise self.fail(
                        rule.source,
                        f"rule '{rule.name}': no '{rule.b.role}' device in the same {rule.scope} as '{a_list[0].name}'",
                        f"{rule.source.path}.scope",
                    )
                g = 0
                for a in a_list:
                    a_ports = port_lists.get((a.device_type, id(rule.a))) or port_lists.setdefault(
                        (a.device_type, id(rule.a)), self._ports(rule.a, a.device_type, rule, "a")
                    )
                    m = len(a_ports)
                    n = len(b_list)
                    if rule.pattern == "rail" and n % m:
                        raise self.fail(
                            rule.source,
                            f"rule '{rule.name}': pattern 'rail' needs the '{rule.b.role}' devices per {rule.scope} ({n}) to be a multiple of the {m} ports of '{a.name}'",
                            f"{rule.source.path}.pattern",
                        )
                    for k, port in enumerate(a_ports):
                        if (a.name, port) in used:
                            raise self.fail(
                                rule.source,
                                f"rule '{rule.name}': port {a.name}:{port} is already cabled by rule '{used[(a.name, port)]}'",
                                f"{rule.source.path}.a.ports",
                            )
                        if rule.pattern == "rail":
                            s = n // m
                            candidates = b_list[k * s : (k + 1) * s]
                        elif rule.pattern == "cycle":
                            candidates = [b_list[k % n]]
                        elif rule.pattern == "spread":
                            candidates = [b_list[g % n]]
                        else:
                            candidates = b_list
                        g += 1
                        b, b_port = self._free_port(candidates, rule, used, next_free, port_lists)
                        if b is None:
                            names = ", ".join(c.name for c in candidates[:3]) + (
                                " …" if len(candidates) > 3 else ""
                            )
                            raise self.fail(
                                rule.source,
                                f"rule '{rule.name}': no free port left on {names} for {a.name}:{port} (too few '{rule.b.role}' devices or ports for these parameters)",
                                f"{rule.source.path}.b",
                            )
                        used[(a.name, port)] = rule.name
                        used[(b.name, b_port)] = rule.name
                        cables.append(
                            {
                                "a": f"{a.name}:{port}",
                                "b": f"{b.name}:{b_port}",
                                "media": rule.media,
                            }
                        )
                        links[rule.name] += 1
                        if len(cables) > MAX_CABLES:
                            raise self.fail(
                                self.bp.source, f"the expansion has more than {MAX_CABLES:,} cables"
                            )
        return cables, links

    def _free_port(self, candidates, rule, used, next_free, port_lists):
        for b in candidates:
            plist = port_lists.get((b.device_type, id(rule.b))) or port_lists.setdefault(
                (b.device_type, id(rule.b)), self._ports(rule.b, b.device_type, rule, "b")
            )
            key = (b.name, id(rule.b))
            i = next_free[key]
            while i < len(plist) and (b.name, plist[i]) in used:
                i += 1
            next_free[key] = i
            if i < len(plist):
                next_free[key] = i + 1
                return b, plist[i]
        return None, None

    @staticmethod
    def _level_of(d: _Dev) -> str:
        return "unit" if d.unit is not None else ("pod" if d.pod is not None else "hall")


def derive_env(bp: Blueprint, params: Mapping[str, int | str]) -> dict[str, int | str]:
    """Parameters plus the blueprint's ``let`` values, in order."""
    env = dict(params)
    for name, expr, src in bp.lets:
        try:
            env[name] = evaluate(expr, env)
        except ExprError as exc:
            raise DesignError(
                [Problem(src.file, src.line, src.path, f"let {name}: {exc}")]
            ) from None
    return env


def expand_blueprint(
    bp: Blueprint, params: Mapping[str, int | str], device_types: Mapping[str, DeviceType]
) -> Expansion:
    """Expand a blueprint with resolved parameters into the dicts of a design directory.

    Parameters
    ----------
    bp : the parsed blueprint
    params : values from :func:`resolve_params`
    device_types : slug → DeviceType, for port lists and names

    Raises DesignError (with the blueprint's file and line) when the blueprint cannot be
    expanded with these parameters: unknown names, ports that do not exist, too few ports.

    Examples
    --------
    >>> exp = expand_blueprint(bp, resolve_params(bp, {"su_count": "1"}), types)
    >>> exp.links["compute rails"]
    256
    """
    return _Expander(bp, params, device_types).expand()
