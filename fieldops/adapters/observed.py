"""Load observed link neighbours: ``lldpctl -f json`` output and a simple CSV.

Formats (docs/reconcile.md):

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
column) is a *reporter*: every one of its ports was looked at, so a designed cable on it that
is not seen is missing. Any problem (unknown device or port, a port with two neighbours, the two
sides of a link disagreeing, truncated JSON, another hall) raises :class:`DesignError` with every
problem found; nothing is returned half-way.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from fieldops.adapters.yamlfile import read_text
from fieldops.core.model import Design
from fieldops.core.problems import DesignError, Problem
from fieldops.core.reconcile import Observations

MAX_BYTES = 50 * 1024 * 1024
CSV_COLUMNS = ("device", "port", "neighbour_device", "neighbour_port")
MAX_NAME = 200


@dataclass
class _Seen:
    file: str
    line: int
    device: str
    port: str
    ndevice: str
    nport: str
    hall: str = ""


@dataclass
class _Collect:
    problems: list[Problem] = field(default_factory=list)
    seen: list[_Seen] = field(default_factory=list)
    reporters: dict[str, str] = field(default_factory=dict)  # device -> file
    halls: dict[str, str] = field(default_factory=dict)  # file -> declared hall


def parse_spec(spec: str) -> tuple[str, Path]:
    """``DEVICE=FILE`` or ``FILE`` -> (device or '', path)."""
    if "=" in spec and not Path(spec).exists():
        device, _, file = spec.partition("=")
        return device.strip(), Path(file)
    return "", Path(spec)


def load_observations(specs: list[str], design: Design) -> Observations:
    """Read every observation file and check it against the design; all or nothing."""
    col = _Collect()
    for spec in specs:
        device, path = parse_spec(spec)
        label = str(path)
        try:
            text = read_text(path, label, max_bytes=MAX_BYTES)
        except DesignError as exc:
            col.problems.extend(exc.problems)
            continue
        if "\x00" in text:
            col.problems.append(
                Problem(label, 0, "", "binary data (NUL bytes): not an observation file")
            )
            continue
        if path.suffix.lower() == ".csv" or (not text.lstrip().startswith(("{", "["))):
            _read_csv(text, label, col)
        else:
            _read_json(text, label, device or path.stem, bool(device), col)
    return _check(col, design)


# ---------------------------------------------------------------- CSV


def _read_csv(text: str, label: str, col: _Collect) -> None:
    lines = text.splitlines()
    body = [ln if not ln.lstrip().startswith("#") else "" for ln in lines]
    reader = csv.reader(io.StringIO("\n".join(body)))
    header = None
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            cells = [c.strip() for c in row]
            if header is None:
                header = [c.lower().replace("neighbor", "neighbour") for c in cells]
                missing = [c for c in CSV_COLUMNS if c not in header]
                if missing:
                    col.problems.append(
                        Problem(
                            label,
                            line,
                            "",
                            f"missing CSV column(s): {', '.join(missing)} (expected: {', '.join(CSV_COLUMNS)}[, hall])",
                        )
                    )
                    return
                continue
            if len(cells) != len(header):
                col.problems.append(
                    Problem(label, line, "", f"expected {len(header)} fields, found {len(cells)}")
                )
                continue
            rec = dict(zip(header, cells, strict=True))
            if any(len(v) > MAX_NAME for v in rec.values()):
                col.problems.append(
                    Problem(label, line, "", f"a field is over {MAX_NAME} characters")
                )
                continue
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
                _Seen(
                    label,
                    line,
                    rec["device"],
                    rec["port"],
                    rec["neighbour_device"],
                    rec["neighbour_port"],
                    hall,
                )
            )
    except csv.Error as exc:
        col.problems.append(Problem(label, reader.line_num, "", f"CSV error: {exc}"))
        return
    if header is None:
        col.problems.append(
            Problem(
                label,
                0,
                "",
                "empty CSV: expected a header device,port,neighbour_device,neighbour_port",
            )
        )


# ---------------------------------------------------------------- LLDP JSON


def _read_json(text: str, label: str, device: str, named: bool, col: _Collect) -> None:
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


def looks_truncated(text: str) -> bool:
    """Whether JSON text stops inside a string or with brackets still open."""
    depth, in_str, esc = 0, False, False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return in_str or depth > 0


def _read_lldp(lldp, label: str, device: str, col: _Collect, where: str = "") -> None:
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
        col.seen.append(_Seen(label, 0, device, str(ifname), ndev, nport))


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


def _json0_interface(iface, label: str, device: str, col: _Collect, path: str) -> None:
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
    col.seen.append(_Seen(label, 0, device, iface["name"], ndev, nport))


# ---------------------------------------------------------------- checks


def _check(col: _Collect, design: Design) -> Observations:
    problems = list(col.problems)
    hall = design.floorplan.name
    devices = design.device_index()
    strangers = set()  # files from another hall: one message each, not one per device
    for file, declared in sorted(col.halls.items()):
        if declared != hall:
            strangers.add(file)
            problems.append(
                Problem(
                    file,
                    0,
                    "hall",
                    f"observations are from hall '{declared}', the design is hall '{hall}'",
                )
            )

    def resolve(name: str) -> str | None:
        if name in devices:
            return name
        short = name.split(".")[0]
        return short if short in devices else None

    # a whole file of strangers is another hall's file, not a few typos
    per_file: dict[str, list[_Seen]] = {}
    for s in col.seen:
        per_file.setdefault(s.file, []).append(s)
    for file, seen in per_file.items():
        names = {s.device for s in seen} | {s.ndevice for s in seen}
        if names and not any(resolve(n) for n in names) and file not in strangers:
            problems.append(
                Problem(
                    file,
                    0,
                    "",
                    f"none of its {len(names)} devices is in the design (hall '{hall}'): is it from a different hall?",
                )
            )
            strangers.add(file)
    reporters = set()
    for dev, file in col.reporters.items():
        if file in strangers:
            continue
        if resolve(dev) is None:
            problems.append(
                Problem(
                    file,
                    0,
                    "",
                    f"unknown device '{dev}': not in design '{design.name}' (hall '{hall}')",
                )
            )
        else:
            reporters.add(resolve(dev))
    neighbour: dict[str, tuple[str, _Seen]] = {}
    links: set[tuple[str, str]] = set()
    for s in col.seen:
        if s.file in strangers:
            continue
        a_dev, b_dev = resolve(s.device), resolve(s.ndevice)
        where = f"{s.device}:{s.port}"
        if a_dev is None or b_dev is None:
            if b_dev is None:
                problems.append(
                    Problem(
                        s.file,
                        s.line,
                        where,
                        f"unknown neighbour device '{s.ndevice}': not in design '{design.name}' (hall '{hall}')",
                    )
                )
            continue
        bad = False
        for dev, port in ((a_dev, s.port), (b_dev, s.nport)):
            dt = design.device_types.get(devices[dev].device_type)
            if dt is not None and dt.ports and dt.port(port) is None:
                problems.append(
                    Problem(
                        s.file, s.line, where, f"device '{dev}' ({dt.slug}) has no port '{port}'"
                    )
                )
                bad = True
        if bad:
            continue
        a, b = f"{a_dev}:{s.port}", f"{b_dev}:{s.nport}"
        if a == b:
            problems.append(Problem(s.file, s.line, where, "a port cannot be its own neighbour"))
            continue
        for x, y in ((a, b), (b, a)):
            prev = neighbour.get(x)
            if prev is None:
                neighbour[x] = (y, s)
            elif prev[0] != y:
                p = prev[1]
                first = f"{p.file}:{p.line}" if p.line else p.file
                problems.append(
                    Problem(
                        s.file,
                        s.line,
                        where,
                        f"duplicate neighbour: {x} is seen linked to {y} here and to {prev[0]} in {first}",
                    )
                )
            elif (
                prev[1].device == s.device
                and prev[1].port == s.port
                and prev[1] is not s
                and x == a
            ):
                p = prev[1]
                first = f"{p.file}:{p.line}" if p.line else p.file
                problems.append(
                    Problem(
                        s.file,
                        s.line,
                        where,
                        f"duplicate neighbour: {x} -- {y} listed twice (first in {first})",
                    )
                )
        links.add(tuple(sorted((a, b))))
    if problems:
        raise DesignError(sorted(set(problems), key=lambda p: (p.file, p.line, p.path, p.message)))
    return Observations(hall, frozenset(reporters), tuple(sorted(links)))
