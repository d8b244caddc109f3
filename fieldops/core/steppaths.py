"""Each step's walking path, from the walking graph: ``build_step_paths(design, work, walk)``. Pure.

The cut sheet's floor map draws the path that reaches every step; it takes them as a mapping
``step ID -> polyline (mm)`` and never computes one. Until workorders.json carries each
step's own path, the callers (``fieldops print``, ``fieldops plan --pdf``) build the mapping
here, the way the work planner walks: a work order starts at the team's start point (the
staging area, else a door, else the dock), then each step reaches its location and, for a
cable, its other end's stand-off.
"""

from __future__ import annotations

from fieldops.core.problems import DesignError
from fieldops.core.workplan import start_point

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


def build_step_paths(design, work, walk) -> dict[str, tuple[Point, ...]]:
    """``{step ID: polyline in mm}``: the walk from where the previous step of the same work
    order ended (the start point for its first step) through the step's stops. A leg with
    no walkable path is drawn straight.

    >>> build_step_paths(design, work, walk)["cable:C-6BMR43E27H"][0]  # doctest: +SKIP
    (3300.0, 4200.0)
    """
    start = start_point(design, walk)
    index = work.step_index()
    out: dict[str, tuple[Point, ...]] = {}
    for wo in work.workorders:
        here = start[1] if start else None
        for sid in wo.steps:
            step = index.get(sid)
            if step is None:
                continue
            line: list[Point] = [here] if here is not None else []
            for xy in step_visits(step):
                if here is None or here == xy:
                    leg: tuple[Point, ...] = (xy,)
                else:
                    try:
                        leg = tuple((float(p[0]), float(p[1])) for p in walk.walk(here, xy)[0])
                    except DesignError:  # no walkable path: a straight leg, as the map says
                        leg = (here, xy)
                line.extend(leg[1:] if line and leg and line[-1] == leg[0] else leg)
                here = xy
            if len(line) >= 2:
                out[sid] = tuple(line)
    return out
