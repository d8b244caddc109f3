"""Halls for the tray tests (fill, diversion, separation, geometry) and the failing designs that
``fieldops plan`` and ``fieldops validate`` must agree on.

All build on tests/samples_validate.py (literal YAML, line numbers you can count) and the tiny
hall of tests/samples.py: racks R01 (1800, 3000), R02 (2400, 3000), R03 (3000, 3000), 600 x 1200
mm, 42U, 2067 mm tall (42 x 44.45 + 200, rounded), fronts facing -y. A server at U10 has its
ports on the rack's rear face (y = 3600) at 100 + 9.5 x 44.45 = 522.275 mm.

DETOUR hall: a copper tray T1 over the row and a loop T-N1, T-N2, T-N3 around it, 800 mm from
the racks (beyond the 600 mm drop reach, so the racks drop onto T1 only); all at 2500 mm::

    y
    4400  +------------------ T-N2 -------------------+
          |                                           |
         T-N1                                        T-N3
          |                                           |
    3000  +==== T1 ====[R01]====[R02]====[R03]========+
         800          1800     2400     3000         4000   x

A cable R01 <-> R03 on T1: up 433 to the tray, along 1200, down 433 = 2066 mm of tray path.
Around the loop: 433 + 1000 (T1 west) + 1400 + 3200 + 1400 + 1000 (T1 back west) + 433 =
8866 mm. Each end adds the run up the rear face to the rack top and in to the exit:
(2067 - 522.275) + 600 = 2144.725 mm.
"""

from __future__ import annotations

from pathlib import Path

from tests.samples_validate import FLOORPLAN_HEAD, make_design

# The design's own media catalogue (the bundled values for cat6a; a long power cord).
MEDIA = """\
media:
  - {slug: cat6a, class: copper, cable_type: cat6a, lengths_mm: [3000, 5000, 7000, 10000, 15000, 20000], bend_radius_mm: 30, slack_per_end_mm: 300, outer_diameter_mm: 6.0, port_types: [1000base-t, 10gbase-t]}
  - {slug: pwr, class: power, cable_type: power, lengths_mm: [3000, 5000, 10000, 20000], bend_radius_mm: 40, slack_per_end_mm: 100, outer_diameter_mm: 7.4, port_types: [iec-60320-c13, iec-60320-c14]}
"""
MEDIA_LINE = {"cat6a": 2, "pwr": 3}

HEAD = FLOORPLAN_HEAD.split("trays:")[0]  # hall, grid, COL-1 and DOOR: lines 1-7
RACK_TYPES = """\
rack_types:
  - {slug: r42, width_mm: 600, depth_mm: 1200, u_height: 42, max_kw: 10, max_kg: 800}
racks:
  - {name: R01, rack_type: r42, position: [1800, 3000]}
  - {name: R02, rack_type: r42, position: [2400, 3000]}
  - {name: R03, rack_type: r42, position: [3000, 3000]}
"""
LOOP = [
    "{name: T-N1, media: [copper], elevation_mm: 2500, width_mm: 300, points: [[800, 3000], [800, 4400]]}",
    "{name: T-N2, media: [copper], elevation_mm: 2500, width_mm: 300, points: [[800, 4400], [4000, 4400]]}",
    "{name: T-N3, media: [copper], elevation_mm: 2500, width_mm: 300, points: [[4000, 4400], [4000, 3000]]}",
]

SERVERS = [
    "{name: srv1, device_type: test-server-1u, rack: R01, position: 10}",
    "{name: srv3, device_type: test-server-1u, rack: R03, position: 10}",
]
TWO_COPPER = [
    "{a: 'srv1:eth0', b: 'srv3:eth0', media: cat6a}",
    "{a: 'srv1:bmc', b: 'srv3:bmc', media: cat6a}",
]

IN_RACK_MM = (2067 - 522.275) + 600  # one end: up the rear face, in to the exit
DIRECT_TRAY_MM = 433 + 1200 + 433
LOOP_TRAY_MM = 433 + 1000 + 1400 + 3200 + 1400 + 1000 + 433


def t1(fill: str = "fill_area_mm2: 60", media: str = "[copper]") -> str:
    """T1 over the row; ``fill`` sets its capacity (60 mm² x 50 % takes one 6 mm cable)."""
    return (
        f"{{name: T1, media: {media}, elevation_mm: 2500, width_mm: 300, {fill}, "
        "points: [[800, 3000], [4000, 3000]]}"
    )


def floorplan(trays: list[str], extra: str = "") -> str:
    """The floor plan text: tray i is on line 9 + i (HEAD is 7 lines, then ``trays:``)."""
    return HEAD + "trays:\n" + "".join(f"  - {t}\n" for t in trays) + extra + RACK_TYPES


def tray_line(i: int) -> int:
    return 9 + i


def tray_design(
    root: Path,
    trays: list[str],
    *,
    devices: list[str] | None = None,
    cables: list[str] | None = None,
    extra: str = "",
    device_types: list[dict] | None = None,
) -> Path:
    """A design on the tiny hall with these trays, its own media catalogue (MEDIA)."""
    root = make_design(
        root,
        devices=devices if devices is not None else SERVERS,
        cables=cables if cables is not None else TWO_COPPER,
        floorplan=floorplan(trays, extra),
        device_types=device_types,
        design_extra={"media": "trays-media.yaml"},
    )
    (root / "trays-media.yaml").write_text(MEDIA)
    return root
