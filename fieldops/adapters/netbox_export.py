"""A complete NetBox import set for a design, in the order an empty NetBox takes it.

Every file is what NetBox 4.x's own bulk-import page for that object takes (columns from
``dcim/forms/bulk_import.py`` and ``extras/forms/bulk_import.py``); ``README.md`` lists the
import order:

``01-sites.csv``, ``02-locations.csv`` (the hall), ``03-custom-fields.csv`` (where a rack
stands on the floor), ``04-racks.csv``, ``05-manufacturers.csv``, ``06-device-roles.csv``,
``07-device-types.yaml`` (the design's devicetype-library files, one YAML document each; the
same files under ``device-types/`` in the library's layout), ``08-devices.csv``,
``09-cables.csv``.

* Devices: ``face`` is written with or without a position (zero-U PDUs keep their rear rails);
  ``device_type`` is the model name and ``role`` the role's name, as NetBox's import form
  looks them up.
* Cables: side A is the designer's ``a`` end (so a label's ``/A`` stays on that end), ``label``
  the fieldops cable ID, ``description`` the fieldops media slug, ``length`` the ordered length
  from the plan (empty without one), ``status`` ``planned`` (``connected`` for cables the
  as-built record shows in place).

Rows are sorted, so the same design gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from fieldops.adapters.netbox_fields import TERMINATION_TYPES, netbox_color, slugify
from fieldops.core.model import Design, DeviceType

SITE_COLUMNS = ("name", "slug", "status", "description")
LOCATION_COLUMNS = ("site", "name", "slug", "status", "description")
CUSTOM_FIELD_COLUMNS = ("name", "label", "type", "object_types", "description")
RACK_COLUMNS = (
    "site",
    "location",
    "name",
    "status",
    "width",
    "u_height",
    "outer_width",
    "outer_depth",
    "outer_unit",
    "max_weight",
    "weight_unit",
    "cf_fieldops_x_mm",
    "cf_fieldops_y_mm",
    "cf_fieldops_rotation_deg",
    "cf_fieldops_location_id",
    "cf_fieldops_rack_type",
)
MANUFACTURER_COLUMNS = ("name", "slug")
ROLE_COLUMNS = ("name", "slug", "color")
DEVICE_COLUMNS = (
    "name",
    "role",
    "manufacturer",
    "device_type",
    "status",
    "site",
    "location",
    "rack",
    "position",
    "face",
    "asset_tag",
    "serial",
)
CABLE_COLUMNS = (
    "side_a_site",
    "side_a_device",
    "side_a_type",
    "side_a_name",
    "side_b_site",
    "side_b_device",
    "side_b_type",
    "side_b_name",
    "type",
    "status",
    "label",
    "color",
    "length",
    "length_unit",
    "description",
)
# Where a rack stands on the floor: NetBox has no floor geometry, so custom fields on racks.
CUSTOM_FIELDS = (
    ("fieldops_x_mm", "Floor x (mm)", "integer", "rack centre, fieldops floor frame"),
    ("fieldops_y_mm", "Floor y (mm)", "integer", "rack centre, fieldops floor frame"),
    ("fieldops_rotation_deg", "Rotation (deg)", "decimal", "counter-clockwise; 0 = front faces -y"),
    ("fieldops_location_id", "Location ID", "text", "TIA-606 grid location of the rack"),
    ("fieldops_rack_type", "fieldops rack type", "text", "rack type slug in the floor plan"),
)
RACK_WIDTH_IN = 19  # rail-to-rail; the footprint goes in outer_width/outer_depth
ROLE_COLORS = {  # role keyword -> NetBox colour (netbox/choices.py ColorChoices)
    "pdu": "ff9800",
    "console": "795548",
    "oob": "607d8b",
    "spine": "3f51b5",
    "leaf": "2196f3",
    "switch": "2196f3",
    "gpu": "4caf50",
    "storage": "9c27b0",
}
FILES = (
    "01-sites.csv",
    "02-locations.csv",
    "03-custom-fields.csv",
    "04-racks.csv",
    "05-manufacturers.csv",
    "06-device-roles.csv",
    "07-device-types.yaml",
    "08-devices.csv",
    "09-cables.csv",
)


def _length_m(mm: int) -> str:
    return f"{mm / 1000:g}" if mm else ""


def role_color(role: str) -> str:
    return next((c for k, c in ROLE_COLORS.items() if k in role), "9e9e9e")


def site_slug(site: str) -> str:
    return slugify(site) or "site"


def build_site_rows(design: Design, *, site: str) -> tuple[list[dict], list[dict]]:
    """(sites, locations): the site and the hall as a location in it."""
    hall = design.floorplan.name
    sites = [{"name": site, "slug": site_slug(site), "status": "planned", "description": ""}]
    locations = [
        {
            "site": site,
            "name": hall,
            "slug": slugify(hall) or "hall",
            "status": "planned",
            "description": f"data hall (fieldops design {design.name} {design.revision})",
        }
    ]
    return sites, locations


def build_custom_field_rows() -> list[dict]:
    return [
        {"name": n, "label": label, "type": t, "object_types": "dcim.rack", "description": d}
        for n, label, t, d in CUSTOM_FIELDS
    ]


def build_rack_rows(design: Design, *, site: str) -> list[dict]:
    fp = design.floorplan
    rows = []
    for rack in sorted(fp.racks, key=lambda r: r.name):
        rt = fp.rack_types.get(rack.rack_type)
        rows.append(
            {
                "site": site,
                "location": fp.name,
                "name": rack.name,
                "status": "planned",
                "width": RACK_WIDTH_IN,
                "u_height": rt.u_height if rt else 42,
                "outer_width": rt.width_mm if rt else "",
                "outer_depth": rt.depth_mm if rt else "",
                "outer_unit": "mm" if rt else "",
                "max_weight": round(rt.max_kg) if rt and rt.max_kg else "",
                "weight_unit": "kg" if rt and rt.max_kg else "",
                "cf_fieldops_x_mm": rack.position[0],
                "cf_fieldops_y_mm": rack.position[1],
                "cf_fieldops_rotation_deg": f"{rack.rotation_deg:g}",
                "cf_fieldops_location_id": fp.grid.location_id(*rack.position),
                "cf_fieldops_rack_type": rack.rack_type,
            }
        )
    return rows


def used_device_types(design: Design) -> list[DeviceType]:
    slugs = {d.device_type for d in design.devices}
    return sorted(
        (dt for s, dt in design.device_types.items() if s in slugs),
        key=lambda dt: (dt.manufacturer, dt.model),
    )


def build_manufacturer_rows(design: Design) -> list[dict]:
    names = sorted({dt.manufacturer for dt in used_device_types(design)})
    return [{"name": n, "slug": slugify(n)} for n in names]


def build_role_rows(design: Design) -> list[dict]:
    roles = sorted({d.role or "device" for d in design.devices})
    return [{"name": r, "slug": slugify(r), "color": role_color(r)} for r in roles]


def build_device_rows(design: Design, *, site: str, status: str = "planned") -> list[dict]:
    rows = []
    for d in sorted(design.devices, key=lambda d: d.name):
        dt = design.device_types.get(d.device_type)
        rows.append(
            {
                "name": d.name,
                "role": d.role or "device",
                "manufacturer": dt.manufacturer if dt else "",
                "device_type": dt.model if dt else d.device_type,
                "status": status,
                "site": site,
                "location": design.floorplan.name,
                "rack": d.rack,
                "position": "" if d.position is None else str(d.position),
                "face": d.face,  # with or without a position: zero-U devices keep their side
                "asset_tag": d.asset_tag,
                "serial": d.serial,
            }
        )
    return rows


def termination_type(design: Design, device: str, port: str) -> str:
    """``dcim.interface``, ``dcim.powerport``, ... of ``device:port`` (interface when unknown)."""
    dev = design.device(device)
    dt = design.device_types.get(dev.device_type) if dev else None
    tmpl = dt.port(port) if dt else None
    return TERMINATION_TYPES.get(tmpl.kind if tmpl else "interface", "dcim.interface")


def build_cable_rows(
    design: Design,
    cable_ids: Mapping[tuple[str, str], str],
    *,
    site: str,
    ordered_mm: Mapping[str, int] | None = None,
    connected: Iterable[str] = (),
) -> list[dict]:
    """One row per designed cable; side A is the designer's ``a`` end."""
    ordered_mm = ordered_mm or {}
    connected = set(connected)
    rows = []
    for c in design.cables:
        cid = cable_ids[c.key]
        media = design.media.get(c.media)
        length = _length_m(ordered_mm.get(cid, 0))
        rows.append(
            {
                "side_a_site": site,
                "side_a_device": c.a.device,
                "side_a_type": termination_type(design, c.a.device, c.a.port),
                "side_a_name": c.a.port,
                "side_b_site": site,
                "side_b_device": c.b.device,
                "side_b_type": termination_type(design, c.b.device, c.b.port),
                "side_b_name": c.b.port,
                "type": media.cable_type if media else "",
                "status": "connected" if cid in connected else "planned",
                "label": cid,
                "color": netbox_color(media.color) if media else "",
                "length": length,
                "length_unit": "m" if length else "",
                "description": c.media,
            }
        )
    rows.sort(key=lambda r: r["label"])
    return rows


def render_csv(columns: tuple[str, ...], rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def device_type_file(dt: DeviceType, base: Path | None) -> Path | None:
    """The devicetype-library file a device type was read from, when it can be found."""
    from fieldops.adapters.devicetypes import BUILTIN, builtin_library

    name = dt.source.file
    if not name:
        return None
    if name.startswith(BUILTIN + "/"):
        path = builtin_library() / name[len(BUILTIN) + 1 :]
    else:
        path = Path(name) if Path(name).is_absolute() else Path(base or ".") / name
    return path if path.is_file() else None


def render_device_type(dt: DeviceType) -> str:
    """A devicetype-library document from the model (for a type whose file cannot be found)."""
    import yaml

    doc: dict = {
        "manufacturer": dt.manufacturer,
        "model": dt.model,
        "slug": dt.slug,
        "u_height": dt.u_height,
        "is_full_depth": dt.is_full_depth,
    }
    if dt.weight_kg is not None:
        doc |= {"weight": dt.weight_kg, "weight_unit": "kg"}
    if dt.airflow:
        doc["airflow"] = dt.airflow
    sections = {
        "interface": "interfaces",
        "console-port": "console-ports",
        "console-server-port": "console-server-ports",
        "power-port": "power-ports",
        "power-outlet": "power-outlets",
    }
    for p in dt.ports:
        section = sections.get(p.kind)
        if section is None:
            continue  # front/rear ports need their rear-port mapping, which only the file has
        item: dict = {"name": p.name, "type": p.type or "other"}
        if p.kind == "interface" and p.mgmt_only:
            item["mgmt_only"] = True
        if p.kind == "power-port":
            if p.maximum_draw_w is not None:
                item["maximum_draw"] = round(p.maximum_draw_w)
            if p.allocated_draw_w is not None:
                item["allocated_draw"] = round(p.allocated_draw_w)
        if p.kind == "power-outlet" and p.feed_leg:
            item["feed_leg"] = p.feed_leg
        doc.setdefault(section, []).append(item)
    return yaml.safe_dump(doc, sort_keys=False)


def device_type_docs(design: Design, base: Path | None) -> dict[str, dict]:
    """Device-type slug -> its devicetype-library document, for the types the devices use."""
    import yaml

    out = {}
    for dt in used_device_types(design):
        path = device_type_file(dt, base)
        text = path.read_text(encoding="utf-8-sig") if path else render_device_type(dt)
        doc = yaml.safe_load(text)
        out[dt.slug] = doc if isinstance(doc, dict) else {}
    return out


def device_type_texts(design: Design, base: Path | None) -> list[tuple[str, str]]:
    """``(relative path, YAML text)`` of every device type the design's devices use."""
    out, taken = [], set()
    for dt in used_device_types(design):
        path = device_type_file(dt, base)
        text = path.read_text(encoding="utf-8-sig") if path else render_device_type(dt)
        folder = slugify(dt.manufacturer) or "unknown"
        rel = f"{folder}/{path.name if path else dt.slug + '.yaml'}"
        if rel in taken:  # two types' files of one name: name the second by its slug
            rel = f"{folder}/{dt.slug}.yaml"
        taken.add(rel)
        out.append((rel, text))
    return out


def _document(text: str) -> str:
    body = text.strip("\n")
    return body[4:].lstrip("\n") if body.startswith("---\n") else body


README = """\
# NetBox import set for {name} (revision {revision})

Written by `fieldops netbox export`. Import the files in this order on NetBox's import pages
(each object list: **Import** -> paste or upload; CSV format, or YAML for device types). Every
name a later file refers to is created by an earlier one, so an empty NetBox takes the whole set.

| step | file | NetBox page | what it creates |
|---|---|---|---|
| 1 | `01-sites.csv` | Organization -> Sites -> Import | site `{site}` |
| 2 | `02-locations.csv` | Organization -> Locations -> Import | the hall `{hall}` |
| 3 | `03-custom-fields.csv` | Customization -> Custom Fields -> Import | rack fields for the floor position |
| 4 | `04-racks.csv` | Racks -> Racks -> Import | {racks} racks |
| 5 | `05-manufacturers.csv` | Devices -> Manufacturers -> Import | {manufacturers} manufacturers |
| 6 | `06-device-roles.csv` | Devices -> Device Roles -> Import | {roles} roles |
| 7 | `07-device-types.yaml` | Devices -> Device Types -> Import (YAML) | {types} device types with their ports |
| 8 | `08-devices.csv` | Devices -> Devices -> Import | {devices} devices (their ports come from the types) |
| 9 | `09-cables.csv` | Connections -> Cables -> Import | {cables} cables |

Skip a step whose objects your NetBox already has (same names). `device-types/` holds the same
device types as `07-device-types.yaml`, one devicetype-library file each.

Cable side A is the designer's A end; `label` is the fieldops cable ID printed on both ends
(`.../A`, `.../B`). {lengths}

To update a NetBox that already holds an earlier revision, use `fieldops netbox push` (REST
API): it matches by name, asset tag and label, updates what changed, creates what is new and
marks removed cables `decommissioning`. Re-importing these files would fail on the asset tags
and labels that already exist.
"""


def write_netbox_files(
    design: Design,
    outdir: Path,
    cable_ids: Mapping[tuple[str, str], str],
    *,
    site: str,
    ordered_mm: Mapping[str, int] | None = None,
    connected: Iterable[str] = (),
    base: Path | None = None,
) -> list[Path]:
    """Write the numbered import set and README.md into ``outdir`` (a staging directory)."""
    outdir = Path(outdir)
    sites, locations = build_site_rows(design, site=site)
    types = device_type_texts(design, base)
    racks = build_rack_rows(design, site=site)
    manufacturers = build_manufacturer_rows(design)
    roles = build_role_rows(design)
    cables = build_cable_rows(
        design, cable_ids, site=site, ordered_mm=ordered_mm, connected=connected
    )
    with_length = sum(1 for r in cables if r["length"])
    files = {
        "01-sites.csv": render_csv(SITE_COLUMNS, sites),
        "02-locations.csv": render_csv(LOCATION_COLUMNS, locations),
        "03-custom-fields.csv": render_csv(CUSTOM_FIELD_COLUMNS, build_custom_field_rows()),
        "04-racks.csv": render_csv(RACK_COLUMNS, racks),
        "05-manufacturers.csv": render_csv(MANUFACTURER_COLUMNS, manufacturers),
        "06-device-roles.csv": render_csv(ROLE_COLUMNS, roles),
        "07-device-types.yaml": "".join(f"---\n{_document(t)}\n" for _, t in types),
        "08-devices.csv": render_csv(DEVICE_COLUMNS, build_device_rows(design, site=site)),
        "09-cables.csv": render_csv(CABLE_COLUMNS, cables),
    }
    lengths = (
        f"`length` is the ordered length of {with_length} of {len(cables)} cables, from the plan."
        if with_length
        else "`length` is empty: no plan was given (`fieldops netbox export --plan PLAN_DIR`)."
    )
    files["README.md"] = README.format(
        name=design.name,
        revision=design.revision,
        site=site,
        hall=design.floorplan.name,
        racks=len(racks),
        manufacturers=len(manufacturers),
        roles=len(roles),
        types=len(types),
        devices=len(design.devices),
        cables=len(cables),
        lengths=lengths,
    )
    out = []
    for name, text in files.items():
        (outdir / name).write_text(text, encoding="utf-8")
        out.append(outdir / name)
    tree = outdir / "device-types"
    if tree.exists():
        shutil.rmtree(tree)
    for rel, text in types:
        target = tree / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        out.append(target)
    return out
