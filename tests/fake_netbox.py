"""A small in-memory NetBox 4.4 REST API: the test double of an external service that
``fieldops netbox push`` and ``import`` talk to through the real pynetbox.

It serves what pynetbox calls (list with filters and offset pagination, ``brief``, single and
bulk POST, bulk PATCH, ``/api/`` with the ``API-Version`` header) with NetBox's response
shapes (the keys of tests/data/netbox_api/, recorded from NetBox 4.x; a test holds the fake to
them), and enforces the NetBox rules a push can trip over: unique slugs, device names per site,
asset tags across the instance, rack units, one cable per port, known custom fields, atomic
bulk requests. A new device gets its ports from its type's templates, as in NetBox.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = "0123456789abcdef0123456789abcdef01234567"
VERSION = "4.4.9"
TIMESTAMP = "2026-11-20T09:14:03.512417Z"

COMPONENTS = {  # device component endpoint -> (template endpoint, termination object type)
    "interfaces": ("interface-templates", "dcim.interface"),
    "console-ports": ("console-port-templates", "dcim.consoleport"),
    "console-server-ports": ("console-server-port-templates", "dcim.consoleserverport"),
    "power-ports": ("power-port-templates", "dcim.powerport"),
    "power-outlets": ("power-outlet-templates", "dcim.poweroutlet"),
    "front-ports": ("front-port-templates", "dcim.frontport"),
    "rear-ports": ("rear-port-templates", "dcim.rearport"),
}
ENDPOINT_OF_TYPE = {otype: ep for ep, (_, otype) in COMPONENTS.items()}
ENDPOINTS = {
    "dcim": {
        "sites",
        "locations",
        "manufacturers",
        "device-roles",
        "device-types",
        "racks",
        "devices",
        "cables",
        "module-bay-templates",
        *COMPONENTS,
        *(t for t, _ in COMPONENTS.values()),
    },
    "extras": {"custom-fields"},
}
CHOICE_LABELS = {
    "planned": "Planned",
    "active": "Active",
    "connected": "Connected",
    "decommissioning": "Decommissioning",
    "front": "Front",
    "rear": "Rear",
    "m": "Meters",
    "mm": "Millimeters",
    "kg": "Kilograms",
}


class Invalid(Exception):
    def __init__(self, errors: dict):
        super().__init__(str(errors))
        self.errors = errors


class FakeNetBox:
    """The data and rules; the HTTP handler below only translates."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tables: dict[str, dict[int, dict]] = {}
        self.next_id = 1000
        self.requests: list[tuple[str, str, int]] = []  # (method, path, objects in body)
        self.base = ""

    # ------------------------------------------------------------ storage

    def table(self, ep: str) -> dict[int, dict]:
        return self.tables.setdefault(ep, {})

    def add(self, ep: str, obj: dict) -> dict:
        self.next_id += 1
        obj = {"id": self.next_id, **obj}
        self.table(ep)[obj["id"]] = obj
        return obj

    def find(self, ep: str, **match) -> list[dict]:
        return [o for o in self.table(ep).values() if all(o.get(k) == v for k, v in match.items())]

    # ------------------------------------------------------------ representations

    def url(self, ep: str, oid: int) -> str:
        app = "extras" if ep == "custom-fields" else "dcim"
        return f"{self.base}/api/{app}/{ep}/{oid}/"

    def brief(self, ep: str, oid: int | None) -> dict | None:
        if oid is None:
            return None
        o = self.table(ep)[oid]
        out = {"id": oid, "url": self.url(ep, oid), "display": o.get("name") or o.get("model", "")}
        if ep in ("sites", "locations", "manufacturers", "device-roles"):
            out |= {"name": o["name"], "slug": o["slug"], "description": ""}
        elif ep == "device-types":
            out |= {
                "manufacturer": self.brief("manufacturers", o["manufacturer"]),
                "model": o["model"],
                "slug": o["slug"],
                "description": "",
            }
        elif ep in ("racks", "devices"):
            out |= {"name": o["name"], "description": ""}
        elif ep == "cables":
            out |= {
                "display": o.get("label") or f"#{oid}",
                "label": o.get("label", ""),
                "description": "",
            }
        elif ep in COMPONENTS:
            out |= {
                "device": self.brief("devices", o["device"]),
                "name": o["name"],
                "description": "",
                "cable": self.brief("cables", o.get("cable")),
                "_occupied": o.get("cable") is not None,
            }
        return out

    @staticmethod
    def choice(value):
        return (
            None
            if value in (None, "")
            else {"value": value, "label": CHOICE_LABELS.get(value, value)}
        )

    def full(self, ep: str, o: dict) -> dict:
        common = {
            "id": o["id"],
            "url": self.url(ep, o["id"]),
            "display_url": self.url(ep, o["id"]).replace("/api/", "/"),
            "display": o.get("name") or o.get("label") or o.get("model") or f"#{o['id']}",
        }

        def stamps(custom_fields=None):
            cf = {} if custom_fields is None else custom_fields
            return {
                "tags": [],
                "custom_fields": cf,
                "created": TIMESTAMP,
                "last_updated": TIMESTAMP,
            }

        if ep == "devices":
            counts = {f"{k.replace('-', '_')[:-1]}_count": 0 for k in COMPONENTS}
            for k in COMPONENTS:
                counts[f"{k.replace('-', '_')[:-1]}_count"] = len(self.find(k, device=o["id"]))
            return {
                **common,
                "name": o["name"],
                "device_type": self.brief("device-types", o["device_type"]),
                "role": self.brief("device-roles", o["role"]),
                "tenant": None,
                "platform": None,
                "serial": o.get("serial", ""),
                "asset_tag": o.get("asset_tag"),
                "site": self.brief("sites", o["site"]),
                "location": self.brief("locations", o.get("location")),
                "rack": self.brief("racks", o.get("rack")),
                "position": None if o.get("position") is None else float(o["position"]),
                "face": self.choice(o.get("face")),
                "latitude": None,
                "longitude": None,
                "parent_device": None,
                "status": self.choice(o.get("status", "active")),
                "airflow": None,
                "primary_ip": None,
                "primary_ip4": None,
                "primary_ip6": None,
                "oob_ip": None,
                "cluster": None,
                "virtual_chassis": None,
                "vc_position": None,
                "vc_priority": None,
                "description": "",
                "comments": "",
                "config_template": None,
                "local_context_data": None,
                **stamps(),
                "console_port_count": counts["console_port_count"],
                "console_server_port_count": counts["console_server_port_count"],
                "power_port_count": counts["power_port_count"],
                "power_outlet_count": counts["power_outlet_count"],
                "interface_count": counts["interface_count"],
                "front_port_count": counts["front_port_count"],
                "rear_port_count": counts["rear_port_count"],
                "device_bay_count": 0,
                "module_bay_count": 0,
                "inventory_item_count": 0,
            }
        if ep == "cables":

            def terms(side):
                return [
                    {
                        "object_type": t["object_type"],
                        "object_id": t["object_id"],
                        "object": self.brief(ENDPOINT_OF_TYPE[t["object_type"]], t["object_id"]),
                    }
                    for t in o[f"{side}_terminations"]
                ]

            return {
                **common,
                "display": o.get("label") or f"#{o['id']}",
                "type": o.get("type", ""),
                "a_terminations": terms("a"),
                "b_terminations": terms("b"),
                "status": self.choice(o.get("status", "connected")),
                "tenant": None,
                "label": o.get("label", ""),
                "color": o.get("color", ""),
                "length": o.get("length"),
                "length_unit": self.choice(o.get("length_unit")),
                "description": o.get("description", ""),
                "comments": "",
                **stamps(),
            }
        if ep == "racks":
            return {
                **common,
                "name": o["name"],
                "facility_id": None,
                "site": self.brief("sites", o["site"]),
                "location": self.brief("locations", o.get("location")),
                "tenant": None,
                "status": self.choice(o.get("status", "active")),
                "role": None,
                "rack_type": None,
                "form_factor": None,
                "width": {"value": o.get("width", 19), "label": f"{o.get('width', 19)} inches"},
                "serial": "",
                "asset_tag": None,
                "airflow": None,
                "u_height": o.get("u_height", 42),
                "starting_unit": 1,
                "weight": None,
                "max_weight": o.get("max_weight"),
                "weight_unit": self.choice(o.get("weight_unit")),
                "desc_units": False,
                "outer_width": o.get("outer_width"),
                "outer_depth": o.get("outer_depth"),
                "outer_unit": self.choice(o.get("outer_unit")),
                "mounting_depth": None,
                "description": "",
                "comments": "",
                **stamps(o.get("custom_fields", {})),
                "device_count": len(self.find("devices", rack=o["id"])),
                "powerfeed_count": 0,
            }
        if ep in COMPONENTS:
            return {
                **self.brief(ep, o["id"]),
                "display_url": common["display_url"],
                "type": {"value": o.get("type", ""), "label": o.get("type", "")},
                "mgmt_only": o.get("mgmt_only", False),
                "label": "",
                "link_peers": [],
                **stamps(),
            }
        out = {**common, **{k: v for k, v in o.items() if k not in common}}
        for ref, target in (("site", "sites"), ("manufacturer", "manufacturers")):
            if isinstance(o.get(ref), int):
                out[ref] = self.brief(target, o[ref])
        if ep.endswith("-templates"):
            out["device_type"] = self.brief("device-types", o["device_type"])
        if "status" in o:
            out["status"] = self.choice(o["status"])
        return out | stamps(o.get("custom_fields"))

    # ------------------------------------------------------------ queries

    def matches(self, ep: str, o: dict, key: str, values: list[str]) -> bool:
        if key in ("limit", "offset", "brief", "ordering"):
            return True
        if key == "site" and ep in ("devices", "racks", "cables", "locations"):
            return self.site_slug(ep, o) in values
        if key == "site_id":
            return str(self.site_id(ep, o)) in values
        if key == "device_id":
            return str(o.get("device")) in values
        value = o.get(key)
        if isinstance(value, int) and key in ("site", "rack", "device_type", "role"):
            return str(value) in values
        return ("" if value is None else str(value)) in values

    def site_id(self, ep: str, o: dict):
        if ep in ("devices", "racks", "locations"):
            return o.get("site")
        if ep in COMPONENTS:
            return self.table("devices")[o["device"]]["site"]
        if ep == "cables":
            t = (o["a_terminations"] + o["b_terminations"])[0]
            port = self.table(ENDPOINT_OF_TYPE[t["object_type"]])[t["object_id"]]
            return self.table("devices")[port["device"]]["site"]
        return None

    def site_slug(self, ep: str, o: dict) -> str:
        sid = self.site_id(ep, o)
        return self.table("sites")[sid]["slug"] if sid in self.table("sites") else ""

    def listing(self, ep: str, query: dict[str, list[str]], path: str) -> dict:
        items = [
            o
            for o in sorted(self.table(ep).values(), key=lambda o: o["id"])
            if all(self.matches(ep, o, k, v) for k, v in query.items())
        ]
        limit = min(int(query.get("limit", ["50"])[0]) or 1000, 1000)
        offset = int(query.get("offset", ["0"])[0])
        page = items[offset : offset + limit]
        brief = query.get("brief", ["0"])[0] in ("1", "true", "True")
        results = [self.brief(ep, o["id"]) if brief else self.full(ep, o) for o in page]
        nxt = None
        if offset + limit < len(items):
            rest = "&".join(
                f"{k}={v}" for k, vs in query.items() if k not in ("limit", "offset") for v in vs
            )
            nxt = f"{self.base}{path}?limit={limit}&offset={offset + limit}" + (
                f"&{rest}" if rest else ""
            )
        return {"count": len(items), "next": nxt, "previous": None, "results": results}

    # ------------------------------------------------------------ writes

    def create(self, ep: str, data: dict) -> dict:
        obj = {k: (v["id"] if isinstance(v, dict) and "id" in v else v) for k, v in data.items()}
        self.validate(ep, obj, None)
        if ep == "cables":
            obj.setdefault("status", "connected")
        if ep in ("sites", "racks", "devices", "locations"):
            obj.setdefault("status", "active")
        made = self.add(ep, obj)
        if ep == "devices":
            self.instantiate(made)
        if ep == "cables":
            self.occupy(made)
        return made

    def update(self, ep: str, data: dict) -> dict:
        oid = data.get("id")
        if oid not in self.table(ep):
            raise Invalid({"id": [f"Object with id {oid} does not exist."]})
        cur = self.table(ep)[oid]
        new = {
            **cur,
            **{k: (v["id"] if isinstance(v, dict) and "id" in v else v) for k, v in data.items()},
        }
        if ep == "racks" and "custom_fields" in data:
            new["custom_fields"] = {**cur.get("custom_fields", {}), **data["custom_fields"]}
        self.validate(ep, new, oid)
        if ep == "cables":
            self.release(cur)
            self.occupy(new)
        self.table(ep)[oid] = new
        return new

    def instantiate(self, device: dict) -> None:
        for ep, (tep, _) in COMPONENTS.items():
            for t in self.find(tep, device_type=device["device_type"]):
                self.add(
                    ep,
                    {
                        "device": device["id"],
                        "name": t["name"],
                        "type": t.get("type", ""),
                        "mgmt_only": t.get("mgmt_only", False),
                        "cable": None,
                    },
                )

    def occupy(self, cable: dict) -> None:
        for t in cable["a_terminations"] + cable["b_terminations"]:
            self.table(ENDPOINT_OF_TYPE[t["object_type"]])[t["object_id"]]["cable"] = cable["id"]

    def release(self, cable: dict) -> None:
        for t in cable["a_terminations"] + cable["b_terminations"]:
            port = self.table(ENDPOINT_OF_TYPE[t["object_type"]]).get(t["object_id"])
            if port and port.get("cable") == cable["id"]:
                port["cable"] = None

    def validate(self, ep: str, o: dict, oid: int | None) -> None:
        others = [x for x in self.table(ep).values() if x["id"] != oid]
        if ep in ("sites", "manufacturers", "device-roles", "device-types") and any(
            x["slug"] == o.get("slug") for x in others
        ):
            raise Invalid({"slug": [f"{ep[:-1]} with this slug already exists."]})
        if ep == "custom-fields" and any(x["name"] == o.get("name") for x in others):
            raise Invalid({"name": ["custom field with this name already exists."]})
        if ep == "racks":
            known = {c["name"] for c in self.table("custom-fields").values()}
            for k in o.get("custom_fields") or {}:
                if k not in known:
                    raise Invalid(
                        {"custom_fields": [f"Unknown field name '{k}' in custom field data."]}
                    )
        if ep == "devices":
            self.validate_device(o, others)
        if ep == "cables":
            for side in ("a", "b"):
                terms = o.get(f"{side}_terminations") or []
                if not terms:
                    raise Invalid({f"{side}_terminations": ["This field is required."]})
                for t in terms:
                    table = self.table(ENDPOINT_OF_TYPE.get(t.get("object_type"), "?"))
                    port = table.get(t.get("object_id"))
                    if port is None:
                        raise Invalid({f"{side}_terminations": ["Termination not found."]})
                    if port.get("cable") not in (None, oid):
                        raise Invalid(
                            {
                                "__all__": [
                                    f"Duplicate termination found for {t['object_type']} "
                                    f"{t['object_id']}: cable {port['cable']}"
                                ]
                            }
                        )

    def validate_device(self, o: dict, others: list[dict]) -> None:
        if o.get("asset_tag") and any(x.get("asset_tag") == o["asset_tag"] for x in others):
            raise Invalid({"asset_tag": ["Device with this Asset tag already exists."]})
        if any(x["name"] == o.get("name") and x["site"] == o.get("site") for x in others):
            raise Invalid({"__all__": ["Device name must be unique per site and tenant."]})
        if o.get("position") is not None and not o.get("face"):
            raise Invalid({"face": ["Must specify rack face when defining rack position."]})
        if o.get("position") is None or o.get("rack") is None:
            return
        dtype = self.table("device-types")[o["device_type"]]
        mine = set(range(o["position"], o["position"] + max(1, int(dtype.get("u_height", 1)))))
        for x in others:
            if x.get("rack") != o["rack"] or x.get("position") is None:
                continue
            xt = self.table("device-types")[x["device_type"]]
            full = dtype.get("is_full_depth", True) or xt.get("is_full_depth", True)
            if not full and x.get("face") != o.get("face"):
                continue
            theirs = set(range(x["position"], x["position"] + max(1, int(xt.get("u_height", 1)))))
            if mine & theirs:
                raise Invalid(
                    {
                        "position": [
                            f"U{min(mine & theirs)} is already occupied or does not have sufficient space to accommodate this device type"
                        ]
                    }
                )


class Handler(BaseHTTPRequestHandler):
    netbox: FakeNetBox

    def log_message(self, *args):  # quiet
        pass

    def route(self) -> tuple[str, int | None, dict[str, list[str]], str] | None:
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        if len(parts) < 3 or parts[0] != "api" or parts[2] not in ENDPOINTS.get(parts[1], ()):
            return None
        oid = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None
        return parts[2], oid, parse_qs(url.query), url.path

    def authorised(self) -> bool:
        if self.headers.get("Authorization") in (f"Token {TOKEN}", f"Bearer {TOKEN}"):
            return True
        self.reply(403, {"detail": "Invalid v1 token"})
        return False

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"null")

    def do_GET(self):
        nb = self.netbox
        nb.requests.append(("GET", self.path, 0))
        if not self.authorised():
            return
        path = urlparse(self.path).path
        if path == "/api/":
            return self.reply(
                200, {"dcim": f"{nb.base}/api/dcim/", "extras": f"{nb.base}/api/extras/"}
            )
        if path == "/api/status/":
            return self.reply(
                200, {"netbox-version": VERSION, "python-version": "3.12.3", "plugins": {}}
            )
        r = self.route()
        if r is None:
            return self.reply(404, {"detail": "Not found."})
        ep, oid, query, path = r
        with nb.lock:
            if oid is not None:
                o = nb.table(ep).get(oid)
                return (
                    self.reply(200, nb.full(ep, o))
                    if o
                    else self.reply(404, {"detail": "Not found."})
                )
            return self.reply(200, nb.listing(ep, query, path))

    def write(self, method: str):
        nb = self.netbox
        r = self.route()
        data = self.body()
        nb.requests.append((method, self.path, len(data) if isinstance(data, list) else 1))
        if not self.authorised():
            return
        if r is None:
            return self.reply(404, {"detail": "Not found."})
        ep, oid, _, _ = r
        items = data if isinstance(data, list) else [{**data, **({"id": oid} if oid else {})}]
        with nb.lock:
            saved = json.loads(json.dumps(nb.tables))  # bulk requests are atomic
            saved = {k: {int(i): o for i, o in t.items()} for k, t in saved.items()}
            next_id = nb.next_id
            try:
                done = [nb.create(ep, d) if method == "POST" else nb.update(ep, d) for d in items]
            except Invalid as exc:
                nb.tables, nb.next_id = saved, next_id
                return self.reply(400, exc.errors if not isinstance(data, list) else [exc.errors])
            out = [nb.full(ep, o) for o in done]
        self.reply(201 if method == "POST" else 200, out if isinstance(data, list) else out[0])

    def do_POST(self):
        self.write("POST")

    def do_PATCH(self):
        self.write("PATCH")

    def reply(self, status: int, doc) -> None:
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("API-Version", "4.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Server:
    """A running fake NetBox on a free local port: ``.url``, ``.netbox``; ``stop()``."""

    def __init__(self):
        self.netbox = FakeNetBox()
        handler = type("BoundHandler", (Handler,), {"netbox": self.netbox})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.netbox.base = self.url
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
