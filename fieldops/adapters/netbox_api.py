"""Import devices and cables from NetBox (REST API through pynetbox, or its CSV files) into a
fieldops design directory.

NetBox holds no floor geometry, so an import is given the hall's floor plan (a fieldops
``floorplan.yaml``) and, where the device types are not in the bundled devicetype-library,
a folder of device-type files. The design directory written holds ``design.yaml``,
``floorplan.yaml``, ``elevations.yaml``, ``connections.yaml`` (and ``devicetypes/``).

Both sources are first turned into the same plain records, shaped like NetBox 4.x API objects
(``/api/dcim/devices/``, ``/api/dcim/cables/``), then converted by one function,
:func:`build_design_docs`:

* NetBox's cable side A is fieldops' ``a`` (labels ``.../A`` stay on the same end);
* a device's ``face`` is kept with or without a position (zero-U PDUs on the rear rails);
* cables keep their NetBox ``label`` (the fieldops cable ID), so IDs survive the round trip;
  a cable's media is its ``description`` when that names a catalogue media, else the first
  catalogue media of its NetBox ``type`` whose port types fit both ends;
* devices and cables whose status is ``decommissioning`` are not part of the design.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fieldops.adapters.netbox_fields import (
    CABLE_TYPES,
    DEVICE_STATUSES,
    FACES,
    KIND_OF_TERMINATION,
    LINK_STATUSES,
    choice_value,
    netbox_color,
    parse_length,
    slugify,
)
from fieldops.core.model import DeviceType, Media
from fieldops.core.problems import DesignError, Problem

DECOMMISSIONING = "decommissioning"


@dataclass
class NetBoxData:
    source: str  # URL or file names, for problem messages
    site: str
    devices: list[dict] = field(default_factory=list)
    cables: list[dict] = field(default_factory=list)
    racks: list[dict] = field(default_factory=list)


# ---------------------------------------------------------------- sources


def fetch_api(url: str, token: str, site: str, *, timeout_s: float = 30.0) -> NetBoxData:
    """Devices, cables and racks of one site (slug) from a NetBox REST API, via pynetbox."""
    from fieldops.adapters.netbox_client import PAGE_SIZE, connect, netbox_errors

    api = connect(url, token, timeout_s=timeout_s)
    with netbox_errors(url, f"reading site '{site}'"):
        return NetBoxData(
            url,
            site,
            devices=[dict(r) for r in api.dcim.devices.filter(site=site, limit=PAGE_SIZE)],
            cables=[dict(r) for r in api.dcim.cables.filter(site=site, limit=PAGE_SIZE)],
            racks=[dict(r) for r in api.dcim.racks.filter(site=site, limit=PAGE_SIZE)],
        )


def read_csv_exports(devices_csv: Path, cables_csv: Path, *, site: str = "") -> NetBoxData:
    """NetBox CSV files (bulk-import style, as ``fieldops netbox export`` writes them, or NetBox's
    own UI export) as API-shaped records."""
    from fieldops.adapters.netboxcsv import read_rows

    problems: list[Problem] = []
    devices, cables = [], []
    label, rows = read_rows(Path(devices_csv), "devices", problems)
    for line, where, row in rows:
        role = row.get("role", "")
        devices.append(
            {
                "name": row.get("name", ""),
                "device_type": {
                    "model": row.get("device_type", ""),
                    "manufacturer": {"name": row.get("manufacturer", "")},
                    "slug": "",
                },
                "role": {"name": role, "slug": slugify(role)},
                "rack": {"name": row["rack"]} if row.get("rack") else None,
                "position": row.get("position") or None,
                "face": _choice(row.get("face", ""), FACES),
                "status": _choice(row.get("status", ""), DEVICE_STATUSES),
                "asset_tag": row.get("asset_tag") or None,
                "serial": row.get("serial", ""),
                "_source": (label, line, where),
            }
        )
    label, rows = read_rows(Path(cables_csv), "cables", problems)
    for line, where, row in rows:

        def term(side: str, row=row) -> list[dict]:
            names = [n.strip() for n in row.get(f"side_{side}_name", "").split(",") if n.strip()]
            device = {"name": row.get(f"side_{side}_device", "")}
            return [
                {
                    "object_type": row.get(f"side_{side}_type", ""),
                    "object": {"name": name, "device": device},
                }
                for name in names
            ]

        ctype = row.get("type", "")
        length = (
            parse_length(row["length"], row.get("length_unit", "")) if row.get("length") else None
        )
        cables.append(
            {
                "a_terminations": term("a"),
                "b_terminations": term("b"),
                "type": (choice_value(ctype, CABLE_TYPES) or ctype) if ctype else "",
                "status": _choice(row.get("status", ""), LINK_STATUSES),
                "label": row.get("label", ""),
                "color": netbox_color(row.get("color", "")),
                "length": length[0] if length else None,
                "length_unit": {"value": length[1]} if length else None,
                "description": row.get("description", ""),
                "media": row.get("media", ""),
                "_source": (label, line, where),
            }
        )
    if problems:
        raise DesignError(problems)
    return NetBoxData(f"{devices_csv}, {cables_csv}", site, devices, cables, [])


def _choice(text: str, choices: Mapping[str, str]) -> dict | None:
    """An API-shaped choice ``{"value": ...}`` from a value or label (unknown text kept as is)."""
    if not text:
        return None
    return {"value": choice_value(text, choices) or text}


# ---------------------------------------------------------------- conversion (no I/O)


def _value(x, key: str = "value") -> str:
    if isinstance(x, Mapping):
        v = x.get(key)
        return "" if v is None else str(v)
    return "" if x is None else str(x)


class _Where:
    """Where a record came from: a CSV line, or the API (by NetBox id)."""

    def __init__(self, data: NetBoxData, record: dict, kind: str, index: int):
        src = record.get("_source")
        if src:
            self.file, self.line, self.path = src
        else:
            self.file, self.line = data.source, 0
            ref = record.get("name") or record.get("label") or record.get("id") or index
            self.path = f"{kind}[{ref}]"

    def problem(self, field: str, message: str) -> Problem:
        return Problem(
            self.file, self.line, f"{self.path}.{field}" if field else self.path, message
        )


def build_design_docs(
    data: NetBoxData,
    *,
    device_types: Mapping[str, DeviceType],
    media: Mapping[str, Media],
    racks: set[str],
) -> tuple[dict, dict, list[Problem]]:
    """``(elevations, connections, problems)`` documents from NetBox records."""
    from fieldops.adapters.netboxcsv import pick_media, port_name, rack_name

    problems: list[Problem] = []
    by_model: dict[tuple[str, str], str] = {}
    for dt in device_types.values():
        by_model.setdefault((dt.manufacturer.lower(), dt.model.lower()), dt.slug)
        by_model.setdefault(("", dt.model.lower()), dt.slug)
    devices, types_of = [], {}
    for i, d in enumerate(data.devices):
        at = _Where(data, d, "devices", i)
        if _value(d.get("status")) == DECOMMISSIONING:
            continue
        name = d.get("name")
        if not name:
            problems.append(
                at.problem("", "device without a name (fieldops needs a name for every device)")
            )
            continue
        dt = d.get("device_type") or {}
        slug = _value(dt, "slug")
        if not slug or slug not in device_types:
            key = (
                _value(dt.get("manufacturer") if isinstance(dt, Mapping) else None, "name").lower(),
                _value(dt, "model").lower(),
            )
            slug = by_model.get(key) or by_model.get(("", key[1])) or slug
        if slug not in device_types:
            problems.append(
                at.problem(
                    "device_type",
                    f"device type '{_value(dt, 'model') or slug}' is not in the device-type library "
                    "(add its devicetype-library file with --device-types)",
                )
            )
            continue
        rack = rack_name(_value(d.get("rack"), "name"), racks)
        if not rack:
            problems.append(at.problem("rack", "device is not in a rack"))
            continue
        if rack not in racks:
            problems.append(at.problem("rack", f"rack '{rack}' is not on the floor plan"))
            continue
        pos = d.get("position")
        position = None
        if pos not in (None, ""):
            try:
                f = float(pos)
                if not f.is_integer():
                    raise ValueError
                position = int(f)
            except (TypeError, ValueError):
                problems.append(
                    at.problem(
                        "position",
                        f"'{str(pos)[:20]}' is not a whole U (half-U positions are not supported)",
                    )
                )
                continue
        face = _value(d.get("face")) or "front"
        if face not in FACES:
            problems.append(at.problem("face", f"'{face[:20]}' is not front or rear"))
            continue
        entry = {"name": str(name), "device_type": slug, "rack": rack}
        if position is not None:
            entry["position"] = position
        entry["face"] = face
        role = _value(d.get("role"), "slug") or _value(d.get("device_role"), "slug")
        if role:
            entry["role"] = role
        if d.get("asset_tag"):
            entry["asset_tag"] = str(d["asset_tag"])
        if d.get("serial"):
            entry["serial"] = str(d["serial"])
        types_of[str(name)] = device_types[slug]
        devices.append(entry)
    ports = {(name, p.name): (p.kind, p.type) for name, dt in types_of.items() for p in dt.ports}
    cables = []
    for i, c in enumerate(data.cables):
        at = _Where(data, c, "cables", i)
        if _value(c.get("status")) == DECOMMISSIONING:
            continue
        ends = []
        for side in ("a", "b"):
            terms = c.get(f"{side}_terminations") or []
            if len(terms) != 1:
                problems.append(
                    at.problem(
                        f"{side}_terminations",
                        f"{len(terms)} terminations on side {side.upper()}: fieldops plans "
                        "exactly one port per cable end",
                    )
                )
                break
            t = terms[0]
            otype = t.get("object_type") or ""
            if otype and otype not in KIND_OF_TERMINATION:
                problems.append(
                    at.problem(f"{side}_terminations", f"'{otype}' is not a device port")
                )
                break
            obj = t.get("object") or {}
            dev = _value(obj.get("device"), "name")
            port = port_name(dev, _value(obj, "name"), ports)
            if dev not in types_of:
                problems.append(
                    at.problem(
                        f"{side}_terminations", f"device '{dev}' is not among the imported devices"
                    )
                )
                break
            ends.append((dev, port))
        if len(ends) != 2:
            continue
        desc = str(c.get("media") or c.get("description") or "").strip()
        ctype = str(c.get("type") or "")
        slug = (
            desc
            if desc in media
            else pick_media(ctype, ports.get(ends[0], ""), ports.get(ends[1], ""), media)
        )
        if not slug:
            problems.append(
                at.problem("type", f"no media in the catalogue for NetBox cable type '{ctype}'")
            )
            continue
        entry = {"a": ":".join(ends[0]), "b": ":".join(ends[1]), "media": slug}
        if c.get("label"):
            entry["label"] = str(c["label"])
        cables.append(entry)
    devices.sort(key=lambda e: e["name"])
    cables.sort(key=lambda e: (e.get("label", ""), e["a"], e["b"]))
    return {"devices": devices}, {"cables": cables}, problems


# ---------------------------------------------------------------- writing a design directory


def write_design_dir(
    data: NetBoxData,
    stage: Path,
    *,
    name: str,
    floorplan: Path,
    device_type_dirs: list[Path] = (),
) -> list[Path]:
    """Write a design directory from NetBox records into ``stage``; DesignError on any problem."""
    import yaml

    from fieldops.adapters.designfile import builtin_media_file, load_media, parse_floorplan
    from fieldops.adapters.devicetypes import builtin_library, load_device_types
    from fieldops.adapters.yamlfile import read_yaml
    from fieldops.core.problems import errors

    problems: list[Problem] = []
    fp = parse_floorplan(read_yaml(floorplan, str(floorplan)), str(floorplan), problems)
    types = load_device_types([builtin_library(), *device_type_dirs], problems)
    media = load_media(builtin_media_file(), problems)
    if errors(problems):
        raise DesignError(errors(problems))
    elevations, connections, conv = build_design_docs(
        data, device_types=types, media=media, racks={r.name for r in fp.racks}
    )
    if conv:
        raise DesignError(conv)
    stage = Path(stage)
    shutil.copyfile(floorplan, stage / "floorplan.yaml")
    sources = ["@builtin"]
    for i, d in enumerate(device_type_dirs):
        target = stage / f"devicetypes{i or ''}"
        if Path(d).is_dir():
            shutil.copytree(d, target)
        else:
            target.mkdir()
            shutil.copyfile(d, target / Path(d).name)
        sources.append(target.name)
    design = {
        "name": name,
        "revision": "netbox",
        "floorplan": "floorplan.yaml",
        "device_types": sources,
        "elevations": "elevations.yaml",
        "connections": "connections.yaml",
    }
    out = []
    for fname, doc in (
        ("design.yaml", design),
        ("elevations.yaml", elevations),
        ("connections.yaml", connections),
    ):
        header = f"# Imported from NetBox ({data.source}, site {data.site or '-'}) by fieldops netbox import.\n"
        (stage / fname).write_text(header + yaml.safe_dump(doc, sort_keys=False, width=200))
        out.append(stage / fname)
    return out
