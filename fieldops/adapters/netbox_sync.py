"""What ``fieldops netbox push`` would change in NetBox: the design against NetBox's state.

No I/O here: :func:`desired_state` reads the design, :func:`plan_changes` compares it with a
:class:`NetBoxState` (read by :mod:`fieldops.adapters.netbox_push`) and returns the changes,
by name, in the order they must be applied. Matching, so a second push is an update:

* sites by slug, the hall (a location) by slug, custom fields, manufacturers, roles and
  device types by slug (an existing device type is used as NetBox has it);
* racks by name in the site;
* devices by name in the site, else by asset tag (NetBox's asset tags are unique across the
  instance, so a renamed device is found by its tag);
* cables by label (the fieldops cable ID), else by their two ports.

Only what fieldops owns is compared: a device's type, role, rack, position, face, and its asset
tag and serial when the design has them; a cable's ends, type, colour, media (description) and,
when a plan gave it, its length. Status: new objects are ``planned`` (cables ``connected`` when
the as-built record shows them in place); an existing status is left alone (NetBox knows what is
active or connected) except ``decommissioning``, which goes back to ``planned`` when the design
has the object again. Devices in the design's racks and cables with a fieldops cable ID that the
design no longer has are marked ``decommissioning`` (never deleted: they are still in the rack
until someone takes them out).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from fieldops.adapters.netbox_export import (
    CUSTOM_FIELDS,
    RACK_WIDTH_IN,
    role_color,
    site_slug,
    termination_type,
    used_device_types,
)
from fieldops.adapters.netbox_fields import slugify
from fieldops.core.labels import is_cable_id
from fieldops.core.model import Design

PLANNED, CONNECTED, DECOMMISSIONING = "planned", "connected", "decommissioning"
End = tuple[str, str]  # (device, port)


@dataclass
class Desired:
    site: str
    site_slug: str
    hall: str
    hall_slug: str
    manufacturers: dict[str, str] = field(default_factory=dict)  # slug -> name
    roles: dict[str, dict] = field(default_factory=dict)  # slug -> {name, color}
    device_types: dict[str, dict] = field(default_factory=dict)  # slug -> fields + ports doc
    racks: dict[str, dict] = field(default_factory=dict)  # name -> fields
    devices: dict[str, dict] = field(default_factory=dict)  # name -> fields
    cables: dict[str, dict] = field(default_factory=dict)  # cable ID -> fields


@dataclass
class NetBoxState:
    """What NetBox holds, by name (ids kept for the writes)."""

    site: dict | None = None  # {id, name, slug}
    location: dict | None = None
    custom_fields: set[str] = field(default_factory=set)
    manufacturers: dict[str, int] = field(default_factory=dict)  # slug -> id
    roles: dict[str, int] = field(default_factory=dict)
    device_types: dict[str, int] = field(default_factory=dict)
    racks: dict[str, dict] = field(default_factory=dict)  # name -> {id, fields}
    devices: dict[str, dict] = field(default_factory=dict)  # name -> {id, fields}
    tagged: dict[str, dict] = field(default_factory=dict)  # asset tag -> device anywhere
    cables: list[dict] = field(default_factory=list)  # {id, label, a, b, fields}
    ports: dict[End, dict] = field(default_factory=dict)  # (device, port) -> {type, id, cable}


@dataclass(frozen=True)
class Change:
    action: str  # create | update | decommission | blocked
    kind: str  # site | location | custom field | manufacturer | role | device type | rack | device | cable
    name: str
    fields: Mapping = field(default_factory=dict)  # create: the object; update: {field: (old, new)}
    id: int | None = None  # NetBox id of the object changed
    note: str = ""

    def line(self) -> str:
        if self.action == "update":
            what = ", ".join(f"{k} {_show(o)} -> {_show(n)}" for k, (o, n) in self.fields.items())
            return f"update {self.kind} {self.name}: {what}"
        text = f"{self.action} {self.kind} {self.name}"
        return f"{text} ({self.note})" if self.note else text


def _show(v) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return "-" if v in (None, "") else str(v)


def desired_state(
    design: Design,
    cable_ids: Mapping[tuple[str, str], str],
    *,
    site: str,
    ordered_mm: Mapping[str, int] | None = None,
    connected: Iterable[str] = (),
    type_docs: Mapping[str, dict] | None = None,
) -> Desired:
    """The NetBox objects a design stands for; ``type_docs``: device-type slug -> its
    devicetype-library document (for creating types NetBox lacks)."""
    fp = design.floorplan
    out = Desired(site, site_slug(site), fp.name, slugify(fp.name) or "hall")
    for dt in used_device_types(design):
        out.manufacturers[slugify(dt.manufacturer)] = dt.manufacturer
        out.device_types[dt.slug] = {
            "manufacturer": slugify(dt.manufacturer),
            "model": dt.model,
            "doc": (type_docs or {}).get(dt.slug, {}),
        }
    for d in design.devices:
        role = d.role or "device"
        out.roles[slugify(role)] = {"name": role, "color": role_color(role)}
    for rack in fp.racks:
        rt = fp.rack_types.get(rack.rack_type)
        out.racks[rack.name] = {
            "u_height": rt.u_height if rt else 42,
            "cf": {
                "fieldops_x_mm": rack.position[0],
                "fieldops_y_mm": rack.position[1],
                "fieldops_rotation_deg": round(float(rack.rotation_deg), 3),
                "fieldops_location_id": fp.grid.location_id(*rack.position),
                "fieldops_rack_type": rack.rack_type,
            },
            "new": {
                "width": RACK_WIDTH_IN,
                **(
                    {"outer_width": rt.width_mm, "outer_depth": rt.depth_mm, "outer_unit": "mm"}
                    if rt
                    else {}
                ),
                **(
                    {"max_weight": round(rt.max_kg), "weight_unit": "kg"}
                    if rt and rt.max_kg
                    else {}
                ),
            },
        }
    for d in design.devices:
        out.devices[d.name] = {
            "device_type": d.device_type,
            "role": slugify(d.role or "device"),
            "rack": d.rack,
            "position": d.position,
            "face": d.face,
            "asset_tag": d.asset_tag or None,
            "serial": d.serial,
        }
    ordered_mm = ordered_mm or {}
    connected = set(connected)
    for c in design.cables:
        cid = cable_ids[c.key]
        media = design.media.get(c.media)
        mm = ordered_mm.get(cid, 0)
        out.cables[cid] = {
            "a": (c.a.device, c.a.port),
            "b": (c.b.device, c.b.port),
            "a_type": termination_type(design, c.a.device, c.a.port),
            "b_type": termination_type(design, c.b.device, c.b.port),
            "type": media.cable_type if media else "",
            "color": _color(media.color) if media else "",
            "description": c.media,
            "length": mm / 1000 if mm else None,
            "status": CONNECTED if cid in connected else PLANNED,
        }
    return out


def _color(name: str) -> str:
    from fieldops.adapters.netbox_fields import netbox_color

    return netbox_color(name)


# ---------------------------------------------------------------- the diff


def plan_changes(want: Desired, have: NetBoxState) -> tuple[list[Change], dict[str, int]]:
    """``(changes in apply order, unchanged counts by kind)``."""
    changes: list[Change] = []
    same: dict[str, int] = {}
    if have.site is None:
        changes.append(Change("create", "site", want.site, {"slug": want.site_slug}))
    if have.location is None:
        changes.append(Change("create", "location", want.hall, {"slug": want.hall_slug}))
    for name, label, ftype, desc in CUSTOM_FIELDS:
        if name not in have.custom_fields:
            changes.append(
                Change(
                    "create",
                    "custom field",
                    name,
                    {"label": label, "type": ftype, "description": desc},
                )
            )
    for slug, name in sorted(want.manufacturers.items()):
        if slug not in have.manufacturers:
            changes.append(Change("create", "manufacturer", name, {"slug": slug}))
    for slug, role in sorted(want.roles.items()):
        if slug not in have.roles:
            changes.append(Change("create", "role", role["name"], {"slug": slug, **role}))
    for slug, dt in sorted(want.device_types.items()):
        if slug not in have.device_types:
            changes.append(Change("create", "device type", slug, dt, note=dt["model"]))
    changes += _rack_changes(want, have, same)
    changes += _device_changes(want, have, same)
    blocked = {c.name for c in changes if c.kind == "device" and c.action == "blocked"}
    for c in _cable_changes(want, have, same):
        cab = want.cables.get(c.name)
        stuck = [e[0] for e in (cab["a"], cab["b"])] if cab and c.action == "create" else []
        stuck = [d for d in stuck if d in blocked]
        if stuck:
            c = Change("blocked", "cable", c.name, note=f"device {stuck[0]} is blocked")
        changes.append(c)
    return changes, same


def _rack_changes(want: Desired, have: NetBoxState, same: dict) -> list[Change]:
    out = []
    for name, rack in sorted(want.racks.items()):
        cur = have.racks.get(name)
        if cur is None:
            out.append(Change("create", "rack", name, rack))
            continue
        diff = {}
        if cur.get("u_height") != rack["u_height"]:
            diff["u_height"] = (cur.get("u_height"), rack["u_height"])
        for k, v in rack["cf"].items():
            old = (cur.get("cf") or {}).get(k)
            if not _equal(old, v):
                diff[f"cf {k}"] = (old, v)
        if diff:
            out.append(Change("update", "rack", name, diff, id=cur["id"]))
        else:
            same["rack"] = same.get("rack", 0) + 1
    return out


def _equal(old, new) -> bool:
    if isinstance(new, (int, float)) and not isinstance(new, bool):
        try:
            return abs(float(old) - float(new)) < 1e-6
        except (TypeError, ValueError):
            return False
    return (old or "") == (new or "")


DEVICE_FIELDS = ("device_type", "role", "rack", "position", "face", "asset_tag", "serial")


def _device_changes(want: Desired, have: NetBoxState, same: dict) -> list[Change]:
    out, matched = [], set()
    for name, dev in sorted(want.devices.items()):
        cur = have.devices.get(name)
        if cur is None and dev["asset_tag"]:
            cur = have.tagged.get(dev["asset_tag"])
            if cur is not None and (
                cur["name"] in want.devices or cur.get("site") != want.site_slug
            ):
                # the tag is another design device's, or a device of another site: never steal it
                where = (
                    f"site {cur.get('site')}" if cur["name"] not in want.devices else "the design"
                )
                out.append(
                    Change(
                        "blocked",
                        "device",
                        name,
                        note=f"asset tag {dev['asset_tag']} belongs to NetBox device "
                        f"'{cur['name']}' in {where}; NetBox's asset tags are unique",
                    )
                )
                continue
        if cur is None:
            out.append(Change("create", "device", name, dev, note=_where(dev)))
            continue
        matched.add(cur["name"])
        diff = {}
        if cur["name"] != name:
            diff["name"] = (cur["name"], name)
        for k in DEVICE_FIELDS:
            if k in ("asset_tag", "serial") and not dev[k]:
                continue  # the design does not know it: NetBox's value stands
            if (cur.get(k) or None) != (dev[k] or None):
                diff[k] = (cur.get(k), dev[k])
        if cur.get("status") == DECOMMISSIONING:
            diff["status"] = (DECOMMISSIONING, PLANNED)
        if diff:
            out.append(Change("update", "device", name, diff, id=cur["id"]))
        else:
            same["device"] = same.get("device", 0) + 1
    for name, cur in sorted(have.devices.items()):
        if name in matched or name in want.devices or cur.get("rack") not in want.racks:
            continue
        if cur.get("status") != DECOMMISSIONING:
            out.append(
                Change("decommission", "device", name, id=cur["id"], note="not in the design")
            )
    return out


def _where(dev: dict) -> str:
    u = f"U{dev['position']}" if dev["position"] is not None else "zero-U"
    return f"{dev['rack']} {u} {dev['face']}, {dev['device_type']}"


def _ends(cable: dict) -> frozenset:
    return frozenset([tuple(cable["a"]), tuple(cable["b"])])


CABLE_FIELDS = ("type", "color", "description", "length")


def _cable_changes(want: Desired, have: NetBoxState, same: dict) -> list[Change]:
    out = []
    by_label = {c["label"]: c for c in have.cables if c.get("label")}
    by_ends = {}
    for c in have.cables:
        if len(c["a_all"]) == 1 and len(c["b_all"]) == 1:
            by_ends.setdefault(_ends(c), c)
    matched: dict[int, str] = {}
    for cid, cab in sorted(want.cables.items()):
        cur = by_label.get(cid)
        if cur is None:
            cur = by_ends.get(_ends(cab))
            if cur is not None and cur.get("label") in want.cables:
                cur = None  # those ports' cable is another design cable (re-terminated below)
        if cur is None or cur["id"] in matched:
            continue
        matched[cur["id"]] = cid
    decommissioned = set()
    for cur in have.cables:
        label = cur.get("label") or ""
        if cur["id"] in matched or not is_cable_id(label) or cur.get("status") == DECOMMISSIONING:
            continue
        decommissioned.add(cur["id"])
        out.append(
            Change(
                "decommission",
                "cable",
                label,
                id=cur["id"],
                note=f"{_end_text(cur['a'])} -- {_end_text(cur['b'])}, not in the design",
            )
        )
    held_by = {}  # port -> NetBox cable holding it, after this push
    for cur in have.cables:
        for end in (*cur["a_all"], *cur["b_all"]):
            held_by[end] = cur
    by_id = {c["id"]: c for c in have.cables}
    netbox_id = {c: i for i, c in matched.items()}
    for cid, cab in sorted(want.cables.items()):
        cur = by_id.get(netbox_id.get(cid, -1))
        if cur is None:
            busy = [
                (end, held_by[end])
                for end in (cab["a"], cab["b"])
                if end in held_by and matched.get(held_by[end]["id"]) != cid
            ]
            if busy:
                end, other = busy[0]
                state = (
                    "decommissioning: remove it in NetBox once it is out of the rack, then push again"
                    if other["id"] in decommissioned or other.get("status") == DECOMMISSIONING
                    else "not a fieldops cable: remove or relabel it in NetBox"
                )
                out.append(
                    Change(
                        "blocked",
                        "cable",
                        cid,
                        note=f"port {_end_text(end)} still holds cable "
                        f"{other.get('label') or '#' + str(other['id'])} ({state})",
                    )
                )
                continue
            out.append(Change("create", "cable", cid, cab, note=_cable_text(cab)))
            continue
        diff = {}
        if (cur.get("label") or "") != cid:
            diff["label"] = (cur.get("label"), cid)
        if (tuple(cur["a"]), tuple(cur["b"])) != (cab["a"], cab["b"]):
            diff["ends"] = (
                f"{_end_text(cur['a'])} -- {_end_text(cur['b'])}",
                f"{_end_text(cab['a'])} -- {_end_text(cab['b'])}",
            )
        for k in CABLE_FIELDS:
            if k == "length" and cab["length"] is None:
                continue  # no plan given: NetBox's length stands
            if not _equal(cur.get(k), cab[k]):
                diff[k] = (cur.get(k), cab[k])
        if cur.get("status") == DECOMMISSIONING:
            diff["status"] = (DECOMMISSIONING, PLANNED)
        elif cab["status"] == CONNECTED and cur.get("status") != CONNECTED:
            diff["status"] = (cur.get("status"), CONNECTED)
        if diff:
            out.append(Change("update", "cable", cid, diff, id=cur["id"]))
        else:
            same["cable"] = same.get("cable", 0) + 1
    return out


def _end_text(end) -> str:
    return f"{end[0]}:{end[1]}"


def _cable_text(cab: dict) -> str:
    length = f", {cab['length']:g} m" if cab["length"] else ""
    return f"{_end_text(cab['a'])} -- {_end_text(cab['b'])}, {cab['description']}{length}"
