"""The domain model of a data hall, in NetBox's vocabulary. Immutable values, no I/O.

Units: millimetres, kilograms and watts. Floor frame: origin at a hall corner, x and y in the
floor plane, z up. Geometry is integer millimetres (float metres produce false overlaps).

Rack orientation: ``rotation_deg`` turns the rack counter-clockwise about its footprint
centre. At rotation 0 the rack's width runs along x, its depth along y, and its **front faces
-y**. The front normal at rotation r is ``(sin r, -cos r)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType


class Face(StrEnum):
    """Which rack face a device's front is on (NetBox's ``DeviceFaceChoices``)."""

    FRONT = "front"
    REAR = "rear"


class MediaClass(StrEnum):
    """What a tray carries and a cable is made of."""

    COPPER = "copper"
    FIBRE = "fibre"
    POWER = "power"
    FLUID = "fluid"  # coolant hoses (docs/formats.md#fluid-network)


FRONT, REAR = Face.FRONT, Face.REAR
FACES = tuple(Face)
OVERHEAD = "overhead"  # Device.mounting: hung above the rack (a busway tap-off box)

U_MM = 44.45  # EIA-310 rack unit

MEDIA_CLASSES = tuple(MediaClass)

# Who is in a team: a technician (one person), a crew (people with equipment, scheduled as one
# member: a rigging crew with a rack mover) or a robot (VDA 5050). Technicians and crews are
# people: they log in on tablets and never get robot orders.
TECHNICIAN, CREW, ROBOT = "technician", "crew", "robot"
PROFILE_KINDS = (TECHNICIAN, CREW, ROBOT)
PEOPLE_KINDS = (TECHNICIAN, CREW)

Point2 = tuple[int, int]


def frozen_map(items: Mapping | None = None) -> Mapping:
    """A read-only mapping (values stay as given)."""
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True, slots=True)
class Source:
    """Where a value was declared: for ``file:line: path: message`` problems."""

    file: str = ""
    line: int = 0
    path: str = ""


NO_SOURCE = Source()


# ---------------------------------------------------------------- floor plan


@dataclass(frozen=True, slots=True)
class FloorGrid:
    """Floor tiles for TIA-606-style location IDs such as ``1A-AJ05``.

    Columns are lettered along x (A..Z, AA..AZ, ...), rows numbered along y (01, 02, ...),
    both starting at ``origin``. ``prefix`` names floor and room.
    """

    pitch_mm: int = 600
    origin: Point2 = (0, 0)
    prefix: str = "1A"
    first_row: int = 1
    row_digits: int = 2

    def column_label(self, index: int) -> str:
        label = ""
        index += 1
        while index > 0:
            index, rem = divmod(index - 1, 26)
            label = chr(65 + rem) + label
        return label

    def location_id(self, x_mm: float, y_mm: float) -> str:
        """The tile ID of a floor point.

        >>> FloorGrid().location_id(300, 300)
        '1A-A01'
        """
        col = int((x_mm - self.origin[0]) // self.pitch_mm)
        row = int((y_mm - self.origin[1]) // self.pitch_mm) + self.first_row
        col_label = self.column_label(col) if col >= 0 else f"-{self.column_label(-col - 1)}"
        return f"{self.prefix}-{col_label}{row:0{self.row_digits}d}".upper()


@dataclass(frozen=True, slots=True)
class Obstacle:
    name: str
    kind: str  # column | cooling | keepout | other
    polygon: tuple[Point2, ...]
    source: Source = NO_SOURCE
    height_mm: int = 0  # top above the floor; 0 = floor to ceiling (collides with any tray)


@dataclass(frozen=True, slots=True)
class Waypoint:
    """A named floor point: door, staging area, loading dock."""

    name: str
    kind: str  # door | staging | dock
    position: Point2
    source: Source = NO_SOURCE
    width_mm: int = 0  # a door's (or the dock door's) clear opening; 0 = not checked
    height_mm: int = 0


@dataclass(frozen=True, slots=True)
class CableTray:
    """A tray or ladder: a polyline at an elevation that carries some media classes.

    ``elevation_mm`` is the tray bottom (where cables lie). Fill: the usable cross-section is
    ``fill_area_mm2`` if given, else ``width_mm x depth_mm``; ``depth_mm`` and
    ``max_fill_ratio`` of 0 take the floor plan's :class:`TrayRules` defaults.
    """

    name: str
    points: tuple[Point2, ...]
    elevation_mm: int
    width_mm: int
    media_classes: tuple[str, ...]
    source: Source = NO_SOURCE
    depth_mm: int = 0  # usable loading depth (side-rail height); 0 = TrayRules.depth_mm
    max_fill_ratio: float = 0.0  # 0 = TrayRules.max_fill_ratio
    fill_area_mm2: int = 0  # 0 = width_mm x depth_mm
    divider: bool = False  # a fixed barrier: separated classes may share it, one per side


# Defaults for tray fill (docs/cables.md#tray-fill cites the sources):
# TIA-569 / TIA-942 size telecommunications trays for at most 50 % fill and 150 mm depth.
DEFAULT_MAX_FILL_RATIO = 0.5
DEFAULT_TRAY_DEPTH_MM = 100  # a common ladder / wire-basket side-rail height
DEFAULT_SEPARATE = (
    ("copper", "power"),
    ("fibre", "power"),
    # coolant never runs in a tray with cables: a fluid route is its own (ASHRAE TC 9.9 liquid
    # cooling guidance keeps piping apart from, and below, electrical pathways)
    ("fluid", "copper"),
    ("fluid", "fibre"),
    ("fluid", "power"),
)


@dataclass(frozen=True, slots=True)
class TrayRules:
    """Floor-plan wide tray engineering rules (``tray_rules:`` in the floor plan)."""

    max_fill_ratio: float = DEFAULT_MAX_FILL_RATIO
    depth_mm: int = DEFAULT_TRAY_DEPTH_MM
    overfill: str = "error"  # severity of a segment over its fill limit: error | warning
    separate: tuple[tuple[str, str], ...] = DEFAULT_SEPARATE  # class pairs that never share
    join_tolerance_mm: int = 100  # a tray end this close to another tray should meet it
    source: Source = NO_SOURCE

    def apart(self, a: str, b: str) -> bool:
        """Whether media classes ``a`` and ``b`` must not share a tray."""
        return (a, b) in self.separate or (b, a) in self.separate

    def usable_area_mm2(self, tray: CableTray) -> int:
        """The cross-section cables may fill, before the fill ratio."""
        return tray.fill_area_mm2 or tray.width_mm * (tray.depth_mm or self.depth_mm)

    def capacity_mm2(self, tray: CableTray) -> float:
        """Cable cross-section a tray takes at its fill limit."""
        return self.usable_area_mm2(tray) * (tray.max_fill_ratio or self.max_fill_ratio)

    def fill_limit(self, tray: CableTray) -> float:
        return tray.max_fill_ratio or self.max_fill_ratio


@dataclass(frozen=True, slots=True)
class RackType:
    slug: str
    width_mm: int = 600
    depth_mm: int = 1200
    u_height: int = 42
    max_kw: float = 0.0
    max_kg: float = 0.0
    height_mm: int = 0  # 0: derived from u_height
    source: Source = NO_SOURCE
    weight_kg: float = 0.0  # the empty rack, as delivered (NetBox RackType.weight)

    @property
    def outer_height_mm(self) -> int:
        return self.height_mm or round(self.u_height * U_MM + 200)


@dataclass(frozen=True, slots=True)
class Rack:
    name: str
    rack_type: str
    position: Point2  # footprint centre
    rotation_deg: float = 0.0
    row: str = ""
    source: Source = NO_SOURCE

    def front_normal(self) -> tuple[float, float]:
        r = math.radians(self.rotation_deg)
        return (round(math.sin(r), 12), round(-math.cos(r), 12))

    def footprint(self, rack_type: RackType) -> tuple[tuple[float, float], ...]:
        """Corner points (counter-clockwise) of the rack's footprint."""
        hw, hd = rack_type.width_mm / 2, rack_type.depth_mm / 2
        nx, ny = self.front_normal()
        ax, ay = -ny, nx  # width axis
        cx, cy = self.position
        return tuple(
            (cx + sx * hw * ax + sd * hd * nx, cy + sx * hw * ay + sd * hd * ny)
            for sx, sd in ((-1, 1), (-1, -1), (1, -1), (1, 1))
        )

    def face_point(
        self, rack_type: RackType, face: str, offset_mm: float = 0.0
    ) -> tuple[float, float]:
        """The centre of a rack face, pushed ``offset_mm`` out into the aisle."""
        nx, ny = self.front_normal()
        sign = 1 if face == FRONT else -1
        d = rack_type.depth_mm / 2 + offset_mm
        return (self.position[0] + sign * nx * d, self.position[1] + sign * ny * d)


@dataclass(frozen=True)  # no slots: cached_property keeps the name indexes
class FloorPlan:
    name: str  # the hall; VDA 5050 mapId
    outline: tuple[Point2, ...]
    grid: FloorGrid = FloorGrid()
    obstacles: tuple[Obstacle, ...] = ()
    waypoints: tuple[Waypoint, ...] = ()
    trays: tuple[CableTray, ...] = ()
    rack_types: Mapping[str, RackType] = field(default_factory=frozen_map)
    racks: tuple[Rack, ...] = ()
    source: Source = NO_SOURCE
    tray_rules: TrayRules = TrayRules()
    floor_load_kg_m2: float = 0.0  # what a floor tile carries, spread; 0 = not checked

    def rack(self, name: str) -> Rack | None:
        return self._rack_index.get(name)

    @cached_property
    def _rack_index(self) -> dict[str, Rack]:
        return {r.name: r for r in self.racks}


# ---------------------------------------------------------------- device types


@dataclass(frozen=True, slots=True)
class PortTemplate:
    """An interface, console port, power port/outlet or front/rear port of a device type."""

    name: str
    kind: str  # interface | console-port | console-server-port | power-port | power-outlet | front-port | rear-port
    type: str = ""
    mgmt_only: bool = False
    maximum_draw_w: float | None = None
    allocated_draw_w: float | None = None
    feed_leg: str = ""
    fluid_leg: str = ""  # fluid ports: supply | return (FLUID_LEGS); ``type`` is the connector


FLUID_PORT = "fluid-port"  # a quick disconnect or flange of a cooling loop (fluid side file)
FLUID_LEGS = ("supply", "return")
# what a device type is in the cooling loop (fluid side file ``cooling:``)
COOLING_ROLES = ("cdu", "manifold", "cold-plate")


@dataclass(frozen=True, slots=True)
class DeviceType:
    """A NetBox devicetype-library device type."""

    manufacturer: str
    model: str
    slug: str
    u_height: float = 1.0
    is_full_depth: bool = True
    weight_kg: float | None = None
    airflow: str = ""
    ports: tuple[PortTemplate, ...] = ()
    module_bays: tuple[str, ...] = ()
    source: Source = NO_SOURCE
    is_powered: bool = True  # NetBox: False for passive gear (patch panels, fibre enclosures)

    def port(self, name: str) -> PortTemplate | None:
        for p in self.ports:
            if p.name == name:
                return p
        return None

    @property
    def units(self) -> int:
        """Whole rack units the device occupies: ``u_height`` rounded up, at least 1 (0-U too)."""
        return max(1, math.ceil(self.u_height))

    @property
    def max_draw_w(self) -> float | None:
        """Sum of the power ports' allocated (else maximum) draw; None when none is declared."""
        draws = [
            p.allocated_draw_w if p.allocated_draw_w is not None else p.maximum_draw_w
            for p in self.ports
            if p.kind == "power-port"
        ]
        known = [d for d in draws if d is not None]
        return sum(known) if known else None

    # the cooling loop (fluid side file), not NetBox's: the last field, keyword only in practice
    cooling: str = ""  # "" (air) | cdu | manifold | cold-plate

    @property
    def liquid_cooled(self) -> bool:
        """A device cooled by the loop (cold plates): powered on only after its rack's leak test."""
        return self.cooling == "cold-plate"


# ---------------------------------------------------------------- design


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    device_type: str  # slug
    rack: str
    position: int | None  # lowest U occupied; None for zero-U (PDUs on the side rails)
    face: str = FRONT
    role: str = ""
    asset_tag: str = ""
    serial: str = ""
    ports_face: str = ""  # which rack face the data ports are on; "" = derived
    mounting: str = ""  # "" (in the rack) | "overhead": zero-U, hung above it (busway tap-off)
    source: Source = NO_SOURCE


@dataclass(frozen=True, slots=True)
class Termination:
    device: str
    port: str

    def __str__(self) -> str:
        return f"{self.device}:{self.port}"


@dataclass(frozen=True, slots=True)
class Cable:
    """A designed cable between two ports. ``id`` is assigned by the planner (stable)."""

    a: Termination
    b: Termination
    media: str  # slug in the media catalogue
    label: str = ""
    id: str = ""
    source: Source = NO_SOURCE

    @property
    def key(self) -> tuple[str, str]:
        """Identity independent of end order, for stable IDs."""
        ends = sorted((str(self.a), str(self.b)))
        return (ends[0], ends[1])


@dataclass(frozen=True, slots=True)
class Media:
    """A kind of cable that can be ordered: DAC, AOC, single-mode fibre, Cat6A, power cord."""

    slug: str
    name: str
    media_class: str  # copper | fibre | power (which trays carry it)
    cable_type: str  # NetBox cable type: dac-passive, aoc, smf-os2, mmf-om4, cat6a, power
    lengths_mm: tuple[int, ...]  # orderable lengths, ascending
    sku: str = "{slug}-{length_m}M"  # format string; length_m like 2.5 or 10
    bend_radius_mm: int = 30
    slack_per_end_mm: int = 300
    reach_mm: int = 0  # 0 = no reach limit beyond the longest orderable length
    port_types: tuple[str, ...] = ()  # port types it plugs into (empty = any)
    color: str = ""
    source: Source = NO_SOURCE
    outer_diameter_mm: float = 0.0  # cable jacket diameter, for tray fill (0 = unknown)
    inner_diameter_mm: float = 0.0  # hoses (class fluid): the bore, for flow and fill volume

    @property
    def cross_section_mm2(self) -> float:
        """The cable's cross-section for tray fill: a circle of its outer diameter."""
        return math.pi / 4 * self.outer_diameter_mm**2

    def sku_for(self, length_mm: int) -> str:
        length_m = f"{length_mm / 1000:g}"
        return self.sku.format(slug=self.slug.upper(), length_m=length_m, length_mm=length_mm)


@dataclass(frozen=True, slots=True)
class RobotProfile:
    """A robot or a human crew member: what it can do, carry and reach, and how fast."""

    name: str
    kind: str  # technician | crew | robot (PROFILE_KINDS)
    manufacturer: str = ""
    serial_number: str = ""
    actions: tuple[str, ...] = ()
    payload_kg: float = 0.0
    u_min: int = 1
    u_max: int = 60
    speed_m_s: float = 1.0
    width_mm: int = 600
    action_time_s: Mapping[str, float] = field(default_factory=frozen_map)
    count: int = 1
    source: Source = NO_SOURCE
    vda_version: str = ""  # VDA 5050 version the robot speaks ("": the dispatcher's default)


@dataclass(frozen=True, slots=True)
class Reading:
    """A value a technician records to confirm a test step, with its pass rule: the value must
    lie in ``min``..``max`` (None: unbounded)."""

    name: str  # e.g. start_kpa
    label: str  # what the tablet asks for
    unit: str  # kPa, min, count
    min: float | None = None
    max: float | None = None

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "unit": self.unit,
            "min": self.min,
            "max": self.max,
        }


@dataclass(frozen=True, slots=True)
class FluidRules:
    """The loop tests of a design (fluid side file ``tests:``). Defaults follow common
    practice for technology cooling system (TCS) loops; the design's side file sets the
    vendor's figures (docs/formats.md#fluid-network)."""

    test_kpa: float = 700.0  # test pressure held on the filled loop (gauge)
    hold_min: float = 30.0  # how long it is held
    max_drop_kpa: float = 10.0  # the largest pressure drop over the hold that passes
    max_leaks: int = 0  # wet joints a leak check may find and still pass
    source: Source = NO_SOURCE
    # first power-on of a liquid-cooled device, read on the CDU (0 flow: only recorded)
    min_flow_lpm: float = 0.0  # the rack loop's coolant flow
    max_supply_c: float = 45.0  # ASHRAE W45: the warmest supply water class
    max_return_c: float = 65.0
    max_rise_k: float = 20.0  # return minus supply


@dataclass(frozen=True)  # no slots: cached_property keeps the name indexes
class Design:
    name: str
    revision: str
    floorplan: FloorPlan
    device_types: Mapping[str, DeviceType]
    devices: tuple[Device, ...]
    cables: tuple[Cable, ...]
    media: Mapping[str, Media]
    source: Source = NO_SOURCE
    fluid: FluidRules = FluidRules()

    def device(self, name: str) -> Device | None:
        return self._device_index.get(name)

    def device_index(self) -> dict[str, Device]:
        """Devices by name (a copy: callers may change it)."""
        return dict(self._device_index)

    @cached_property
    def _device_index(self) -> dict[str, Device]:
        return {d.name: d for d in self.devices}


def canonical(design: Design) -> Design:
    """The same design with its racks, devices and cables in one canonical order.

    Planning breaks ties by list order (which technician gets which rack, how steps are
    batched), so a design read from another source (a NetBox export sorted by name, a file
    someone re-ordered) would otherwise give other work orders. Racks and devices are sorted
    by name, cables by their ends (``Cable.key``); nothing else changes.

    >>> a, b = Termination("srv-01", "eno1"), Termination("leaf-a", "swp1")
    >>> fp = FloorPlan("H", ((0, 0), (1, 0), (1, 1)))
    >>> d = Design("d", "r1", fp, {}, (Device("b", "t", "R1", 1), Device("a", "t", "R1", 3)),
    ...            (Cable(a, b, "cat6a"),), {})
    >>> [dev.name for dev in canonical(d).devices]
    ['a', 'b']
    """
    racks = tuple(sorted(design.floorplan.racks, key=lambda r: r.name))
    floorplan = design.floorplan
    if racks != floorplan.racks:
        floorplan = replace(floorplan, racks=racks)
    return replace(
        design,
        floorplan=floorplan,
        devices=tuple(sorted(design.devices, key=lambda d: d.name)),
        cables=tuple(
            sorted(design.cables, key=lambda c: (c.key, str(c.a), c.media, c.label, c.id))
        ),
    )
