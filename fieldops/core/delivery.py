"""Delivery from the dock: the way every rack (and every rigged device) is brought to its
position, and what stops it. Pure.

A rack travels on a pallet jack or rack mover lengthwise (its narrow side leading) from the
floor plan's dock waypoint to the aisle in front of its position, turns there, and rolls into
its slot. :class:`Deliveries` finds that way and checks:

* **aisle width** — a path exists on the walking graph for a load as wide as the rack's narrow
  side plus ``DELIVERY_MARGIN_MM`` each side (handles, steering);
* **turning** — somewhere on the line out from the rack's front, a circle of the rack's
  diagonal plus the margins is clear of other racks, obstacles and walls (it pivots there);
* **doors** — a door (or the dock) with a declared ``width_mm`` / ``height_mm`` that the path
  passes within ``DOOR_NEAR_MM`` of lets the load through, with ``DOOR_SLACK_MM`` each side and
  the mover's ``MOVER_LIFT_MM``;
* **floor load in transit** — the load's weight spread over its footprint is within the floor
  plan's ``floor_load_kg_m2`` (a rigged device such as a 900 kg CDU is moved on the rack's
  footprint too); :func:`check_floor_load` checks each rack installed.

Paths and problems are decided here once; the rack step carries the path (``action
["delivery"]``) and the problems as text, which :mod:`fieldops.core.feasibility` turns into
validate and plan problems at the rack's line. Turning is checked where the rack turns into
its slot, not at every corner on the way (cross aisles are assumed wide enough).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, Point
from shapely.ops import nearest_points

from fieldops.core.model import FRONT, Design, Rack
from fieldops.core.problems import ERROR, Problem
from fieldops.core.rackloads import rack_loads
from fieldops.core.walking import (
    FootprintWalks,
    WalkError,
    WalkGraph,
    robot_clearance_mm,
    walkable_floor,
)

DELIVERY_MARGIN_MM = 100  # each side of a load on a mover: handles, steering error
DOOR_SLACK_MM = 50  # each side of a load passing a door
MOVER_LIFT_MM = 100  # a pallet jack or rack mover lifts the load this far
DOOR_NEAR_MM = 1000  # a door this close to the path is passed through
TURN_RAY_MM = 6000  # how far out from a rack's front a turning place is looked for

XY = tuple[float, float]


@dataclass(frozen=True)
class Delivery:
    """A load's way from the dock to the aisle in front of its rack, and what stops it."""

    item: str  # the rack, or a rigged device
    rack: str
    dock: str
    path: tuple[XY, ...]
    length_mm: float
    weight_kg: float
    problems: tuple[str, ...]

    def action(self) -> dict:
        """What a step carries: the path (mm, floor frame), its length, the load, problems."""
        return {
            "from": self.dock,
            "path": [[round(x), round(y)] for x, y in self.path],
            "length_mm": round(self.length_mm),
            "weight_kg": self.weight_kg,
            "problems": list(self.problems),
        }

    def text(self, grid) -> str:
        """One sentence for the step's instruction: the way as floor tiles."""
        if not self.path:
            return f"No delivery path from {self.dock}: see the plan's problems. "
        tiles = [grid.location_id(*p) for p in self.path]
        return (
            f"From {self.dock} ({self.length_mm / 1000:,.0f} m): "
            + " > ".join(t for i, t in enumerate(tiles) if i == 0 or t != tiles[i - 1])
            + ". "
        )


class Deliveries:
    """Delivery paths of one design, each load size's floor built once."""

    def __init__(self, design: Design):
        self.design = design
        fp = design.floorplan
        docks = sorted((w for w in fp.waypoints if w.kind == "dock"), key=lambda w: w.name)
        self.dock = docks[0] if docks else None
        self._lanes = FootprintWalks(design, margin_mm=DELIVERY_MARGIN_MM)
        self._turns: dict[int, object] = {}
        self._routes: dict[str, tuple[tuple[XY, ...], float, tuple[str, ...]]] = {}

    def rack(self, rack: Rack, weight_kg: float, item: str = "") -> Delivery | None:
        """The delivery of ``rack`` (or of ``item``, a rigged device going into it) weighing
        ``weight_kg``; None when the floor plan has no dock or the rack type is unknown."""
        rt = self.design.floorplan.rack_types.get(rack.rack_type)
        if self.dock is None or rt is None:
            return None
        what = f"'{item}'" if item else f"rack '{rack.name}'"
        hit = self._routes.get(rack.name)
        if hit is None:
            hit = self._routes[rack.name] = self._route(rack, rt)
        path, length, route_problems = hit
        problems = [p.replace("{what}", what) for p in route_problems]
        problems += self._floor_load(what, rt, weight_kg, path)
        return Delivery(
            item or rack.name,
            rack.name,
            self.dock.name,
            path,
            length,
            float(weight_kg),
            tuple(problems),
        )

    # ------------------------------------------------------------ the way

    def _route(self, rack: Rack, rt):
        narrow = min(rt.width_mm, rt.depth_mm)
        lane = robot_clearance_mm(narrow, DELIVERY_MARGIN_MM)  # the lane graph's clearance
        dock = (float(self.dock.position[0]), float(self.dock.position[1]))
        try:
            graph = self._lanes.graph(narrow)
        except WalkError:
            return (), 0.0, (f"{{what}} cannot be brought in: no floor is {lane} mm wide",)
        problems = []
        turn_at = self._turn_in(rack, rt, graph, lane)
        if turn_at is None:
            diameter = round(math.hypot(rt.width_mm, rt.depth_mm) + 2 * DELIVERY_MARGIN_MM)
            problems.append(
                f"{{what}} cannot be turned into its slot: it pivots in a {diameter:,} mm circle "
                f"(its diagonal + 2 x {DELIVERY_MARGIN_MM} mm) and the aisle in front of rack "
                f"'{rack.name}' has no such clear place"
            )
        goal = turn_at or graph.standoff(rack.name, FRONT)[:2]
        if not graph.can_stand(dock):
            return (
                (),
                0.0,
                (f"{{what}} cannot leave {self.dock.name}: no {lane} mm-wide floor there",),
            )
        try:
            path, length = graph.walk(dock, goal)
        except WalkError:
            return (
                (),
                0.0,
                (
                    f"{{what}} cannot be brought from {self.dock.name} to rack '{rack.name}': no "
                    f"aisle at least {lane:,} mm wide ({narrow:,} mm + 2 x {DELIVERY_MARGIN_MM} mm) "
                    "reaches its front",
                    *problems,
                ),
            )
        problems += self._doors(path, narrow, rt.outer_height_mm)
        return tuple(path), float(length), tuple(problems)

    def _turn_in(self, rack: Rack, rt, graph: WalkGraph, lane: int) -> XY | None:
        """The point nearest the rack's front, on the line out from it, where the rack can
        pivot and then roll straight in (None when there is none within ``TURN_RAY_MM``)."""
        clearance = round(math.hypot(rt.width_mm, rt.depth_mm) + 2 * DELIVERY_MARGIN_MM)
        free = self._turns.get(clearance)
        if free is None:
            try:
                free = walkable_floor(self.design, clearance)[0]
                shapely.prepare(free)
            except WalkError:
                free = False
            self._turns[clearance] = free
        if free is False:
            return None
        face = rack.face_point(rt, FRONT, 0.0)
        ray = LineString([face, rack.face_point(rt, FRONT, TURN_RAY_MM)])
        on = ray.intersection(free)
        if on.is_empty:
            return None
        near = nearest_points(on, Point(face))[0]
        turn = (round(near.x, 1), round(near.y, 1))
        # the roll-in: from there straight to the slot, in a lane as wide as the load
        if not graph.covers([rack.face_point(rt, FRONT, lane / 2 + 1), turn]):
            return None
        return turn

    def _doors(self, path, narrow: int, height: int) -> list[str]:
        line = LineString(path) if len(path) > 1 else Point(path[0])
        out = []
        for wp in self.design.floorplan.waypoints:
            if not (wp.width_mm or wp.height_mm) or wp.kind not in ("door", "dock"):
                continue
            if wp is not self.dock and line.distance(Point(wp.position)) > DOOR_NEAR_MM:
                continue
            need_w = narrow + 2 * DOOR_SLACK_MM
            if wp.width_mm and need_w > wp.width_mm:
                out.append(
                    f"{{what}} ({narrow:,} mm wide) does not pass {wp.kind} '{wp.name}' on its way: "
                    f"{wp.width_mm:,} mm clear opening, {need_w:,} mm needed"
                )
            need_h = height + MOVER_LIFT_MM
            if wp.height_mm and need_h > wp.height_mm:
                out.append(
                    f"{{what}} ({height:,} mm tall, {need_h:,} mm on its mover) does not pass under "
                    f"{wp.kind} '{wp.name}' ({wp.height_mm:,} mm)"
                )
        return out

    def _floor_load(self, what: str, rt, weight_kg: float, path) -> list[str]:
        rating = self.design.floorplan.floor_load_kg_m2
        area = rt.width_mm * rt.depth_mm / 1e6
        if not rating or not weight_kg or weight_kg / area <= rating:
            return []
        grid = self.design.floorplan.grid
        first = ""
        if len(path) > 1:
            a, b = path[0], path[1]
            first = f" from the first segment ({grid.location_id(*a)} -> {grid.location_id(*b)}) on"
        return [
            f"{what} in transit: {weight_kg:,.0f} kg over its {area:.2f} m2 footprint is "
            f"{weight_kg / area:,.0f} kg/m2, over the floor's {rating:,.0f} kg/m2{first}; "
            "use load-spreading plates along the way"
        ]


def check_floor_load(design: Design, ctx=None) -> list[Problem]:
    """A validate rule: each rack installed (its own weight and its devices') spread over its
    footprint is within the floor plan's ``floor_load_kg_m2``."""
    fp = design.floorplan
    if not fp.floor_load_kg_m2:
        return []
    loads = rack_loads(design)
    out = []
    for rack in fp.racks:
        rt = fp.rack_types.get(rack.rack_type)
        if rt is None:
            continue
        load = loads.get(rack.name)
        total = rt.weight_kg + (load.kg if load else 0.0)
        area = rt.width_mm * rt.depth_mm / 1e6
        if total / area > fp.floor_load_kg_m2:
            out.append(
                Problem.at(
                    rack.source,
                    f"rack '{rack.name}' installed: {total:,.0f} kg over {area:.2f} m2 is "
                    f"{total / area:,.0f} kg/m2, over the floor's {fp.floor_load_kg_m2:,.0f} "
                    "kg/m2; spread it (plinth or spreader plates) or lighten it",
                    severity=ERROR,
                    rule="floor-load",
                )
            )
    return out


def delivery_problems(design: Design, steps) -> list[Problem]:
    """The problems the steps carry in ``action["delivery"]``, at their rack's line."""
    racks = {r.name: r for r in design.floorplan.racks}
    out = []
    for step in steps:
        action = step.action if isinstance(step.action, dict) else {}
        delivery = action.get("delivery")
        rack = racks.get(step.location.rack)
        if not delivery or rack is None:
            continue
        out.extend(
            Problem.at(rack.source, msg, severity=ERROR, rule="delivery")
            for msg in delivery.get("problems", ())
        )
    return out
