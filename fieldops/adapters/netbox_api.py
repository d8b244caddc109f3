"""Import devices and cables from NetBox (REST API through pynetbox, or its bulk CSV) into a
fieldops design directory.

NetBox holds no floor geometry, so an import is given the hall's floor plan (a fieldops
``floorplan.yaml``) and, where the device types are not in the bundled devicetype-library,
a folder of device-type files. The design directory written holds ``design.yaml``,
``floorplan.yaml``, ``elevations.yaml``, ``connections.yaml`` (and ``devicetypes/``).

Both sources are first turned into the same plain records, shaped like NetBox 4.x API objects
(``/api/dcim/devices/``, ``/api/dcim/cables/``, ``/api/dcim/racks/``), then converted by one
function, :func:`build_design_docs`. Cables keep their NetBox ``label`` (the fieldops cable
ID), so IDs survive the round trip; a cable's media is its ``description`` when that names a
catalogue media, else the first catalogue media of its NetBox ``type``.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fieldops.adapters.netbox_export import TERMINATION_TYPES
from fieldops.adapters.yamlfile import read_text
from fieldops.core.model import DeviceType, Media
from fieldops.core.problems import DesignError, Problem

MAX_RECORDS = 1_000_000


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
    try:
        import pynetbox
        import requests
    except ImportError:  # pragma: no cover - pynetbox is a declared dependency
        raise DesignError(
            [Problem(url, 0, "", "pynetbox is not installed (pip install 'fieldops[netbox]')")]
        ) from None
    api = pynetbox.api(url, token=token)
    session = requests.Session()
    session.request = _with_timeout(session.request, timeout_s)
    api.http_session = session
    try:
        return NetBoxData(
            url,
            site,
            devices=[dict(r) for r in api.dcim.devices.filter(site=site)],
            cables=[dict(r) for r in api.dcim.cables.filter(site=site)],
            racks=[dict(r) for r in api.dcim.racks.filter(site=site)],
        )
    except pynetbox.RequestError as exc:
        status = getattr(exc.req, "status_code", "?")
        hint = " (check the token)" if status in (401, 403) else ""
        raise DesignError(
            [Problem(url, 0, "", f"NetBox answered HTTP {status}{hint}: {str(exc.error)[:200]}")]
        ) from None
    except requests.RequestException as exc:
        raise DesignError(
            [Problem(url, 0, "", f"cannot reach NetBox: {type(exc).__name__}: {str(exc)[:200]}")]
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DesignError(
            [Problem(url, 0, "", f"unexpected NetBox response: {str(exc)[:200]}")]
        ) from None


def _with_timeout(request, timeout_s: float):
    def call(method, url, **kw):
        kw.setdefault("timeout", timeout_s)
        return request(method, url, **kw)

    return call


def read_csv_exports(devices_csv: Path, cables_csv: Path, *, site: str = "") -> NetBoxData:
    """NetBox bulk-import CSV files (as ``fieldops netbox export`` writes them) as API-shaped records."""
    problems: list[Problem] = []
    devices, cables = [], []
    for line, row in _csv_rows(devices_csv, ("name", "device_type", "rack"), problems):
        devices.append(
            {
                "name": row["name"],
                "device_type": {
                    "model": row["device_type"],
                    "manufacturer": {"name": row.get("manufacturer", "")},
                    "slug": "",
                },
                "role": {"name": row.get("role", ""), "slug": row.get("role", "")},
                "rack": {"name": row["rack"]} if row["rack"] else None,
                "position": row.get("position") or None,
                "face": {"value": row.get("face", "")} if row.get("face") else None,
                "asset_tag": row.get("asset_tag") or None,
                "serial": row.get("serial", ""),
                "site": {"slug": row.get("site", ""), "name": row.get("site", "")},
                "_line": f"{devices_csv}:{line}",
            }
        )
    cols = ("side_a_device", "side_a_name", "side_b_device", "side_b_name")
    for line, row in _csv_rows(cables_csv, cols, problems):

        def term(side: str, row=row) -> list[dict]:
            return [
                {
                    "object_type": row.get(f"side_{side}_type") or "dcim.interface",
                    "object": {
                        "name": row[f"side_{side}_name"],
                        "device": {"name": row[f"side_{side}_device"]},
                    },
                }
            ]

        cables.append(
            {
                "a_terminations": term("a"),
                "b_terminations": term("b"),
                "type": row.get("type", ""),
                "status": {"value": row.get("status", "")},
                "label": row.get("label", ""),
                "color": row.get("color", ""),
                "length": row.get("length") or None,
                "length_unit": {"value": row.get("length_unit", "")}
                if row.get("length_unit")
                else None,
                "description": row.get("description", ""),
                "_line": f"{cables_csv}:{line}",
            }
        )
    if problems:
        raise DesignError(problems)
    return NetBoxData(f"{devices_csv}, {cables_csv}", site, devices, cables, [])


def _csv_rows(path: Path, required: tuple[str, ...], problems: list[Problem]):
    label = str(path)
    try:
        text = read_text(Path(path), label)
    except DesignError as exc:
        problems.extend(exc.problems)
        return []
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(Problem(label, 1, "", f"missing NetBox column(s): {', '.join(missing)}"))
        return []
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}))
    except csv.Error as exc:
        problems.append(Problem(label, reader.line_num, "", f"CSV error: {exc}"))
    return rows


# ---------------------------------------------------------------- conversion (no I/O)


def _value(x, key: str = "value") -> str:
    if isinstance(x, Mapping):
        v = x.get(key)
        return "" if v is None else str(v)
    return "" if x is None else str(x)


def build_design_docs(
    data: NetBoxData,
    *,
    device_types: Mapping[str, DeviceType],
    media: Mapping[str, Media],
    racks: set[str],
) -> tuple[dict, dict, list[Problem]]:
    """``(elevations, connections, problems)`` documents from NetBox records."""
    problems: list[Problem] = []
    by_model: dict[tuple[str, str], str] = {}
    for dt in device_types.values():
        by_model.setdefault((dt.manufacturer.lower(), dt.model.lower()), dt.slug)
        by_model.setdefault(("", dt.model.lower()), dt.slug)
    by_type: dict[str, str] = {}
    for m in media.values():
        by_type.setdefault(m.cable_type, m.slug)
    devices, names = [], set()
    for i, d in enumerate(data.devices):
        where = d.get("_line") or data.source
        path = f"devices[{i}]"
        name = d.get("name")
        if not name:
            problems.append(
                Problem(
                    where, 0, path, "device without a name (fieldops needs a name for every device)"
                )
            )
            continue
        path = f"devices[{name}]"
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
                Problem(
                    where,
                    0,
                    f"{path}.device_type",
                    f"device type '{_value(dt, 'model') or slug}' is not in the device-type library (add its devicetype-library file with --device-types)",
                )
            )
            continue
        rack = _value(d.get("rack"), "name")
        if not rack:
            problems.append(Problem(where, 0, f"{path}.rack", "device is not in a rack"))
            continue
        if rack not in racks:
            problems.append(
                Problem(where, 0, f"{path}.rack", f"rack '{rack}' is not on the floor plan")
            )
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
                    Problem(
                        where,
                        0,
                        f"{path}.position",
                        f"'{pos}' is not a whole U (half-U positions are not supported)",
                    )
                )
                continue
        entry = {"name": str(name), "device_type": slug, "rack": rack}
        if position is not None:
            entry["position"] = position
        face = _value(d.get("face")) or "front"
        entry["face"] = face
        role = _value(d.get("role"), "slug") or _value(d.get("device_role"), "slug")
        if role:
            entry["role"] = role
        if d.get("asset_tag"):
            entry["asset_tag"] = str(d["asset_tag"])
        if d.get("serial"):
            entry["serial"] = str(d["serial"])
        names.add(str(name))
        devices.append(entry)
    cables = []
    for i, c in enumerate(data.cables):
        where = c.get("_line") or data.source
        path = f"cables[{c.get('label') or c.get('id') or i}]"
        ends = []
        for side in ("a", "b"):
            terms = c.get(f"{side}_terminations") or []
            if len(terms) != 1:
                problems.append(
                    Problem(
                        where,
                        0,
                        f"{path}.{side}_terminations",
                        f"expected one termination on side {side.upper()}, found {len(terms)}",
                    )
                )
                break
            t = terms[0]
            if t.get("object_type") not in TERMINATION_TYPES.values():
                problems.append(
                    Problem(
                        where,
                        0,
                        f"{path}.{side}_terminations",
                        f"'{t.get('object_type')}' is not a device port",
                    )
                )
                break
            obj = t.get("object") or {}
            dev = _value(obj.get("device"), "name")
            port = _value(obj, "name")
            if dev not in names:
                problems.append(
                    Problem(
                        where,
                        0,
                        f"{path}.{side}_terminations",
                        f"device '{dev}' is not among the imported devices",
                    )
                )
                break
            ends.append(f"{dev}:{port}")
        if len(ends) != 2:
            continue
        desc = str(c.get("description") or "").strip()
        slug = desc if desc in media else by_type.get(str(c.get("type") or ""), "")
        if not slug:
            problems.append(
                Problem(
                    where,
                    0,
                    f"{path}.type",
                    f"no media in the catalogue for NetBox cable type '{c.get('type')}'",
                )
            )
            continue
        entry = {"a": ends[0], "b": ends[1], "media": slug}
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
