"""Canonical halls for routing and walking tests, built in memory (no files).

ROUTE hall (mm; racks 600 wide, 1000 deep, 42U, 2000 tall; U1 starts 100 above the floor)::

    y
    4500 +------+                                    B1 rotated 180: front faces +y
    4000 |  B1  |  ==TB== (y=4000, x 50..6000)       rear face at y=3500
    3500 +------+
    3000   ||TX (x=50)      +--TD--+ (x 2700..3500 at y=3000)
    2500 +----+----+----+   |CRAH  |   +----+        row A: fronts face -y (front y=1500,
    2000 | A1 | A2 | A3 |==TA  (2800..3400)TA2=| A4 |   rear y=2500)
    1500 +----+----+----+   |      |   +----+
          1000 1600 2200            4600   x (rack centres)

Trays (copper + fibre, elevation 2500): TA (50,2000)-(2700,2000); TA2 (3500,2000)-(6000,2000);
TD (2700,2000)-(2700,3000)-(3500,3000)-(3500,2000) around the CRAH; TX (50,2000)-(50,4000)
(650 mm from A1/B1, beyond the 600 mm drop reach); TB (50,4000)-(6000,4000). Power trays P1
over row A and P2 over row B do not connect. A4 (x 4300..4900) is 800 mm from TD: no drop.

Port heights: 1U device at U p -> 100 + (p - 0.5) * 44.45; U10 = 522.275, U30 = 1411.275,
U40 = 1855.775; zero-U PDU at mid-rack = 1000.

ROW halls (``row_floorplan``): the synthetic halls of the benchmarks at any size, rows of 25
racks with a tray over every row; tests use a few rows, benchmarks 1,000 racks::

    3 m of floor around; racks R<row>-<k>, 600 wide, 1200 deep; rows alternate facing -y / +y
    +-------------------------------------------------------+
    |  T-WEST  [R01-00][R01-01] ... [R01-24]  T-EAST        |   rows 1200 deep, aisles 1200
    |     |  ====== T-ROW01 (and P-ROW01) ======  |         |   row trays 600 beyond the ends
    | COL [R00-00][R00-01] ... [R00-24]           |         |   x0 = y0 = 3000
    | DOOR (600, 600)                                       |
    +-------------------------------------------------------+
"""

from __future__ import annotations

import random

from fieldops.core.model import (
    FRONT,
    REAR,
    Cable,
    CableTray,
    Design,
    Device,
    DeviceType,
    FloorGrid,
    FloorPlan,
    Media,
    Obstacle,
    PortTemplate,
    Rack,
    RackType,
    Termination,
    Waypoint,
    frozen_map,
)

Q28 = "100gbase-x-qsfp28"

SRV = DeviceType(
    "Gen",
    "Server",
    "srv",
    1,
    True,
    15,
    "front-to-rear",
    (
        PortTemplate("p0", "interface", "10gbase-t"),
        PortTemplate("p1", "interface", "10gbase-t"),
        PortTemplate("q0", "interface", Q28),
        PortTemplate("PSU1", "power-port", "iec-60320-c14", maximum_draw_w=300),
    ),
)
SW = DeviceType(
    "Gen",
    "Switch",
    "sw",
    1,
    True,
    8,
    "",
    tuple(PortTemplate(f"p{i}", "interface", "10gbase-t") for i in range(8))
    + tuple(PortTemplate(f"q{i}", "interface", Q28) for i in range(4))
    + (PortTemplate("PSU1", "power-port", "iec-60320-c14", maximum_draw_w=150),),
)
PDU = DeviceType(
    "Gen",
    "PDU",
    "pdu",
    0,
    False,
    5,
    "",
    tuple(PortTemplate(f"O{i}", "power-outlet", "iec-60320-c13") for i in range(1, 9)),
)

MEDIA = {
    "cat6a": Media(
        "cat6a",
        "Cat6A",
        "copper",
        "cat6a",
        (500, 1000, 1500, 2000, 3000, 5000, 7000, 10000),
        "CAT6A-{length_m}M",
        30,
        300,
        100000,
        ("10gbase-t", "1000base-t"),
    ),
    "smf": Media(
        "smf",
        "SMF",
        "fibre",
        "smf-os2",
        (1000, 2000, 3000, 5000, 7000, 10000, 15000),
        "SMF-{length_m}M",
        15,
        500,
        500000,
        ("400gbase-x-osfp",),
    ),
    "dac": Media(
        "dac",
        "DAC",
        "copper",
        "dac-passive",
        (500, 1000, 1500, 2000, 2500, 3000),
        "DAC-{length_m}M",
        60,
        150,
        3000,
        (Q28,),
    ),
    "aoc": Media(
        "aoc",
        "AOC",
        "fibre",
        "aoc",
        (3000, 5000, 7000, 10000, 20000),
        "AOC-{length_m}M",
        30,
        300,
        100000,
        (Q28,),
    ),
    "pwr": Media(
        "pwr",
        "Power cord",
        "power",
        "power",
        (600, 1000, 2000, 3000, 5000),
        "PWR-{length_m}M",
        40,
        100,
        5000,
    ),
}

Z10 = 100 + 9.5 * 44.45  # 522.275
Z30 = 100 + 29.5 * 44.45  # 1411.275
Z40 = 100 + 39.5 * 44.45  # 1855.775


def route_floorplan(extra_trays: tuple = ()) -> FloorPlan:
    tray = lambda name, pts, media=("copper", "fibre"): CableTray(name, pts, 2500, 300, media)  # noqa: E731
    return FloorPlan(
        name="ROUTE",
        outline=((0, 0), (8000, 0), (8000, 6000), (0, 6000)),
        grid=FloorGrid(600, (0, 0), "1A"),
        obstacles=(
            Obstacle("CRAH", "cooling", ((2800, 1300), (3400, 1300), (3400, 2800), (2800, 2800))),
        ),
        waypoints=(Waypoint("DOOR", "door", (300, 300)),),
        trays=(
            tray("TA", ((50, 2000), (2700, 2000))),
            tray("TA2", ((3500, 2000), (6000, 2000))),
            tray("TD", ((2700, 2000), (2700, 3000), (3500, 3000), (3500, 2000))),
            tray("TX", ((50, 2000), (50, 4000))),
            tray("TB", ((50, 4000), (6000, 4000))),
            tray("P1", ((500, 2000), (2700, 2000)), ("power",)),
            tray("P2", ((500, 4000), (2700, 4000)), ("power",)),
            *extra_trays,
        ),
        rack_types=frozen_map({"r42": RackType("r42", 600, 1000, 42, 20, 1000, 2000)}),
        racks=(
            Rack("A1", "r42", (1000, 2000), 0.0, "A"),
            Rack("A2", "r42", (1600, 2000), 0.0, "A"),
            Rack("A3", "r42", (2200, 2000), 0.0, "A"),
            Rack("A4", "r42", (4600, 2000), 0.0, "A"),
            Rack("B1", "r42", (1000, 4000), 180.0, "B"),
        ),
    )


ROUTE_DEVICES = (
    Device("srv-a", "srv", "A1", 10, FRONT),
    Device("sw-a1", "sw", "A1", 40, REAR),  # switches face the hot aisle (rear)
    Device("sw-f", "sw", "A1", 30, FRONT, ports_face="front"),
    Device("pdu-a1", "pdu", "A1", None, "rear"),
    Device("srv-b", "srv", "A2", 10, FRONT),
    Device("sw-a3", "sw", "A3", 40, REAR),
    Device("sw-a4", "sw", "A4", 40, REAR),
    Device("sw-b", "sw", "B1", 40, REAR),
)


def cable(a: str, b: str, media: str, label: str = "") -> Cable:
    (da, pa), (db, pb) = a.split(":"), b.split(":")
    return Cable(Termination(da, pa), Termination(db, pb), media, label)


ROUTE_CABLES = (
    cable("srv-a:p0", "sw-a1:p0", "cat6a"),  # same rack, same face
    cable("srv-a:p1", "sw-f:p0", "cat6a"),  # same rack, rear -> front
    cable("srv-b:p0", "sw-a1:p1", "cat6a"),  # adjacent racks
    cable("srv-b:p1", "sw-b:p0", "cat6a"),  # across the aisle
    cable("sw-a1:q0", "sw-a4:q0", "smf"),  # around the CRAH
    cable("pdu-a1:O1", "sw-b:PSU1", "pwr"),  # power trays do not connect
    cable("sw-a1:q1", "sw-a3:q1", "dac"),  # beyond DAC reach
)


def route_design(cables=ROUTE_CABLES, floorplan: FloorPlan | None = None) -> Design:
    return Design(
        "route",
        "1",
        floorplan or route_floorplan(),
        frozen_map({"srv": SRV, "sw": SW, "pdu": PDU}),
        ROUTE_DEVICES,
        tuple(cables),
        frozen_map(MEDIA),
    )


def walk_design(racks=(), obstacles=None) -> Design:
    """A 10 m x 6 m hall with a 2 m x 4 m block against the south wall (x 4000..6000)."""
    fp = FloorPlan(
        name="WALK",
        outline=((0, 0), (10000, 0), (10000, 6000), (0, 6000)),
        obstacles=obstacles
        if obstacles is not None
        else (Obstacle("BLOCK", "cooling", ((4000, 0), (6000, 0), (6000, 4000), (4000, 4000))),),
        waypoints=(Waypoint("W", "door", (2000, 2000)), Waypoint("E", "dock", (8000, 2000))),
        rack_types=frozen_map({"r42": RackType("r42", 600, 1200, 42)}),
        racks=tuple(racks),
    )
    return Design("walk", "1", fp, frozen_map({}), (), (), frozen_map({}))


# ---------------------------------------------------------------- ROW halls (benchmark scale)

ROW_RACKS = 25  # racks per row
ROW_PITCH, ROW_DEPTH, ROW_AISLE = 600, 1200, 1200
ROW_X0 = ROW_Y0 = 3000  # floor left around the rows


def row_floorplan(
    n_racks: int,
    *,
    rack_weight_kg: float = 40,
    power_trays: bool = False,
    column: bool = False,
    staging: bool = False,
) -> FloorPlan:
    """Rows of 25 racks (48U, 1500 mm tall) facing alternate ways; over every row a copper and
    fibre tray at 2800 mm (``T-ROW<r>``, and with ``power_trays`` a power tray ``P-ROW<r>`` at
    2500 mm), both 600 mm past the row ends, where cross trays ``T-WEST`` and ``T-EAST`` join
    them. Waypoint ``DOOR`` at (600, 600); with ``staging`` a ``STAGING`` area by the west
    wall's middle; with ``column`` a 400 mm column ``COL-1`` west of the rows, mid-hall."""
    rows = (n_racks + ROW_RACKS - 1) // ROW_RACKS
    x0, y0 = ROW_X0, ROW_Y0
    width = x0 * 2 + ROW_RACKS * ROW_PITCH
    height = y0 * 2 + rows * (ROW_DEPTH + ROW_AISLE)
    west, east = x0 - 600, x0 + ROW_RACKS * ROW_PITCH + 600
    racks, trays = [], []
    for r in range(rows):
        cy = y0 + r * (ROW_DEPTH + ROW_AISLE) + ROW_DEPTH // 2
        rot = 0.0 if r % 2 == 0 else 180.0
        for k in range(min(ROW_RACKS, n_racks - len(racks))):
            xy = (x0 + ROW_PITCH // 2 + k * ROW_PITCH, cy)
            racks.append(Rack(f"R{r:02d}-{k:02d}", "r48", xy, rot, f"R{r:02d}"))
        trays.append(
            CableTray(f"T-ROW{r:02d}", ((west, cy), (east, cy)), 2800, 300, ("copper", "fibre"))
        )
        if power_trays:
            trays.append(
                CableTray(f"P-ROW{r:02d}", ((west, cy), (east, cy)), 2500, 300, ("power",))
            )
    ys = (y0 + ROW_DEPTH // 2, y0 + (rows - 1) * (ROW_DEPTH + ROW_AISLE) + ROW_DEPTH // 2)
    for name, x in (("T-WEST", west), ("T-EAST", east)):
        trays.append(CableTray(name, ((x, ys[0]), (x, ys[1])), 2800, 300, ("copper", "fibre")))
    mid = height // 2
    col = ((x0 - 2500, mid), (x0 - 2100, mid), (x0 - 2100, mid + 400), (x0 - 2500, mid + 400))
    return FloorPlan(
        name="BIG",
        outline=((0, 0), (width, 0), (width, height), (0, height)),
        grid=FloorGrid(600, (0, 0), "1A"),
        obstacles=(Obstacle("COL-1", "column", col),) if column else (),
        waypoints=(Waypoint("DOOR", "door", (600, 600)),)
        + ((Waypoint("STAGING", "staging", (1500, mid)),) if staging else ()),
        trays=tuple(trays),
        rack_types=frozen_map({"r48": RackType("r48", 600, ROW_DEPTH, 48, rack_weight_kg, 1500)}),
        racks=tuple(racks),
    )


def row_dac(slug: str = "dac") -> Media:
    """Passive DAC up to 5 m (copper trays)."""
    return Media(
        slug,
        "DAC",
        "copper",
        "dac-passive",
        (500, 1000, 1500, 2000, 3000, 5000),
        "DAC-{length_m}M",
        40,
        150,
        5000,
    )


ROW_AOC = Media(
    "aoc",
    "AOC",
    "fibre",
    "aoc",
    (3000, 5000, 10000, 20000, 30000, 50000, 100000),
    "AOC-{length_m}M",
    30,
    300,
    100000,
)


def cross_hall_cables(
    rng: random.Random, racks, used: dict[str, int], count: int, switch: str, ports: int = 400
) -> list[Cable]:
    """``count`` AOC cables between the switches (``<rack><switch>``, ports ``s0``...) of random
    pairs of racks, each on its switch's next free port (``used`` counts them per rack; racks
    whose switch has no free port are skipped)."""
    cables = []
    while len(cables) < count:
        a, b = rng.sample(racks, 2)
        if used[a.name] >= ports or used[b.name] >= ports:
            continue
        cables.append(
            Cable(
                Termination(f"{a.name}{switch}", f"s{used[a.name]}"),
                Termination(f"{b.name}{switch}", f"s{used[b.name]}"),
                "aoc",
            )
        )
        used[a.name] += 1
        used[b.name] += 1
    return cables
