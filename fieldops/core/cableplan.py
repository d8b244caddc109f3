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


@dataclass(frozen=True)
class CablePlan:
    runs: tuple[CableRun, ...]
    problems: tuple[ReachProblem, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def by_id(self) -> dict[str, CableRun]:
        return {r.id: r for r in self.runs}
