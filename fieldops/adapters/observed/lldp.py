"""LLDP neighbours: ``lldpctl -f json`` output and a neighbour CSV.

* **LLDP JSON**, as written by ``lldpctl -f json`` on one device. lldpd writes
  ``{"lldp": {"interface": {"eth0": {...}}}}`` when one interface has a neighbour and
  ``{"lldp": {"interface": [{"eth0": {...}}, {"eth1": {...}}]}}`` when several do; both are read,
  and so is the ``-f json0`` shape (lists everywhere). The file says nothing about the device it
  was taken on: name it ``DEVICE=FILE`` on the command line, or name the file ``DEVICE.json``.
  A bundle ``{"hall": "LAB1", "devices": {"leaf-a": <lldpctl output>, ...}}`` (or just
  ``{"leaf-a": <lldpctl output>, ...}``) holds several devices.
* **CSV** with a header ``device,port,neighbour_device,neighbour_port`` (``neighbor_`` also
  accepted) and an optional ``hall`` column; ``#`` lines are comments.

A device that appears as the local side (the device the LLDP was taken on, the CSV ``device``
column) is an LLDP *reporter*: its Ethernet ports were looked at (not its management-only port,
nor its power, console or InfiniBand ports: :mod:`fieldops.core.observation`).
"""

from __future__ import annotations

import json

from fieldops.adapters.observed.common import MAX_NAME, Collect, Seen, csv_records, looks_truncated
from fieldops.core.problems import Problem

CSV_COLUMNS = ("device", "port", "neighbour_device", "neighbour_port")


# ---------------------------------------------------------------- CSV


def read_csv(text: str, label: str, col: Collect) -> None:
    neighbour = lambda c: c.replace("neighbor", "neighbour")  # noqa: E731 - both spellings
    for line, rec in csv_records(text, label, col, CSV_COLUMNS, normalise=neighbour):
        if not all(rec[c] for c in CSV_COLUMNS):
            col.problems.append(
                Problem(
                    label,
                    line,
                    "",
                    "device, port, neighbour_device and neighbour_port are all required",
                )
            )
            continue
        hall = rec.get("hall", "")
        if hall:
            col.halls.setdefault(label, hall)
        col.reporters.setdefault(rec["device"], label)
        col.seen.append(
            Seen(
                label,
                line,
                rec["device"],
                rec["port"],
                rec["neighbour_device"],
                rec["neighbour_port"],
                hall,
            )
        )


# ---------------------------------------------------------------- LLDP JSON


def read_json(text: str, label: str, device: str, col: Collect) -> None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        what = (
            "truncated JSON (the file ends in the middle of a value)"
            if looks_truncated(text)
            else f"invalid JSON: {exc.msg}"
        )
        col.problems.append(
            Problem(label, exc.lineno, "", f"{what} at line {exc.lineno} column {exc.colno}")
        )
        return
    except RecursionError:
        col.problems.append(Problem(label, 0, "", "JSON nested too deeply"))
        return
    if isinstance(data, dict) and "lldp" in data:
        _read_lldp(data["lldp"], label, device, col)
        return
    if isinstance(data, dict):
        hall = data.get("hall")
        if hall is not None:
            if not isinstance(hall, str):
                col.problems.append(Problem(label, 0, "hall", "expected a hall name"))
                return
            col.halls[label] = hall
        devices = data.get("devices", data if "hall" not in data else None)
        if (
            isinstance(devices, dict)
            and devices
            and all(isinstance(v, dict) and "lldp" in v for v in devices.values())
        ):
            for name, body in sorted(devices.items()):
                _read_lldp(
                    body["lldp"],
                    label,
                    str(name),
                    col,
                    where=f"devices.{name}." if "devices" in data else f"{name}.",
                )
            return
    col.problems.append(
        Problem(
            label,
            0,
            "",
            'not lldpctl JSON: expected {"lldp": {...}} (from \'lldpctl -f json\') or a bundle {"devices": {NAME: {"lldp": ...}}}',
        )
    )


def _read_lldp(lldp, label: str, device: str, col: Collect, where: str = "") -> None:
    if not device or len(device) > MAX_NAME:
        col.problems.append(
            Problem(
                label,
                0,
                "",
                "which device is this LLDP output from? Name it DEVICE=FILE or DEVICE.json",
            )
        )
        return
    col.reporters.setdefault(device, label)
    if isinstance(lldp, list):  # -f json0
        for block in lldp:
            if not isinstance(block, dict):
                col.problems.append(Problem(label, 0, f"{where}lldp", "unexpected json0 structure"))
                return
            for i, iface in enumerate(block.get("interface", []) or []):
                _json0_interface(iface, label, device, col, f"{where}lldp.interface[{i}]")
        return
    if not isinstance(lldp, dict):
        col.problems.append(Problem(label, 0, f"{where}lldp", "expected an object"))
        return
    ifaces = lldp.get("interface")
    if ifaces is None:
        return  # no neighbours at all
    if isinstance(ifaces, dict):  # one interface: {"eth0": {...}}
        items = list(ifaces.items())
    elif isinstance(ifaces, list):  # several: [{"eth0": {...}}, {"eth1": {...}}]
        items = []
        for i, entry in enumerate(ifaces):
            if not isinstance(entry, dict) or len(entry) != 1:
                col.problems.append(
                    Problem(label, 0, f"{where}lldp.interface[{i}]", 'expected {"IFNAME": {...}}')
                )
                return
            items.extend(entry.items())
    else:
        col.problems.append(
            Problem(label, 0, f"{where}lldp.interface", "expected an object or a list")
        )
        return
    for ifname, body in items:
        path = f"{where}lldp.interface.{ifname}"
        if not isinstance(body, dict):
            col.problems.append(Problem(label, 0, path, "expected an object"))
            continue
        ndev = _chassis_name(body.get("chassis"))
        nport = _port_name(body.get("port"))
        if not ndev:
            col.problems.append(
                Problem(
                    label,
                    0,
                    f"{path}.chassis",
                    "neighbour has no system name (only a chassis ID): cannot tell which device it is",
                )
            )
            continue
        if not nport:
            col.problems.append(Problem(label, 0, f"{path}.port", "neighbour port has no name"))
            continue
        col.seen.append(Seen(label, 0, device, str(ifname), ndev, nport))


def _chassis_name(chassis) -> str:
    if not isinstance(chassis, dict) or not chassis:
        return ""
    if "id" in chassis and isinstance(chassis["id"], dict) and "type" in chassis["id"]:
        name = chassis.get("name")
        return name if isinstance(name, str) else ""
    if len(chassis) == 1:
        name = next(iter(chassis))
        return name if isinstance(name, str) else ""
    return ""


def _port_name(port) -> str:
    if not isinstance(port, dict):
        return ""
    pid = port.get("id")
    descr = port.get("descr")
    if isinstance(pid, dict) and pid.get("type") == "ifname" and isinstance(pid.get("value"), str):
        return pid["value"]
    if isinstance(descr, str) and descr:
        return descr
    if isinstance(pid, dict) and isinstance(pid.get("value"), str):
        return pid["value"]
    return ""


def _json0_value(items) -> str:
    if isinstance(items, list) and items and isinstance(items[0], dict):
        v = items[0].get("value")
        return v if isinstance(v, str) else ""
    return ""


def _json0_interface(iface, label: str, device: str, col: Collect, path: str) -> None:
    if not isinstance(iface, dict) or not isinstance(iface.get("name"), str):
        col.problems.append(Problem(label, 0, path, "expected an interface with a name"))
        return
    chassis = iface.get("chassis")
    ndev = (
        _json0_value(chassis[0].get("name"))
        if isinstance(chassis, list) and chassis and isinstance(chassis[0], dict)
        else ""
    )
    port = iface.get("port")
    nport = ""
    if isinstance(port, list) and port and isinstance(port[0], dict):
        pid = port[0].get("id")
        if (
            isinstance(pid, list)
            and pid
            and isinstance(pid[0], dict)
            and pid[0].get("type") == "ifname"
        ):
            nport = _json0_value(pid)
        nport = nport or _json0_value(port[0].get("descr")) or _json0_value(pid)
    if not ndev or not nport:
        col.problems.append(Problem(label, 0, path, "neighbour without a system name or port name"))
        return
    col.seen.append(Seen(label, 0, device, iface["name"], ndev, nport))
