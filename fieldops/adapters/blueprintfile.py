"""Blueprint files: load a blueprint YAML (line-numbered problems) and write the design it expands to.

A blueprint is a directory holding ``blueprint.yaml`` and, where it needs them, its own
NetBox-format device types (``devicetypes/``) and media catalogue; or a single YAML file.
The built-in ones live in ``fieldops/blueprints/``. The format is documented in
docs/blueprints.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fieldops.adapters import safefiles
from fieldops.adapters.devicetypes import BUILTIN, builtin_library, load_device_types
from fieldops.adapters.fluidfile import apply_fluid, load_fluid
from fieldops.adapters.yamlfile import Fields, display_path, read_yaml
from fieldops.core.blueprint import (
    LEVELS,
    PATTERNS,
    SCOPES,
    Blueprint,
    DeviceTemplate,
    Expansion,
    Layout,
    Parameter,
    RackGroup,
    Rule,
    Selector,
    check_name_pattern,
)
from fieldops.core.model import FACES, FRONT, MEDIA_CLASSES, OVERHEAD, DeviceType
from fieldops.core.problems import DesignError, Problem, errors

BLUEPRINT_FILE = "blueprint.yaml"
DESIGN_FILES = (
    "design.yaml",
    "floorplan.yaml",
    "elevations.yaml",
    "connections.yaml",
    "media.yaml",
    "fluid.yaml",
)


def builtin_blueprints_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "blueprints"


def list_blueprints() -> list[Path]:
    """The built-in blueprint files, sorted by name."""
    root = builtin_blueprints_dir()
    return sorted(root.glob(f"*/{BLUEPRINT_FILE}")) if root.is_dir() else []


def find_blueprint(ref: str) -> Path:
    """A blueprint file from a path (file or directory) or a built-in name."""
    p = Path(ref)
    try:
        if p.is_dir() and (p / BLUEPRINT_FILE).is_file():
            return p / BLUEPRINT_FILE
        if p.is_file():
            return p
    except (OSError, ValueError) as exc:
        raise DesignError([Problem(ref[:200], 0, "", safefiles.reason(exc))]) from None
    for path in list_blueprints():
        if path.parent.name == ref:
            return path
    known = ", ".join(path.parent.name for path in list_blueprints()) or "none"
    raise DesignError(
        [
            Problem(
                ref,
                0,
                "",
                f"no blueprint '{ref}': not a file or directory, and not a built-in one (built-in: {known}; see 'fieldops blueprint --list')",
            )
        ]
    )


@dataclass
class LoadedBlueprint:
    blueprint: Blueprint
    path: Path  # the blueprint file
    device_types: dict[str, DeviceType]
    own_type_dirs: list[Path]  # the blueprint's own device-type files or folders
    media_file: Path | None  # the blueprint's own media catalogue, if any
    fluid_file: Path | None = None  # the blueprint's fluid side file (fluid ports, loop tests)


# ---------------------------------------------------------------- parsing


def _expr(f: Fields, key: str, default, *, required: bool = False):
    """An int or an expression text (checked when the blueprint is expanded)."""
    v = f.raw(key, default)
    if v is None:
        if required:
            f.error(None, f"missing required field '{key}'")
        return default
    if isinstance(v, bool) or not isinstance(v, int | str):
        f.error(key, "expected a whole number or an expression such as 'su_count * 8'")
        return default
    if isinstance(v, str) and len(v) > 300:
        f.error(key, "expression is over 300 characters")
        return default
    return v


def _name_list(f: Fields, key: str) -> tuple[str, ...]:
    v = f.raw(key)
    if v is None:
        return ()
    v = [v] if isinstance(v, str) else v
    if not isinstance(v, list) or not all(isinstance(x, str) and 0 < len(x) <= 200 for x in v):
        f.error(key, "expected a text or a list of texts")
        return ()
    return tuple(v)


def _selector(f: Fields, key: str, problems: list[Problem]) -> Selector | None:
    s = Fields(f.map(key, required=True), f.file, f.sub(key), problems, line=f.line_of(key))
    role = s.str("role", max_len=64)
    ports = _name_list(s, "ports")
    port_type = s.str("port_type", "", required=False, max_len=64) or ""
    s.unknown()
    if bool(ports) == bool(port_type):
        s.error(None, "give exactly one of 'ports' (names, with {a..b} ranges) or 'port_type'")
        return None
    return Selector(role, ports, port_type) if role else None


def parse_blueprint(data, file: str, problems: list[Problem], default_name: str = "") -> Blueprint:
    f = Fields(data, file, "", problems)
    name = (
        f.str("blueprint", default_name or None, required=not default_name, max_len=64)
        or default_name
    )
    title = f.str("title", "", required=False, max_len=200) or ""
    description = f.raw("description", "")
    if not isinstance(description, str) or len(description) > 4000:
        f.error("description", "expected text of at most 4,000 characters")
        description = ""
    description = " ".join(description.split())
    references = _name_list(f, "references")
    f.raw("device_types")
    f.raw("media")
    f.raw("fluid")

    params = []
    pm = f.map("parameters")
    for pname in pm:
        p = Fields(
            pm[pname],
            file,
            f"parameters.{pname}",
            problems,
            line=pm.line_of(pname) if hasattr(pm, "line_of") else 0,
        )
        choices = _name_list(p, "choices")
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", pname):
            p.error(None, f"parameter name '{pname}' must be lower-case letters, digits and _")
            continue
        if choices:
            default = p.str("default", choices=choices, max_len=64)
            low = high = None
        else:
            default = p.int("default", low=-(10**9), high=10**9)
            low = p.int("min", None, required=False, low=-(10**9), high=10**9)
            high = p.int("max", None, required=False, low=-(10**9), high=10**9)
        help_ = p.str("help", "", required=False, max_len=300) or ""
        p.unknown()
        if default is not None:
            params.append(Parameter(pname, default, low, high, choices, help_, p.source()))

    lets = []
    lm = f.map("let")
    lf = Fields(lm, file, "let", problems, line=f.line_of("let"))
    for lname in lm:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", lname):
            lf.error(lname, f"name '{lname}' must be lower-case letters, digits and _")
            continue
        lets.append((lname, _expr(lf, lname, 0), lf.source(lname)))

    uf = Fields(f.map("units"), file, "units", problems, line=f.line_of("units"))
    units = _expr(uf, "count", 1)
    per_pod = _expr(uf, "per_pod", 1)
    uf.unknown()

    layout = _layout(f, problems)

    groups = []
    for g in f.each("racks", required=True, max_items=1_000):
        gname = g.str("group", max_len=64)
        level = g.str("level", "unit", required=False, choices=LEVELS)
        rtype = g.str("rack_type", max_len=64)
        count = _expr(g, "count", 1)
        when = _expr(g, "when", 1)
        templates = []
        for d in g.each("devices", max_items=1_000):
            face = d.str("face", FRONT, required=False, choices=FACES)
            t = DeviceTemplate(
                role=d.str("role", max_len=64) or "",
                name=d.str("name", max_len=100) or "",
                device_type=d.str("device_type", max_len=100) or "",
                count=_expr(d, "count", 1),
                position=_expr(d, "position", None),
                step=_expr(d, "step", 0),
                face=face or FRONT,
                mounting=d.str("mounting", "", required=False, choices=(OVERHEAD,)) or "",
                total=_expr(d, "total", None),
                when=_expr(d, "when", 1),
                source=d.source(),
            )
            d.unknown()
            msg = check_name_pattern(t.name) if t.name else None
            if msg:
                d.error("name", msg)
            elif t.role and t.name and t.device_type:
                templates.append(t)
        g.unknown()
        if gname and level and rtype:
            groups.append(RackGroup(gname, level, rtype, count, tuple(templates), when, g.source()))

    rules = []
    for c in f.each("connections", max_items=1_000):
        rname = c.str("name", max_len=100)
        a = _selector(c, "a", problems)
        b = _selector(c, "b", problems)
        rule = Rule(
            name=rname or "",
            a=a,
            b=b,
            media=c.str("media", max_len=64) or "",
            scope=c.str("scope", "unit", required=False, choices=SCOPES) or "unit",
            pattern=c.str("pattern", "spread", required=False, choices=PATTERNS) or "spread",
            when=_expr(c, "when", 1),
            source=c.source(),
        )
        c.unknown()
        if rname and a and b and rule.media:
            rules.append(rule)
    names = [r.name for r in rules]
    for r in rules:
        if names.count(r.name) > 1:
            problems.append(
                Problem(
                    r.source.file,
                    r.source.line,
                    f"{r.source.path}.name",
                    f"duplicate rule name '{r.name}'",
                )
            )
    f.unknown()
    return Blueprint(
        name,
        title,
        description,
        references,
        tuple(params),
        tuple(lets),
        units,
        per_pod,
        layout,
        tuple(groups),
        tuple(rules),
        f.source(),
    )


def _layout(f: Fields, problems: list[Problem]) -> Layout:
    lf = Fields(
        f.map("layout", required=True), f.file, "layout", problems, line=f.line_of("layout")
    )
    rack_types = []
    for rt in lf.each("rack_types", required=True, max_items=100):
        slug = rt.str("slug", max_len=64)
        d = {"slug": slug}
        for key, low, high, default in (
            ("width_mm", 200, 3000, 600),
            ("depth_mm", 200, 3000, 1200),
            ("u_height", 1, 100, 42),
        ):
            d[key] = rt.int(key, default, required=False, low=low, high=high)
        for key, high in (("max_kw", 10_000), ("max_kg", 100_000), ("weight_kg", 100_000)):
            v = rt.number(key, None, required=False, low=0, high=high)
            if v is not None:
                d[key] = v
        rt.unknown()
        if slug:
            rack_types.append(d)
    media = _name_list(lf, "tray_media") or ("copper", "fibre")
    if any(m not in MEDIA_CLASSES for m in media):
        lf.error("tray_media", f"expected media classes from: {', '.join(MEDIA_CLASSES)}")
        media = ("copper", "fibre")
    rack_name = lf.str("rack_name", "{row}{pos:02d}", required=False, max_len=64)
    msg = check_name_pattern(rack_name, ("row", "pos"))
    if msg:
        lf.error("rack_name", msg)
        rack_name = "{row}{pos:02d}"
    layout = Layout(
        hall=lf.str("hall", "HALL1", required=False, max_len=64),
        rack_types=tuple(rack_types),
        racks_per_row=_expr(lf, "racks_per_row", 10),
        rack_name=rack_name,
        grid_prefix=(lf.str("grid_prefix", "1A", required=False, max_len=16) or "1A").upper(),
        grid_pitch_mm=lf.int("grid_pitch_mm", 600, required=False, low=100, high=10_000),
        wall_clearance_mm=lf.int("wall_clearance_mm", 3000, required=False, low=900, high=100_000),
        cold_aisle_mm=lf.int("cold_aisle_mm", 1800, required=False, low=900, high=20_000),
        hot_aisle_mm=lf.int("hot_aisle_mm", 1200, required=False, low=900, high=20_000),
        tray_elevation_mm=lf.int("tray_elevation_mm", 2900, required=False, low=0, high=20_000),
        tray_width_mm=_expr(lf, "tray_width_mm", 600),
        tray_depth_mm=_expr(lf, "tray_depth_mm", 0),
        tray_media=tuple(media),
        tray_overhang_mm=lf.int("tray_overhang_mm", 600, required=False, low=0, high=20_000),
        cross_tray_every=_expr(lf, "cross_tray_every", 0),
        source=lf.source(),
        fluid_route_elevation_mm=lf.int(
            "fluid_route_elevation_mm", 0, required=False, low=0, high=20_000
        ),
        fluid_route_width_mm=lf.int(
            "fluid_route_width_mm", 300, required=False, low=50, high=3_000
        ),
        floor_load_kg_m2=lf.number("floor_load_kg_m2", 0.0, required=False, low=0, high=1e6),
        dock_width_mm=lf.int("dock_width_mm", 0, required=False, low=0, high=20_000),
        dock_height_mm=lf.int("dock_height_mm", 0, required=False, low=0, high=20_000),
    )
    lf.unknown()
    return layout


def load_blueprint(ref: str | Path) -> LoadedBlueprint:
    """Load a blueprint (path or built-in name) and its device types; DesignError on any error."""
    path = find_blueprint(str(ref))
    root = path.parent
    base = root
    label = display_path(path, base)
    problems: list[Problem] = []
    data = read_yaml(path, label)
    bp = parse_blueprint(
        data, label, problems, default_name=root.name if path.name == BLUEPRINT_FILE else path.stem
    )
    f = Fields(data if isinstance(data, dict) else {}, label, "", [])
    own = []
    for i, ref_ in enumerate(
        _name_list(
            Fields(data if isinstance(data, dict) else {}, label, "", problems), "device_types"
        )
    ):
        if ref_ == BUILTIN:
            continue
        try:
            p = safefiles.confine(root / ref_, safefiles.real_path(root))
        except safefiles.Refused as exc:
            why = str(exc)
            problems.append(
                Problem(
                    label,
                    f.line_of("device_types"),
                    f"device_types[{i}]",
                    f"'{str(ref_)[:120]}' not found next to the blueprint"
                    if why == "not found"
                    else f"'{str(ref_)[:120]}' is outside the blueprint's folder"
                    if why.startswith("leads outside")
                    else f"'{str(ref_)[:120]}' {why}",
                )
            )
        else:
            own.append(p)

    def side_file(key: str, what: str) -> Path | None:
        """A file the blueprint names under ``key``, inside its folder; else a problem."""
        ref = data.get(key) if isinstance(data, dict) else None
        if ref is None:
            return None
        try:
            if not isinstance(ref, str):
                raise safefiles.Refused("not a file name")
            return safefiles.regular_file(root / ref, safefiles.real_path(root))
        except safefiles.Refused:
            problems.append(
                Problem(
                    label,
                    f.line_of(key),
                    key,
                    f"{what} '{str(ref)[:120]}' not found in the blueprint's folder",
                )
            )
            return None

    media_file = side_file("media", "media catalogue")
    fluid_file = side_file("fluid", "fluid file")
    if errors(problems):
        raise DesignError(errors(problems))
    type_problems: list[Problem] = []
    types = load_device_types(
        [builtin_library(), *own],
        type_problems,
        base,
        jail=safefiles.real_path(root),
        trusted=builtin_library(),
    )
    if fluid_file is not None:  # the expansion wires fluid ports like any other port
        types = apply_fluid(
            types,
            load_fluid(fluid_file, type_problems, base),
            display_path(fluid_file, base),
            type_problems,
        )
    if errors(type_problems):
        raise DesignError(errors(type_problems))
    return LoadedBlueprint(bp, path, types, own, media_file, fluid_file)


# ---------------------------------------------------------------- writing

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/]*")
_SPECIAL = {"yes", "no", "true", "false", "on", "off", "null"}


def _scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v) if isinstance(v, float) and not v.is_integer() else str(int(v))
    s = str(v)
    parts = s.split(":")
    if len(parts) <= 2 and all(_PLAIN.fullmatch(p) and p.lower() not in _SPECIAL for p in parts):
        return s
    return json.dumps(s)


def _flow(v) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return _scalar(v)


def render_yaml(header: str, doc: dict) -> str:
    """Block mapping at the top, one flow item per line: diffable and fast to write and read."""
    lines = [f"# {h}" if h else "#" for h in header.splitlines()]
    for key, value in doc.items():
        if isinstance(value, list) and value:
            lines.append(f"{key}:")
            lines.extend(f"  - {_flow(item)}" for item in value)
        else:
            lines.append(f"{key}: {_flow(value)}")
    return "\n".join(lines) + "\n"


def command_line(name: str, params: dict) -> str:
    return f"fieldops blueprint {name} " + " ".join(
        f"--param {k}={v}" for k, v in sorted(params.items())
    )


def write_design(
    lb: LoadedBlueprint, exp: Expansion, outdir: Path, *, force: bool = False, check=None
) -> list[Path]:
    """Write the design directory: all files or none.

    Files are staged next to ``outdir``; ``check(stage_dir)`` (e.g. validation) may raise to
    abandon them. An existing non-empty ``outdir`` is refused unless ``force``; then the
    design files and ``devicetypes/`` are replaced and nothing else is touched.
    """
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise DesignError([Problem(str(outdir), 0, "", "exists and is not a directory")])
    if outdir.is_dir() and any(outdir.iterdir()) and not force:
        raise DesignError(
            [
                Problem(
                    str(outdir),
                    0,
                    "",
                    "directory is not empty; use --force to replace the design files in it",
                )
            ]
        )
    outdir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".fieldops-blueprint-", dir=outdir.parent))
    stage.chmod(0o755)
    try:
        files = _write_stage(lb, exp, stage)
        if check is not None:
            check(stage)
        if not outdir.exists():
            os.replace(stage, outdir)
        else:
            for name in DESIGN_FILES:
                (outdir / name).unlink(missing_ok=True)
            shutil.rmtree(outdir / "devicetypes", ignore_errors=True)
            for path in sorted(stage.iterdir()):
                os.replace(path, outdir / path.name)
        return [outdir / f for f in files]
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _write_stage(lb: LoadedBlueprint, exp: Expansion, stage: Path) -> list[Path]:
    bp = lb.blueprint
    cmd = command_line(bp.name, dict(exp.params))
    head = f"Generated by: {cmd}\nEdit the blueprint and re-run it rather than editing this file."
    design = {
        "name": f"{bp.name}",
        "revision": "1",
        "floorplan": "floorplan.yaml",
        "device_types": [BUILTIN],
    }
    written = []
    if lb.own_type_dirs:
        design["device_types"].append("devicetypes")
        for src in lb.own_type_dirs:
            files = safefiles.walk_yaml(src, src).files if src.is_dir() else [src]
            for p in files:
                rel = Path("devicetypes") / (p.relative_to(src) if src.is_dir() else p.name)
                (stage / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(p, stage / rel)
                written.append(rel)
    if lb.media_file is not None:
        shutil.copyfile(lb.media_file, stage / "media.yaml")
        design["media"] = "media.yaml"
        written.append(Path("media.yaml"))
    if lb.fluid_file is not None:
        shutil.copyfile(lb.fluid_file, stage / "fluid.yaml")
        design["fluid"] = "fluid.yaml"
        written.append(Path("fluid.yaml"))
    design["elevations"] = "elevations.yaml"
    design["connections"] = "connections.yaml"
    summary = exp.summary()
    about = f"{bp.title or bp.name}: {summary['racks']} racks, {summary['devices']} devices, {summary['cables']} cables.\n{head}"
    outputs = {
        "design.yaml": render_yaml(about, design),
        "floorplan.yaml": render_yaml(
            f"Floor plan of {bp.title or bp.name}. Units: mm. Even rows face -y, odd rows +y (hot aisles between rears).\n{head}",
            exp.floorplan,
        ),
        "elevations.yaml": render_yaml(
            f"Rack elevations: position = lowest U occupied; zero-U PDUs have none.\n{head}",
            {"devices": exp.devices},
        ),
        "connections.yaml": render_yaml(
            "Cables by rule: " + ", ".join(f"{k} {v}" for k, v in exp.links.items()) + f"\n{head}",
            {"cables": exp.cables},
        ),
    }
    for name, text in outputs.items():
        (stage / name).write_text(text, encoding="utf-8")
        written.append(Path(name))
    return sorted(written)
