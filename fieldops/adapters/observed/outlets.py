"""Port-by-port reports: PDU outlets (power drawn or not) and console-server ports (line up or
down). Each listed port is looked at; an outlet with no draw where a cord should be is a
*suspect* cord, never a certain fault (the device may be switched off).

* **PDU outlet report** (CSV): ``pdu,outlet,state,current_a`` (``power_w`` instead of or beside
  ``current_a``; optional ``hall``). ``outlet`` is the port name of the PDU's device type
  (``Outlet3``) or its number (``3``). ``state`` is ``on`` or ``off``. An outlet that is on and
  draws more than ``LIVE_CURRENT_A`` or ``LIVE_POWER_W`` is *live* (a cord is in it and
  something draws), on with less is *idle*, off tells nothing.
* **Console-server port status** (CSV): ``console_server,port,state`` with ``state`` ``up``
  (the device drives the line: DSR/DCD asserted) or ``down``; ``port`` is the port name
  (``Port 5``) or its number.
"""

from __future__ import annotations

import math
import re

from fieldops.adapters.observed.common import Collect, csv_records, resolver
from fieldops.core.model import Design
from fieldops.core.observation import IDLE, LIVE, OFF, PortClasses
from fieldops.core.problems import Problem

LIVE_CURRENT_A = 0.02  # an empty outlet reads 0.00-0.01 A; a server in standby draws > 0.05 A
LIVE_POWER_W = 2.0
PDU_COLUMNS = ("pdu", "outlet", "state")
CONSOLE_COLUMNS = ("console_server", "port", "state")
ON = {
    "on": True,
    "1": True,
    "true": True,
    "yes": True,
    "off": False,
    "0": False,
    "false": False,
    "no": False,
}
UP = {
    "up": True,
    "connected": True,
    "1": True,
    "yes": True,
    "down": False,
    "disconnected": False,
    "0": False,
    "no": False,
}
_TRAILING = re.compile(r"(\d+)\s*$")


def kind_of_header(cells: list[str]) -> str:
    """'pdu', 'console' or 'neighbours' for a CSV header."""
    names = {c.strip().lower() for c in cells}
    if {"pdu", "outlet"} <= names:
        return "pdu"
    if "console_server" in names:
        return "console"
    return "neighbours"


def _port_by_name(classes: PortClasses, design: Design, device: str, given: str, kind: str):
    """The device's ``kind`` port named ``given`` or numbered like it; (name, '') or (None, why)."""
    dev = design.device(device)
    dt = design.device_types.get(dev.device_type) if dev else None
    ports = [p.name for p in (dt.ports if dt else ()) if p.kind == kind]
    if not ports:
        return None, f"device '{device}' ({dev.device_type if dev else '?'}) has no {kind} ports"
    if given in ports:
        return given, ""
    m = _TRAILING.search(given)
    if m:
        number = int(m.group(1))
        found = [p for p in ports if (t := _TRAILING.search(p)) and int(t.group(1)) == number]
        if len(found) == 1:
            return found[0], ""
    return (
        None,
        f"device '{device}' has no {kind} '{given}' (its {kind}s: {ports[0]} .. {ports[-1]})",
    )


def read_port_report(
    text: str, label: str, kind: str, design: Design, classes: PortClasses, col: Collect
) -> None:
    """Read a PDU outlet report (``kind`` 'pdu') or a console-server port status ('console')."""
    columns = PDU_COLUMNS if kind == "pdu" else CONSOLE_COLUMNS
    device_col, port_col = columns[0], columns[1]
    port_kind = "power-outlet" if kind == "pdu" else "console-server-port"
    resolve = resolver(design)
    found_any = False
    unknown_devices: set[str] = set()
    any_of = ("current_a", "power_w") if kind == "pdu" else ()
    for line, rec in csv_records(text, label, col, columns, any_of=any_of):
        if rec.get("hall"):
            col.halls.setdefault(label, rec["hall"])
        name = resolve(rec[device_col])
        if name is None:
            unknown_devices.add(rec[device_col])
            col.problems.append(
                Problem(
                    label,
                    line,
                    device_col,
                    f"unknown {device_col.replace('_', ' ')} '{rec[device_col]}': not in design '{design.name}'",
                )
            )
            continue
        found_any = True
        port_name, why = _port_by_name(classes, design, name, rec[port_col], port_kind)
        if port_name is None:
            col.problems.append(Problem(label, line, port_col, why))
            continue
        state = _state(rec, kind, label, line, col)
        if state is None:
            continue
        port = f"{name}:{port_name}"
        if port in col.states:
            _, file, first = col.states[port]
            col.problems.append(
                Problem(
                    label,
                    line,
                    port_col,
                    f"{name} {port_name} is listed twice (first at {file}:{first})",
                )
            )
            continue
        col.states[port] = (state, label, line)
        col.looked_at[port] = label
    if unknown_devices and not found_any:
        col.strangers.add(label)


def _number(rec: dict, key: str, label: str, line: int, col: Collect) -> float | None:
    raw = rec.get(key, "")
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        col.problems.append(Problem(label, line, key, f"expected a number >= 0, got '{raw}'"))
        return math.nan
    return value


def _state(rec: dict, kind: str, label: str, line: int, col: Collect) -> str | None:
    raw = rec["state"].lower()
    table = ON if kind == "pdu" else UP
    if raw not in table:
        words = "on or off" if kind == "pdu" else "up or down"
        col.problems.append(
            Problem(label, line, "state", f"expected {words}, got '{rec['state']}'")
        )
        return None
    if kind == "console":
        return LIVE if table[raw] else IDLE
    if not table[raw]:
        return OFF
    amps = _number(rec, "current_a", label, line, col)
    watts = _number(rec, "power_w", label, line, col)
    if (amps is not None and math.isnan(amps)) or (watts is not None and math.isnan(watts)):
        return None
    if amps is None and watts is None:
        col.problems.append(
            Problem(label, line, "current_a", "an outlet that is on needs current_a or power_w")
        )
        return None
    drawing = (amps is not None and amps > LIVE_CURRENT_A) or (
        watts is not None and watts > LIVE_POWER_W
    )
    return LIVE if drawing else IDLE
