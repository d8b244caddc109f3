"""What the web app needs of a design, as plain JSON stored with the plan revision: the hall
outline, obstacles, racks with footprints and their devices (for rack elevations), waypoints,
and each step's walking path from the step its assignee did before.

Integer millimetres throughout. Built once when a plan is loaded, so the web app never needs
the design files or the walking graph at request time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from fieldops.core.model import Design
from fieldops.core.workorder import Step

Point = tuple[int, int]


def build_floor(design: Design) -> dict:
    fp = design.floorplan
    dt = design.device_types
    devices_by_rack: dict[str, list[dict]] = {}
    for d in design.devices:
        t = dt.get(d.device_type)
        devices_by_rack.setdefault(d.rack, []).append(
            {
                "name": d.name,
                "position": d.position,
                "u_height": max(1, round(t.u_height)) if t and d.position is not None else 0,
                "face": d.face,
                "role": d.role,
                "full_depth": bool(t.is_full_depth) if t else True,
            }
        )
    racks = []
    for r in sorted(fp.racks, key=lambda r: r.name):
        rt = fp.rack_types.get(r.rack_type)
        if rt is None:
            continue
        racks.append(
            {
                "name": r.name,
                "row": r.row,
                "location_id": fp.grid.location_id(*r.position),
                "position": [int(r.position[0]), int(r.position[1])],
                "footprint": [[round(x), round(y)] for x, y in r.footprint(rt)],
                "front": [round(v, 6) for v in r.front_normal()],
                "u_height": rt.u_height,
                "devices": sorted(
                    devices_by_rack.get(r.name, []), key=lambda d: (d["position"] or 0, d["name"])
                ),
            }
        )
    return {
        "hall": fp.name,
        "source": "design",  # a real hall: the web app may build a walking graph from it
        "outline": [[int(x), int(y)] for x, y in fp.outline],
        "obstacles": [
            {"name": o.name, "kind": o.kind, "polygon": [[int(x), int(y)] for x, y in o.polygon]}
            for o in fp.obstacles
        ],
        "waypoints": [
            {"name": w.name, "kind": w.kind, "position": [int(w.position[0]), int(w.position[1])]}
            for w in fp.waypoints
        ],
        "racks": racks,
    }


def floor_from_steps(hall: str, steps: Iterable[Step]) -> dict:
    """A minimal floor when no design is at hand: a box around the steps' stand-off points and
    one 600 mm square per rack named by the steps (no devices, no obstacles)."""
    pts: dict[str, list[Point]] = {}
    for s in steps:
        if s.location.rack:
            pts.setdefault(s.location.rack, []).append((s.location.x_mm, s.location.y_mm))
    racks = []
    for name, ps in sorted(pts.items()):
        x = round(sum(p[0] for p in ps) / len(ps))
        y = round(sum(p[1] for p in ps) / len(ps))
        racks.append(
            {
                "name": name,
                "row": "",
                "location_id": "",
                "position": [x, y],
                "footprint": [
                    [x - 300, y - 300],
                    [x + 300, y - 300],
                    [x + 300, y + 300],
                    [x - 300, y + 300],
                ],
                "front": [0.0, -1.0],
                "u_height": 42,
                "devices": [],
            }
        )
    xs = [p[0] for ps in pts.values() for p in ps] or [0]
    ys = [p[1] for ps in pts.values() for p in ps] or [0]
    x0, y0, x1, y1 = min(xs) - 2000, min(ys) - 2000, max(xs) + 2000, max(ys) + 2000
    return {
        "hall": hall,
        "outline": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
        "obstacles": [],
        "waypoints": [],
        "racks": racks,
    }


def straight(a: Point, b: Point) -> list[list[int]]:
    return [[int(a[0]), int(a[1])], [int(b[0]), int(b[1])]]


def walker_for(design: Design | None) -> Callable[[Point, Point], list[list[int]]]:
    """``walk(a, b) -> [[x, y], ...]``: the walking graph's path when fieldops.core.walking is
    available for this design, else a straight segment."""
    if design is None:
        return straight
    try:
        from fieldops.core.walking import WalkGraph  # type: ignore[import-not-found]

        graph = WalkGraph(design)
    except Exception:  # noqa: BLE001 - walking module absent or the hall is not walkable
        return straight

    def walk(a: Point, b: Point) -> list[list[int]]:
        try:
            result = graph.walk(a, b)
        except Exception:  # noqa: BLE001 - unreachable point: show the straight line
            return straight(a, b)
        points = result
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], int | float):
            points = result[0]  # WalkGraph.walk -> (points, length_mm)
        try:
            out = [[round(p[0]), round(p[1])] for p in points]
        except (TypeError, IndexError):
            return straight(a, b)
        return out if len(out) >= 2 else straight(a, b)

    return walk


def design_of_floor(floor: dict) -> Design:
    """A design holding just what walking needs, rebuilt from a stored floor: the hall outline
    and every rack footprint and obstacle as a blocker (WalkGraph treats both alike)."""
    from fieldops.core.model import FloorPlan, Obstacle, Waypoint

    def poly(points) -> tuple[tuple[int, int], ...]:
        return tuple((int(p[0]), int(p[1])) for p in points)

    blockers = [Obstacle(o["name"], o["kind"], poly(o["polygon"])) for o in floor["obstacles"]]
    blockers += [Obstacle(r["name"], "rack", poly(r["footprint"])) for r in floor["racks"]]
    fp = FloorPlan(
        name=str(floor.get("hall", "")),
        outline=poly(floor["outline"]),
        obstacles=tuple(blockers),
        waypoints=tuple(
            Waypoint(w["name"], w["kind"], tuple(w["position"])) for w in floor["waypoints"]
        ),
    )
    return Design(
        name=fp.name,
        revision="",
        floorplan=fp,
        device_types={},
        devices=(),
        cables=(),
        media={},
    )


def floor_walker(floor: dict) -> Callable[[Point, Point], list[list[int]]]:
    """``walk(a, b)`` on a stored floor: the walking graph when the floor came from a design
    (``fieldops load --design``), else straight segments (a floor guessed from the steps has
    made-up rack boxes around the stand-off points: nothing to walk around)."""
    if floor.get("source") != "design":
        return straight
    try:
        design = design_of_floor(floor)
    except (KeyError, TypeError, ValueError, IndexError):
        return straight
    return walker_for(design)


def start_point(floor: dict) -> Point | None:
    """Where a shift starts walking: the staging area, else a door."""
    for kind in ("staging", "door"):
        for w in floor.get("waypoints", []):
            if w["kind"] == kind:
                return (w["position"][0], w["position"][1])
    return None
