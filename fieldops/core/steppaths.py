"""What a step visits, the walks the plan carries and how full the trays are, for the cut
sheets. Pure.

The cut sheet's floor map draws the walks that reach the steps; it takes them as a mapping
``step ID -> polyline (mm)`` and never computes one: :func:`carried_paths` reads the walks the
plan decided (``Step.walk``, carried in workorders.json), the same ones the tablet draws.
"""

from __future__ import annotations

Point = tuple[float, float]


def step_visits(step) -> list[Point]:
    """The floor points a walker reaches doing ``step``: its location (unless it has no floor
    pose, (0, 0)), then for a cable the stand-off of its other end."""
    out: list[Point] = []
    loc = step.location
    if (loc.x_mm, loc.y_mm) != (0, 0):
        out.append((float(loc.x_mm), float(loc.y_mm)))
    if step.kind == "run_cable" and isinstance(step.action, dict):
        for key in ("a", "b"):
            end = step.action.get(key) or {}
            x, y = end.get("x_mm"), end.get("y_mm")
            if isinstance(x, int | float) and isinstance(y, int | float) and (x, y) != (0, 0):
                xy = (float(x), float(y))
                if xy not in out:
                    out.append(xy)
    return out


def carried_paths(work) -> dict[str, tuple[Point, ...]]:
    """``{step ID: polyline in mm}``: each step's walk as the plan decided it, from where its
    assignee was before it, through its place and on to where it ends (a cable's far end);
    steps done where the assignee already stands have none."""
    out: dict[str, tuple[Point, ...]] = {}
    for s in work.steps:
        pts: list = []
        for w in (s.walk, s.walk_on):
            if w is not None:
                pts += [p for p in w.path_mm if not pts or tuple(p) != tuple(pts[-1])]
        if len(pts) >= 2:
            out[s.id] = tuple((float(x), float(y)) for x, y in pts)
    return out


def tray_fill_of(cable_plan) -> dict[tuple[str, int], float]:
    """``{(tray, segment index from 0): fill as a share of its limit}`` (1.0: at the limit)
    for the cut sheets' floor map, from the fill routing computed."""
    return {
        (seg.tray, seg.segment - 1): seg.fill_ratio / seg.max_fill_ratio
        for seg in getattr(cable_plan, "tray_segments", ())
        if seg.max_fill_ratio > 0
    }
