"""Exports peers ingest: NetBox bulk-import CSV (devices, cables) and a point-to-point cable list.

* ``devices.csv``: NetBox's device import columns ``name, role, manufacturer, device_type,
  status, site, rack, position, face, asset_tag, serial`` (``device_type`` is the model name,
  as NetBox's import form expects; ``role`` is the device role's name, ``device`` when unset).
* ``cables.csv``: NetBox's cable import columns ``side_a_site, side_a_device, side_a_type,
  side_a_name, side_b_site, side_b_device, side_b_type, side_b_name, type, status, label, color,
  length, length_unit, description``. ``label`` is the fieldops cable ID, ``description`` the
  fieldops media slug, ``length`` the ordered length in
  metres, ``status`` ``planned`` (or ``connected`` for cables the as-built record shows in place).
* ``p2p.csv``: a point-to-point list of the kind NVIDIA's cabling validation tools read:
  ``cable_id, a_node, a_port, a_rack, a_u, z_node, z_port, z_rack, z_u, media, length_m``.

Rows are sorted, so the same design gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from pathlib import Path

from fieldops.core.model import Design

DEVICE_COLUMNS = (
    "name",
    "role",
    "manufacturer",
    "device_type",
    "status",
    "site",
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
P2P_COLUMNS = (
    "cable_id",
    "a_node",
    "a_port",
    "a_rack",
    "a_u",
    "z_node",
    "z_port",
    "z_rack",
    "z_u",
    "media",
    "length_m",
)

# port template kind -> NetBox termination object type
TERMINATION_TYPES = {
    "interface": "dcim.interface",
    "console-port": "dcim.consoleport",
    "console-server-port": "dcim.consoleserverport",
    "power-port": "dcim.powerport",
    "power-outlet": "dcim.poweroutlet",
    "front-port": "dcim.frontport",
    "rear-port": "dcim.rearport",
}
COLOR_NAMES = {
    "black": "111111",
    "white": "ffffff",
    "grey": "9e9e9e",
    "gray": "9e9e9e",
    "red": "f44336",
    "orange": "ff9800",
    "yellow": "ffeb3b",
    "green": "4caf50",
    "aqua": "00ffff",
    "blue": "2196f3",
    "purple": "9c27b0",
    "pink": "e91e63",
}


def netbox_color(color: str) -> str:
    """A NetBox colour: six hex digits without '#' ('' when unknown)."""
    c = color.strip().lower().lstrip("#")
    if len(c) == 6 and all(ch in "0123456789abcdef" for ch in c):
        return c
    return COLOR_NAMES.get(c, "")


def _length_m(mm: int) -> str:
    return f"{mm / 1000:g}" if mm else ""


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
                "rack": d.rack,
                "position": "" if d.position is None else str(d.position),
                "face": d.face if d.position is not None else "",
                "asset_tag": d.asset_tag,
                "serial": d.serial,
            }
        )
    return rows


def build_cable_rows(
    design: Design,
    cable_ids: Mapping[tuple[str, str], str],
    *,
    site: str,
    ordered_mm: Mapping[str, int] | None = None,
    connected: Iterable[str] = (),
) -> list[dict]:
    """One row per designed cable (A side = the cable's first sorted end)."""
    ordered_mm = ordered_mm or {}
    connected = set(connected)
    devices = design.device_index()

    def term(port: str) -> tuple[str, str, str]:
        device, _, name = port.partition(":")
        dev = devices.get(device)
        dt = design.device_types.get(dev.device_type) if dev else None
        tmpl = dt.port(name) if dt else None
        return (
            device,
            TERMINATION_TYPES.get(tmpl.kind if tmpl else "interface", "dcim.interface"),
            name,
        )

    rows = []
    for c in design.cables:
        a, b = c.key
        cid = cable_ids[c.key]
        media = design.media.get(c.media)
        ad, at, an = term(a)
        bd, bt, bn = term(b)
        length = _length_m(ordered_mm.get(cid, 0))
        rows.append(
            {
                "side_a_site": site,
                "side_a_device": ad,
                "side_a_type": at,
                "side_a_name": an,
                "side_b_site": site,
                "side_b_device": bd,
                "side_b_type": bt,
                "side_b_name": bn,
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


def build_p2p_rows(
    design: Design,
    cable_ids: Mapping[tuple[str, str], str],
    *,
    ordered_mm: Mapping[str, int] | None = None,
) -> list[dict]:
    ordered_mm = ordered_mm or {}
    devices = design.device_index()
    rows = []
    for c in design.cables:
        cid = cable_ids[c.key]
        ends = []
        for port in c.key:
            device, _, name = port.partition(":")
            dev = devices.get(device)
            ends.append(
                (
                    device,
                    name,
                    dev.rack if dev else "",
                    "" if dev is None or dev.position is None else str(dev.position),
                )
            )
        (an, ap, ar, au), (zn, zp, zr, zu) = ends
        rows.append(
            {
                "cable_id": cid,
                "a_node": an,
                "a_port": ap,
                "a_rack": ar,
                "a_u": au,
                "z_node": zn,
                "z_port": zp,
                "z_rack": zr,
                "z_u": zu,
                "media": c.media,
                "length_m": _length_m(ordered_mm.get(cid, 0)),
            }
        )
    rows.sort(key=lambda r: r["cable_id"])
    return rows


def render_csv(columns: tuple[str, ...], rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def write_netbox_files(
    design: Design,
    outdir: Path,
    cable_ids: Mapping[tuple[str, str], str],
    *,
    site: str,
    ordered_mm: Mapping[str, int] | None = None,
    connected: Iterable[str] = (),
) -> list[Path]:
    """Write devices.csv, cables.csv and p2p.csv into ``outdir`` (a staging directory)."""
    outdir = Path(outdir)
    files = {
        "devices.csv": render_csv(DEVICE_COLUMNS, build_device_rows(design, site=site)),
        "cables.csv": render_csv(
            CABLE_COLUMNS,
            build_cable_rows(
                design, cable_ids, site=site, ordered_mm=ordered_mm, connected=connected
            ),
        ),
        "p2p.csv": render_csv(
            P2P_COLUMNS, build_p2p_rows(design, cable_ids, ordered_mm=ordered_mm)
        ),
    }
    out = []
    for name, text in files.items():
        (outdir / name).write_text(text)
        out.append(outdir / name)
    return out
