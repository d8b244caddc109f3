"""The cable plan: every designed cable routed, sized, identified and labelled.

Shared by planning (work orders), printing (cut sheets, labels), robots and the web app.
Built by :func:`fieldops.core.routing.build_cable_plan`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Point3 = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class CableEnd:
    device: str
    port: str
    rack: str
    location_id: str  # TIA-606 tile ID of the rack, e.g. 1A-AJ05
    u: int | None  # the device's lowest U (None for zero-U devices)
    face: str  # rack face the port is on: front | rear
    label: str  # label text printed for this end (upper case)


@dataclass(frozen=True, slots=True)
class CableRun:
    id: str  # stable cable ID, e.g. C-6BMR43E27H (see fieldops.core.labels)
    a: CableEnd
    b: CableEnd
    media: str  # media slug
    media_class: str
    route_mm: float  # routed length before slack and bend allowance
    length_mm: float  # required length: route + transitions + bends + slack
    ordered_mm: int  # next orderable length (0 when nothing orderable reaches)
    sku: str
    tray_path: tuple[str, ...] = ()  # tray names in order; () for in-rack / rack-to-rack runs
    polyline: tuple[Point3, ...] = ()  # 3-D route in mm, A end to B end
    bends: int = 0
    qr_payload: str = ""  # what the label's QR code encodes (cable ID first)


@dataclass(frozen=True, slots=True)
class ReachProblem:
    cable_id: str
    media: str
    length_mm: float
    reach_mm: int
    suggestion: str  # a media slug that reaches, or ""
    message: str


@dataclass(frozen=True, slots=True)
class TraySegment:
    """How full one tray segment is, at its fullest cross-section (see fieldops.core.capacity).

    Segment ``k`` (1-based) of a tray runs from its ``points[k-1]`` to ``points[k]``.
    """

    tray: str
    segment: int
    start: tuple[int, int]
    end: tuple[int, int]
    elevation_mm: int
    length_mm: float
    media_classes: tuple[str, ...]  # classes of the cables anywhere on the segment
    cables: int  # cables in the fullest cross-section
    cable_area_mm2: float  # their cross-sections summed
    usable_area_mm2: int  # the tray's usable cross-section (before the fill ratio)
    max_fill_ratio: float
    fill_ratio: float  # cable_area_mm2 / usable_area_mm2
    contributors: tuple[tuple[str, int, float], ...] = ()  # (media, cables, mm²), biggest first
    together: tuple[tuple[str, str], ...] = ()  # classes kept apart by the rules that share it
    unsized: tuple[str, ...] = ()  # media on it with no outer_diameter_mm (not counted)

    @property
    def name(self) -> str:
        """``TRAY-A/2``: the tray and the segment number."""
        return f"{self.tray}/{self.segment}"

    @property
    def over(self) -> bool:
        """Over the fill limit (the planner's test: more than a micrometre squared over)."""
        return self.cable_area_mm2 > self.usable_area_mm2 * self.max_fill_ratio + 1e-6


@dataclass(frozen=True, slots=True)
class Diversion:
    """A cable routed off its shortest tray path because a segment on it was full."""

    cable_id: str
    shortest_mm: float  # its route on the shortest path (before slack and bends)
    route_mm: float  # the route it takes


@dataclass(frozen=True)
class CablePlan:
    runs: tuple[CableRun, ...]
    problems: tuple[ReachProblem, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    tray_segments: tuple[TraySegment, ...] = ()  # every tray segment's fill, floor-plan order
    diversions: tuple[Diversion, ...] = ()  # by cable ID

    def by_id(self) -> dict[str, CableRun]:
        return {r.id: r for r in self.runs}
