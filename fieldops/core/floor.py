"""What the floor looks like to the people who work on it, as plain data carried in
``workorders.json``: the hall outline, obstacles, doors and staging, trays, and racks with
footprints and their devices. Pure; integer millimetres.

The plan builds it once (:func:`build_floor`); the tablet, the lead's map and the PDFs draw
from it and never need the design files or a walking graph.
"""

from __future__ import annotations

import math

from fieldops.core.model import Design, FloorPlan, Obstacle, Rack, RackType, Waypoint

Point = tuple[int, int]


def build_floor(design: Design) -> dict:
    """The floor as plain JSON data, built once by the plan: hall outline, obstacles,
    waypoints, trays, and racks with their footprints and devices (for rack elevations)."""
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
        "trays": [
            {
                "name": t.name,
                "media_classes": list(t.media_classes),
                "elevation_mm": int(t.elevation_mm),
                "width_mm": int(t.width_mm),
                "points": [[int(x), int(y)] for x, y in t.points],
            }
            for t in fp.trays
        ],
    }


def start_point(floor: dict) -> Point | None:
    """Where a shift starts walking: the staging area, else a door, else the loading dock."""
    for kind in ("staging", "door", "dock"):
        for w in sorted(floor.get("waypoints", []), key=lambda w: w["name"]):
            if w["kind"] == kind:
                return (w["position"][0], w["position"][1])
    return None


def design_of_floor(floor: dict) -> Design:
    """A geometry-only design rebuilt from a carried floor (outline, obstacles, waypoints,
    racks from their footprints and front normals), enough to walk on: the web's robot
    bridge plans robot legs on the floor the plan carried, without the design files.
    Raises ``ValueError`` when the floor holds no hall outline."""
    outline = tuple((int(x), int(y)) for x, y in floor.get("outline") or ())
    if len(outline) < 3:
        raise ValueError("the floor carries no hall outline")
    racks, rack_types = [], {}
    for r in floor.get("racks") or ():
        corners = r["footprint"]
        nx, ny = r["front"]
        slug = f"floor:{r['name']}"
        rack_types[slug] = RackType(
            slug,
            width_mm=round(math.dist(corners[1], corners[2])),
            depth_mm=round(math.dist(corners[0], corners[1])),
            u_height=int(r.get("u_height") or 42),
        )
        racks.append(
            Rack(
                r["name"],
                slug,
                (float(r["position"][0]), float(r["position"][1])),
                rotation_deg=math.degrees(math.atan2(nx, -ny)),
                row=r.get("row", ""),
            )
        )
    plan = FloorPlan(
        name=floor.get("hall", ""),
        outline=outline,
        obstacles=tuple(
            Obstacle(o["name"], o["kind"], tuple((x, y) for x, y in o["polygon"]))
            for o in floor.get("obstacles") or ()
        ),
        waypoints=tuple(
            Waypoint(w["name"], w["kind"], (w["position"][0], w["position"][1]))
            for w in floor.get("waypoints") or ()
        ),
        rack_types=rack_types,
        racks=tuple(racks),
    )
    return Design(floor.get("hall", ""), "", plan, {}, (), (), {})
