"""``fieldops netbox push``: read a site's state from NetBox's REST API and apply the changes
:mod:`fieldops.adapters.netbox_sync` decided, with bulk requests (NetBox's list POST/PATCH).

Order: site, location, custom fields, manufacturers, roles, device types (with their port
templates, so NetBox gives every new device its ports), racks, devices, then cables. A device
that moves is first taken off its U and then put on the new one, so devices can swap places in
one push. Each bulk request is atomic in NetBox; a refused request stops the push with
NetBox's message, and what was written before stays (a second push carries on from there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fieldops.adapters.netbox_fields import TERMINATION_ENDPOINTS
from fieldops.adapters.netbox_sync import (
    DECOMMISSIONING,
    PLANNED,
    Change,
    Desired,
    NetBoxState,
)

CHUNK = 250  # objects per bulk request
# devicetype-library section -> (pynetbox endpoint, fields copied as they are)
TEMPLATE_SECTIONS = (
    ("interfaces", "interface_templates", ("name", "type", "mgmt_only", "label", "description")),
    ("console-ports", "console_port_templates", ("name", "type", "label", "description")),
    (
        "console-server-ports",
        "console_server_port_templates",
        ("name", "type", "label", "description"),
    ),
    (
        "power-ports",
        "power_port_templates",
        ("name", "type", "maximum_draw", "allocated_draw", "label", "description"),
    ),
    ("power-outlets", "power_outlet_templates", ("name", "type", "feed_leg", "label")),
    ("rear-ports", "rear_port_templates", ("name", "type", "positions", "label", "description")),
    ("front-ports", "front_port_templates", ("name", "type", "rear_port_position", "label")),
    ("module-bays", "module_bay_templates", ("name", "position", "label", "description")),
)


def _val(x, key: str = "value"):
    return x.get(key) if isinstance(x, dict) else x


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _all(endpoint, **filters) -> list[dict]:
    from fieldops.adapters.netbox_client import PAGE_SIZE

    return [dict(r) for r in endpoint.filter(limit=PAGE_SIZE, **filters)]


def _by_values(endpoint, key: str, values: Iterable[str]) -> list[dict]:
    out, values = [], sorted(set(values))
    for part in _chunks(values, 50):  # a short enough query string
        out += _all(endpoint, **{key: part})
    return out


# ---------------------------------------------------------------- reading NetBox


def device_record(d: dict) -> dict:
    pos = d.get("position")
    return {
        "id": d["id"],
        "name": d.get("name") or "",
        "site": _val(d.get("site"), "slug"),
        "device_type": _val(d.get("device_type"), "slug"),
        "role": _val(d.get("role"), "slug"),
        "rack": _val(d.get("rack"), "name"),
        "position": int(pos) if pos is not None and float(pos).is_integer() else pos,
        "face": _val(d.get("face")) or None,
        "status": _val(d.get("status")),
        "asset_tag": d.get("asset_tag") or None,
        "serial": d.get("serial") or "",
    }


def cable_record(c: dict) -> dict:
    def ends(side):
        return [
            (_val(t["object"].get("device"), "name"), t["object"].get("name"))
            for t in c.get(f"{side}_terminations") or []
            if isinstance(t.get("object"), dict)
        ]

    a, b = ends("a"), ends("b")
    return {
        "id": c["id"],
        "label": c.get("label") or "",
        "a": a[0] if a else ("", ""),
        "b": b[0] if b else ("", ""),
        "a_all": a,
        "b_all": b,
        "type": c.get("type") or "",
        "status": _val(c.get("status")),
        "color": c.get("color") or "",
        "description": c.get("description") or "",
        "length": c.get("length"),
    }


def read_state(api, want: Desired, *, ports: bool = False) -> NetBoxState:
    """NetBox's side of the diff; ``ports``: also every device port of the site (for cables)."""
    st = NetBoxState()
    site = api.dcim.sites.get(slug=want.site_slug)
    if site is not None:
        st.site = dict(site)
        loc = api.dcim.locations.get(site_id=site.id, slug=want.hall_slug)
        st.location = dict(loc) if loc is not None else None
    from fieldops.adapters.netbox_export import CUSTOM_FIELDS

    names = [n for n, *_ in CUSTOM_FIELDS]
    st.custom_fields = {c["name"] for c in _by_values(api.extras.custom_fields, "name", names)}
    st.manufacturers = {
        m["slug"]: m["id"] for m in _by_values(api.dcim.manufacturers, "slug", want.manufacturers)
    }
    st.roles = {r["slug"]: r["id"] for r in _by_values(api.dcim.device_roles, "slug", want.roles)}
    st.device_types = {
        t["slug"]: t["id"] for t in _by_values(api.dcim.device_types, "slug", want.device_types)
    }
    tags = [d["asset_tag"] for d in want.devices.values() if d["asset_tag"]]
    st.tagged = {
        d["asset_tag"]: device_record(d) for d in _by_values(api.dcim.devices, "asset_tag", tags)
    }
    if st.site is None:
        return st
    sid = st.site["id"]
    for r in _all(api.dcim.racks, site_id=sid):
        st.racks[r["name"]] = {
            "id": r["id"],
            "u_height": r.get("u_height"),
            "cf": r.get("custom_fields") or {},
        }
    for d in _all(api.dcim.devices, site_id=sid):
        if d.get("name"):
            st.devices[d["name"]] = device_record(d)
    st.cables = [cable_record(c) for c in _all(api.dcim.cables, site_id=sid)]
    if ports:
        read_ports(api, st)
    return st


def read_ports(api, st: NetBoxState) -> None:
    st.ports = {}
    for otype, endpoint in TERMINATION_ENDPOINTS.items():
        for p in _all(getattr(api.dcim, endpoint), site_id=st.site["id"], brief=1):
            dev = _val(p.get("device"), "name")
            st.ports[(dev, p["name"])] = {"type": otype, "id": p["id"]}


# ---------------------------------------------------------------- writing NetBox


def apply_changes(
    api, changes: list[Change], want: Desired, st: NetBoxState, *, say: Callable = print
) -> dict[str, int]:
    """Apply ``changes`` in order with bulk requests; counts by action."""
    counts: dict[str, int] = {}

    def done(action: str, n: int = 1) -> None:
        counts[action] = counts.get(action, 0) + n

    by_kind: dict[str, list[Change]] = {}
    for ch in changes:
        by_kind.setdefault(ch.kind, []).append(ch)
    if by_kind.get("site"):
        st.site = dict(api.dcim.sites.create(name=want.site, slug=want.site_slug, status=PLANNED))
        done("create")
    if by_kind.get("location"):
        st.location = dict(
            api.dcim.locations.create(
                name=want.hall, slug=want.hall_slug, site=st.site["id"], status=PLANNED
            )
        )
        done("create")
    fields = [
        {"name": c.name, "object_types": ["dcim.rack"], **c.fields}
        for c in by_kind.get("custom field", [])
    ]
    done("create", len(_create(api.extras.custom_fields, fields)))
    for m in _create(
        api.dcim.manufacturers,
        [{"name": c.name, "slug": c.fields["slug"]} for c in by_kind.get("manufacturer", [])],
    ):
        st.manufacturers[m["slug"]] = m["id"]
        done("create")
    for r in _create(
        api.dcim.device_roles,
        [
            {"name": c.name, "slug": c.fields["slug"], "color": c.fields["color"]}
            for c in by_kind.get("role", [])
        ],
    ):
        st.roles[r["slug"]] = r["id"]
        done("create")
    _create_device_types(api, by_kind.get("device type", []), st, done)
    _apply_racks(api, by_kind.get("rack", []), want, st, done)
    _apply_devices(api, by_kind.get("device", []), want, st, done)
    cables = [c for c in by_kind.get("cable", []) if c.action != "blocked"]
    if cables:
        read_ports(api, st)
        _apply_cables(api, cables, want, st, done)
    counts["blocked"] = sum(1 for c in changes if c.action == "blocked")
    return counts


def _create(endpoint, objects: list[dict]) -> list[dict]:
    out = []
    for part in _chunks(objects):
        out += [dict(r) for r in endpoint.create(part)]
    return out


def _update(endpoint, objects: list[dict]) -> None:
    for part in _chunks(objects):
        endpoint.update(part)


def _create_device_types(api, changes: list[Change], st: NetBoxState, done) -> None:
    if not changes:
        return
    payload = []
    for c in changes:
        doc = c.fields["doc"]
        item = {
            "manufacturer": st.manufacturers[c.fields["manufacturer"]],
            "model": c.fields["model"],
            "slug": c.name,
            "u_height": doc.get("u_height", 1),
            "is_full_depth": doc.get("is_full_depth", True),
        }
        for k in ("part_number", "airflow", "weight", "weight_unit", "description"):
            if doc.get(k) not in (None, ""):
                item[k] = doc[k]
        payload.append(item)
    created = _create(api.dcim.device_types, payload)
    ids = {t["slug"]: t["id"] for t in created}
    st.device_types.update(ids)
    done("create", len(created))
    rear_ids: dict[tuple[int, str], int] = {}
    for section, endpoint, keys in TEMPLATE_SECTIONS:
        items = []
        for c in changes:
            for port in c.fields["doc"].get(section) or []:
                if not isinstance(port, dict) or not port.get("name"):
                    continue
                item = {"device_type": ids[c.name], **{k: port[k] for k in keys if k in port}}
                if section == "front-ports":
                    rear = rear_ids.get((ids[c.name], str(port.get("rear_port", ""))))
                    if rear is None:
                        continue  # a front port without its rear port cannot be made
                    item["rear_port"] = rear
                items.append(item)
        made = _create(getattr(api.dcim, endpoint), items)
        if section == "rear-ports":
            rear_ids |= {(_val(t["device_type"], "id"), t["name"]): t["id"] for t in made}


def _apply_racks(api, changes: list[Change], want: Desired, st: NetBoxState, done) -> None:
    create, update = [], []
    for c in changes:
        rack = want.racks[c.name]
        if c.action == "create":
            create.append(
                {
                    "name": c.name,
                    "site": st.site["id"],
                    "location": st.location["id"],
                    "status": PLANNED,
                    "u_height": rack["u_height"],
                    "custom_fields": rack["cf"],
                    **rack["new"],
                }
            )
        elif c.action == "update":
            update.append({"id": c.id, "u_height": rack["u_height"], "custom_fields": rack["cf"]})
    for r in _create(api.dcim.racks, create):
        st.racks[r["name"]] = {"id": r["id"], "u_height": r.get("u_height"), "cf": {}}
        done("create")
    _update(api.dcim.racks, update)
    done("update", len(update))


def _device_payload(name: str, dev: dict, st: NetBoxState) -> dict:
    item = {
        "name": name,
        "device_type": st.device_types[dev["device_type"]],
        "role": st.roles[dev["role"]],
        "site": st.site["id"],
        "location": st.location["id"],
        "rack": st.racks[dev["rack"]]["id"],
        "position": dev["position"],
        "face": dev["face"],
    }
    if dev["asset_tag"]:
        item["asset_tag"] = dev["asset_tag"]
    if dev["serial"]:
        item["serial"] = dev["serial"]
    return item


MOVES = ("rack", "position", "face", "device_type")


def _apply_devices(api, changes: list[Change], want: Desired, st: NetBoxState, done) -> None:
    create = [
        {**_device_payload(c.name, want.devices[c.name], st), "status": PLANNED}
        for c in changes
        if c.action == "create"
    ]
    updates = [c for c in changes if c.action == "update"]
    retire = [
        {"id": c.id, "status": DECOMMISSIONING} for c in changes if c.action == "decommission"
    ]
    # off the old U first, so devices can take each other's places within one push
    off = [{"id": c.id, "position": None} for c in updates if set(c.fields) & set(MOVES)]
    _update(api.dcim.devices, off)
    patch = []
    for c in updates:
        item = {"id": c.id, **_device_payload(c.name, want.devices[c.name], st)}
        if "status" in c.fields:
            item["status"] = PLANNED
        patch.append(item)
    _update(api.dcim.devices, patch)
    done("update", len(patch))
    _update(api.dcim.devices, retire)
    done("decommission", len(retire))
    _create(api.dcim.devices, create)
    done("create", len(create))


def _terminations(end, st: NetBoxState) -> list[dict]:
    port = st.ports.get(tuple(end))
    if port is None:
        raise ValueError(f"NetBox has no port {end[0]}:{end[1]} (is the device type complete?)")
    return [{"object_type": port["type"], "object_id": port["id"]}]


def _apply_cables(api, changes: list[Change], want: Desired, st: NetBoxState, done) -> None:
    retire = [
        {"id": c.id, "status": DECOMMISSIONING} for c in changes if c.action == "decommission"
    ]
    _update(api.dcim.cables, retire)
    done("decommission", len(retire))
    patch, create = [], []
    for c in changes:
        if c.action not in ("update", "create"):
            continue
        cab = want.cables[c.name]
        item = {
            "label": c.name,
            "type": cab["type"],
            "color": cab["color"],
            "description": cab["description"],
        }
        if cab["length"] is not None:
            item |= {"length": cab["length"], "length_unit": "m"}
        if c.action == "create":
            item |= {
                "status": cab["status"],
                "a_terminations": _terminations(cab["a"], st),
                "b_terminations": _terminations(cab["b"], st),
            }
            create.append(item)
            continue
        item["id"] = c.id
        if "ends" in c.fields:
            item["a_terminations"] = _terminations(cab["a"], st)
            item["b_terminations"] = _terminations(cab["b"], st)
        if "status" in c.fields:
            item["status"] = c.fields["status"][1]
        patch.append(item)
    _update(api.dcim.cables, patch)
    done("update", len(patch))
    _create(api.dcim.cables, create)
    done("create", len(create))
