"""Design builders for the validation and loader tests, with line numbers you can count.

Built on tests/samples.py (``write_design`` and its two device types), but the floor plan,
elevations and connections are written as literal flow-style YAML text, one object per line,
so a test can state the exact ``file:line`` a problem must point at:

- ``floorplan.yaml``: ``FLOORPLAN_HEAD`` is lines 1-11 (obstacle COL-1 on line 5, waypoint
  DOOR on line 7, tray T1 on line 9, rack type r42 on line 11); line 12 is ``racks:`` and
  rack ``i`` is on line ``13 + i``.
- ``elevations.yaml``: line 1 is ``devices:``; device ``i`` is on line ``2 + i``.
- ``connections.yaml``: line 1 is ``cables:``; cable ``i`` is on line ``2 + i``.

The default hall is tests/samples.py's tiny hall: one row of three 600 x 1200 mm racks
(R01 at x 1500-2100, R02 2100-2700, R03 2700-3300; y 2400-3600; fronts face -y) in a
6 m x 6 m room, a 400 mm column COL-1 at (4800-5200, 4800-5200).
"""

from __future__ import annotations

import copy
from pathlib import Path

from fieldops import services
from tests.samples import SERVER_TYPE, SWITCH_TYPE, write_design

# A small media catalogue of the design's own (media.yaml; entry i on line 2 + i).
MEDIA_TEXT = """\
media:
  - {slug: cat6a, class: copper, cable_type: cat6a, lengths_mm: [1000, 3000], port_types: [1000base-t, 10gbase-t]}
  - {slug: dac-100g, class: copper, cable_type: dac-passive, lengths_mm: [1000, 3000], reach_mm: 3000, port_types: [100gbase-x-qsfp28]}
  - {slug: smf, class: fibre, cable_type: smf-os2, lengths_mm: [5000, 10000]}
  - {slug: power-c13-c14, class: power, cable_type: power, lengths_mm: [1000, 2000], port_types: [iec-60320-c13, iec-60320-c14]}
"""

# A zero-U PDU: power outlets make it pass power through (its draw is not rack load).
PDU_TYPE = {
    "manufacturer": "Generic",
    "model": "Test PDU 0U",
    "slug": "test-pdu-0u",
    "u_height": 0,
    "is_full_depth": False,
    "weight": 5,
    "weight_unit": "kg",
    "power-ports": [{"name": "INLET", "type": "iec-60309-p-n-e-6h", "maximum_draw": 7400}],
    "power-outlets": [
        {"name": f"O{i}", "type": "iec-60320-c13", "power_port": "INLET"} for i in range(1, 9)
    ],
}


def device_type(base: dict, **changes) -> dict:
    """A copy of a device-type dict with some fields changed (``None`` removes a field)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        key = key.replace("__", "-")
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


TYPES = [SERVER_TYPE, SWITCH_TYPE, PDU_TYPE]

FLOORPLAN_HEAD = """\
hall: TINY
outline: [[0, 0], [6000, 0], [6000, 6000], [0, 6000]]
grid: {pitch_mm: 600, prefix: 1A}
obstacles:
  - {name: COL-1, kind: column, polygon: [[4800, 4800], [5200, 4800], [5200, 5200], [4800, 5200]]}
waypoints:
  - {name: DOOR, kind: door, position: [300, 300]}
trays:
  - {name: T1, media: [copper, fibre], elevation_mm: 2500, width_mm: 300, points: [[1200, 3000], [3600, 3000]]}
rack_types:
  - {slug: r42, width_mm: 600, depth_mm: 1200, u_height: 42, max_kw: 10, max_kg: 800}
"""

RACKS = [
    "{name: R01, rack_type: r42, position: [1800, 3000]}",
    "{name: R02, rack_type: r42, position: [2400, 3000]}",
    "{name: R03, rack_type: r42, position: [3000, 3000]}",
]

DEVICES = [
    "{name: sw1, device_type: test-switch-1u, rack: R02, position: 40, face: rear}",
    "{name: srv1, device_type: test-server-1u, rack: R01, position: 10}",
    "{name: srv2, device_type: test-server-1u, rack: R03, position: 10}",
]

CABLES = [
    "{a: 'srv1:eth0', b: 'sw1:swp1', media: cat6a}",
    "{a: 'srv2:eth0', b: 'sw1:swp2', media: cat6a}",
]


def floorplan_text(racks: list[str] | None = None, head: str = FLOORPLAN_HEAD) -> str:
    lines = racks if racks is not None else RACKS
    return head + "racks:\n" + "".join(f"  - {r}\n" for r in lines)


def list_text(key: str, items: list[str]) -> str:
    return f"{key}:\n" + "".join(f"  - {item}\n" for item in items)


def make_design(
    root: Path,
    *,
    racks: list[str] | None = None,
    devices: list[str] | None = None,
    cables: list[str] | None = None,
    device_types: list[dict] | None = None,
    floorplan: str | None = None,
    design_extra: dict | None = None,
) -> Path:
    """A design directory under ``root`` with literal, line-countable YAML files."""
    extra = {"media": "media.yaml", **(design_extra or {})}
    root = write_design(
        Path(root),
        device_types=device_types if device_types is not None else TYPES,
        design_extra=extra,
    )
    (root / "media.yaml").write_text(MEDIA_TEXT)
    (root / "floorplan.yaml").write_text(
        floorplan if floorplan is not None else floorplan_text(racks)
    )
    (root / "elevations.yaml").write_text(
        list_text("devices", devices if devices is not None else DEVICES)
    )
    (root / "connections.yaml").write_text(
        list_text("cables", cables if cables is not None else CABLES)
    )
    return root


def problems(design: Path, *, clearance_mm: int | None = None) -> list[tuple]:
    """(file, line, path, message, severity) of every problem, in report order."""
    report = services.validate_design(design, clearance_mm=clearance_mm)
    return [(p.file, p.line, p.path, p.message, p.severity) for p in report.problems]


def errors(design: Path, **kw) -> list[tuple]:
    """(file, line, path, message) of the errors only."""
    return [p[:4] for p in problems(design, **kw) if p[4] == "error"]
