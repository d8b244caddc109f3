"""Load NetBox devicetype-library YAML files, unchanged, into DeviceType values.

Real library files have gaps (no power ports because PSUs are module bays, no data NICs
because they sit in PCIe module bays, no weight): those become warnings with a fallback,
never a crash.
"""

from __future__ import annotations

from pathlib import Path

from fieldops.adapters import safefiles
from fieldops.adapters.yamlfile import Fields, display_path, read_yaml
from fieldops.core.model import DeviceType, PortTemplate, Source
from fieldops.core.problems import INFO, WARNING, DesignError, Problem

# devicetype-library section -> our port kind
PORT_SECTIONS = {
    "interfaces": "interface",
    "console-ports": "console-port",
    "console-server-ports": "console-server-port",
    "power-ports": "power-port",
    "power-outlets": "power-outlet",
    "front-ports": "front-port",
    "rear-ports": "rear-port",
}
AIRFLOWS = (
    "front-to-rear",
    "rear-to-front",
    "left-to-right",
    "right-to-left",
    "side-to-rear",
    "rear-to-side",
    "bottom-to-top",
    "top-to-bottom",
    "passive",
    "mixed",
)
WEIGHT_TO_KG = {"kg": 1.0, "g": 0.001, "lb": 0.45359237, "oz": 0.028349523125}
YAML_SUFFIXES = safefiles.YAML_SUFFIXES
# top-level fields of the devicetype-library schema (schema/devicetype.json); others are typos
LIBRARY_FIELDS = frozenset(
    {
        "manufacturer",
        "model",
        "slug",
        "part_number",
        "description",
        "comments",
        "u_height",
        "is_full_depth",
        "airflow",
        "weight",
        "weight_unit",
        "subdevice_role",
        "front_image",
        "rear_image",
        "exclude_from_utilization",
        "is_powered",
        "default_platform",
        "device-bays",
        "module-bays",
        "inventory-items",
        *PORT_SECTIONS,
    }
)
# interface types that are logical, not physical: a cable cannot plug into them
VIRTUAL_INTERFACE_TYPES = frozenset({"virtual", "bridge", "lag"})
BUILTIN = "@builtin"
GAP = "gap"  # a warning about a library file's gap; reported only for device types a design uses


def builtin_library() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "devicetypes"


def parse_device_type(data, file: str, problems: list[Problem]) -> DeviceType | None:
    f = Fields(data, file, "", problems)
    if not isinstance(data, dict):
        return None
    slug = f.str("slug")
    manufacturer = f.str("manufacturer", "")
    model = f.str("model", slug or "")
    if not slug:
        return None
    u_height = f.number("u_height", 1.0, required=False, low=0, high=100)
    if u_height is not None and (u_height * 2) % 1:
        f.error("u_height", f"{u_height} is not a multiple of 0.5 U")
    weight = f.number("weight", None, required=False, low=0, high=10_000)
    unit = f.str("weight_unit", "kg", required=False, choices=tuple(WEIGHT_TO_KG))
    weight_kg = None if weight is None else round(weight * WEIGHT_TO_KG.get(unit or "kg", 1.0), 3)
    ports: list[PortTemplate] = []
    seen: set[tuple[str, str]] = set()
    for section, kind in PORT_SECTIONS.items():
        for p in f.each(section, max_items=10_000):
            name = p.str("name", max_len=100)
            if name is None:
                continue
            if (kind, name) in seen:
                p.error("name", f"duplicate {kind} '{name}'")
                continue
            seen.add((kind, name))
            ports.append(
                PortTemplate(
                    name=name,
                    kind=kind,
                    type=p.str("type", "", required=False) or "",
                    mgmt_only=bool(p.bool("mgmt_only", False, required=False)),
                    maximum_draw_w=p.number(
                        "maximum_draw", None, required=False, low=0, high=1_000_000
                    ),
                    allocated_draw_w=p.number(
                        "allocated_draw", None, required=False, low=0, high=1_000_000
                    ),
                    feed_leg=p.str("feed_leg", "", required=False) or "",
                )
            )
    bays = tuple(
        b.str("name", "", required=False) or "" for b in f.each("module-bays", max_items=10_000)
    )
    airflow = f.str("airflow", "", required=False) or ""
    if airflow and airflow not in AIRFLOWS:
        f.warn("airflow", f"unknown airflow '{airflow}'")
    powered = f.raw("is_powered", True) is not False
    src = f.source()
    dt = DeviceType(
        manufacturer=manufacturer or "",
        model=model or slug,
        slug=slug,
        u_height=float(u_height if u_height is not None else 1.0),
        is_full_depth=bool(f.bool("is_full_depth", True, required=False)),
        weight_kg=weight_kg,
        airflow=airflow,
        ports=tuple(ports),
        module_bays=bays,
        source=src,
        is_powered=powered,
    )
    for key in data:
        if key not in LIBRARY_FIELDS:
            f.error(key, f"{slug}: unknown device-type field '{key}' (ignored)", GAP)
    # Gaps in real library files: warn and fall back.
    if weight_kg is None:
        f.error(
            "weight",
            f"{slug}: no weight: rack weight budget and lift checks treat it as unknown",
            GAP,
        )
    if powered and u_height and not any(p.kind == "power-port" for p in ports):
        psu_bays = [b for b in bays if "psu" in b.lower() or "power" in b.lower()]
        hint = f" (PSUs are module bays: {', '.join(psu_bays[:4])})" if psu_bays else ""
        f.error(
            None, f"{slug}: no power-ports{hint}; power draw unknown, no PDU cords planned", GAP
        )
    elif powered and any(
        p.kind == "power-port" and p.maximum_draw_w is None and p.allocated_draw_w is None
        for p in ports
    ):
        f.error(
            "power-ports",
            f"{slug}: power ports without maximum_draw; rack power budget uses what is known",
            GAP,
        )
    return dt


def load_device_types(
    sources: list[Path],
    problems: list[Problem],
    base: Path | None = None,
    *,
    jail: Path | None = None,
    refs: list[Source] | None = None,
    trusted: Path | None = None,
) -> dict[str, DeviceType]:
    """Read device types from files and folders (recursively), keyed by slug.

    Within one source a slug must be unique; a later source replaces an earlier one's type of
    the same slug (so a design can ship a fixed copy of a ``@builtin`` library file).
    Folders are walked on a budget and never left (:func:`safefiles.walk_yaml`); a symlinked
    file must resolve inside ``jail`` (None: anywhere). ``refs[i]`` is where ``sources[i]`` is
    named, for problems about the source as a whole; ``trusted`` (the built-in library) is read
    wherever it lies.
    Gap warnings come back with severity ``gap``; :func:`keep_gaps_for` turns those of the
    device types a design uses into warnings and drops the rest.
    """
    out: dict[str, DeviceType] = {}
    for i, src in enumerate(sources):
        ref = refs[i] if refs else Source(display_path(src, base), 0, "")
        files = _source_files(src, ref, problems, base, None if src == trusted else jail)
        if files is None:
            continue
        here: dict[str, DeviceType] = {}
        modules = [p for p in files if _is_module_type(p, src)]
        if modules:
            problems.append(
                Problem(
                    ref.file,
                    ref.line,
                    ref.path,
                    f"{len(modules)} module type file(s) in {MODULE_TYPES}/ not read: fieldops "
                    "plans devices, not the modules (PSUs, NICs) in their bays",
                    INFO,
                    "devicetype-gap",
                )
            )
            files = [p for p in files if p not in set(modules)]
        for path in files:
            label = _label(path, src, base)
            try:
                data = read_yaml(path, label)
            except DesignError as exc:
                problems.extend(exc.problems)
                continue
            dt = parse_device_type(data, label, problems)
            if dt is None:
                continue
            if dt.slug in here:
                problems.append(
                    Problem(
                        label,
                        dt.source.line,
                        "slug",
                        f"device type '{dt.slug}' is also defined in {here[dt.slug].source.file}",
                        rule="duplicate",
                    )
                )
                continue
            here[dt.slug] = dt
        out.update(here)
    return out


MODULE_TYPES = "module-types"  # NetBox's devicetype-library keeps them in `module-types/`


def _is_module_type(path: Path, src: Path) -> bool:
    """A file of the library's module types (``module-types/`` or ``_module-types/``)."""
    try:
        parts = path.relative_to(src).parts[:-1]
    except ValueError:
        parts = path.parts[:-1]
    return any(p.lstrip("_") == MODULE_TYPES for p in parts)


def _source_files(
    src: Path, ref: Source, problems: list[Problem], base: Path | None, jail: Path | None
) -> list[Path] | None:
    """The YAML files of one device-type source (a file or a folder); None after a problem."""

    def refuse(message: str) -> None:
        problems.append(Problem(ref.file, ref.line, ref.path, message, rule="reference"))

    shown = safefiles.shown(src, base)
    try:
        real = safefiles.confine(src, jail)
        if not real.is_dir():
            return [src]
        found = safefiles.walk_yaml(real, jail)
    except safefiles.Refused as exc:
        refuse(f"device types '{shown}' {exc}")
        return None
    for path, why in found.skipped:
        named = src / path.relative_to(real)  # as the design names it, not resolved
        problems.append(
            Problem(safefiles.shown(named, base), 0, "", f"not read: {why}", rule="reference")
        )
    if not found.files:
        lead = f"device types '{shown}': " if ref.line else ""
        refuse(f"{lead}no device-type YAML files (*.yaml, *.yml) in this directory")
        return None
    # keep the names the design used (src/...), not the resolved ones
    return [src / p.relative_to(real) for p in found.files]


def _label(path: Path, src: Path, base: Path | None) -> str:
    lib = builtin_library()
    if path.resolve().is_relative_to(lib):
        return f"{BUILTIN}/{path.resolve().relative_to(lib)}"
    return display_path(path, base)


def keep_gaps_for(
    problems: list[Problem], used: set[str], types: dict[str, DeviceType]
) -> list[Problem]:
    """Gap notes of used device types become warnings; the others are dropped."""
    files = {types[s].source.file for s in used if s in types}
    out = []
    for p in problems:
        if p.severity != GAP:
            out.append(p)
        elif p.file in files:
            out.append(Problem(p.file, p.line, p.path, p.message, WARNING, "devicetype-gap"))
    return out
