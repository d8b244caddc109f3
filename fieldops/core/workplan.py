"""Work-order planning: from a validated design and its cable plan to scheduled work. Pure.

:func:`build_work_plan` runs four stages, each reported through ``progress``:

1. **steps** (:mod:`fieldops.core.steps`): every phase as located steps with stable IDs;
2. **walking**: one walking-distance matrix over every stand-off point used (and the start
   point, the staging area), from the :class:`~fieldops.core.walking.WalkGraph`;
3. **ordering** (:mod:`fieldops.core.ordering`): a dependency-respecting order that tours each
   area's racks per phase, never longer to walk than the design order;
4. **scheduling** (:mod:`fieldops.core.schedule`): technicians and robots by capability,
   travel and standard times, cut into shift-sized work orders per member and area, with the
   makespan and the critical path. Technicians' confirmations of robot+technician steps are in
   ``WorkPlan.stats["confirmations"]`` (``step``, ``technician``, ``start_s``, ``end_s``,
   ``order``, ``walk``).
5. **walks**: each step gets its place in its assignee's sequence (``order``), its work order
   and the walking path from where the assignee was before it (``walk``), decided here once
   and carried in workorders.json to the tablet, the PDFs and the robots.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import replace

import numpy as np

from fieldops.core.cableplan import CablePlan
from fieldops.core.feasibility import check_team, unreachable_steps
from fieldops.core.model import Design, RobotProfile
from fieldops.core.ordering import (
    dependency_lists,
    path_length,
    rank_steps,
    topological_order,
    visits,
)
from fieldops.core.problems import DesignError
from fieldops.core.schedule import (
    SHIFT_S,
    build_team,
    critical_path,
    cut_workorders,
    schedule_steps,
)
from fieldops.core.steps import build_steps, remediation_step
from fieldops.core.workorder import Step, Walk, WorkOrder, WorkPlan

__all__ = ["build_work_plan", "remediation_step", "areas", "start_point", "stops_for"]

ZONE_SIZE = 20  # racks per zone when the floor plan declares no rows


def areas(design: Design) -> dict[str, str]:
    """rack name -> area: its row, else a zone of up to 20 neighbouring racks (``Z01``...)."""
    out: dict[str, str] = {}
    loose = []
    for r in design.floorplan.racks:
        if r.row:
            out[r.name] = r.row
        else:
            loose.append(r)
    loose.sort(key=lambda r: (round(r.position[1] / 1000), r.position[0], r.name))
    for k, r in enumerate(loose):
        out[r.name] = f"Z{k // ZONE_SIZE + 1:02d}"
    return out


def start_point(design: Design, walk) -> tuple[str, tuple[float, float]] | None:
    """Where the team starts: the staging area, else a door, else the loading dock."""
    rank = {"staging": 0, "door": 1, "dock": 2}
    wps = sorted(design.floorplan.waypoints, key=lambda w: (rank.get(w.kind, 3), w.name))
    if not wps:
        return None
    xy = walk.waypoint(wps[0].name)
    return wps[0].name, (float(xy[0]), float(xy[1]))


def stops_for(
    steps: Sequence[Step], start_xy: tuple[float, float] | None
) -> tuple[list[tuple[int, int]], list[int], list[int], int]:
    """Unique floor points of the steps (and the start): (points, stop of each step, far-end
    stop of each step or -1, start stop)."""
    points: dict[tuple[int, int], int] = {}

    def stop(xy: tuple[int, int]) -> int:
        k = points.get(xy)
        if k is None:
            k = points[xy] = len(points)
        return k

    start = stop((int(round(start_xy[0])), int(round(start_xy[1])))) if start_xy is not None else -1
    stop_of: list[int] = []
    end_of: list[int] = []
    for s in steps:
        here = (s.location.x_mm, s.location.y_mm)
        stop_of.append(stop(here))
        far = -1
        if s.kind == "run_cable" and isinstance(s.action, dict):
            for key in ("a", "b"):
                e = s.action.get(key) or {}
                xy = (e.get("x_mm"), e.get("y_mm"))
                if isinstance(xy[0], int) and isinstance(xy[1], int) and xy != here:
                    far = stop(xy)
                    break
        end_of.append(far)
    if start < 0:
        start = stop_of[0] if stop_of else stop((0, 0))
    return list(points), stop_of, end_of, start


def build_work_plan(
    design: Design,
    cable_plan: CablePlan,
    team: Sequence[RobotProfile],
    walk,
    *,
    progress: Callable[[str], None] | None = None,
    shift_s: int = SHIFT_S,
    optimise: bool = True,
) -> WorkPlan:
    """Steps for every phase, ordered to save walking, scheduled on crews and robots.

    Parameters
    ----------
    design, cable_plan
        A validated design and its routed cables.
    team : RobotProfiles with ``count``
        Technicians and robots; ``count`` members of each (``technician-1``, ``lift-robot-1``...).
    walk : WalkGraph
        ``standoff(rack, face)``, ``waypoint(name)`` and ``distance_matrix(points)``.
    progress : callable(str), optional
        Told when each stage starts and how scheduling advances.
    shift_s : int
        Shift length in seconds (steps never straddle a shift; work orders are cut per shift).
    optimise : bool
        ``False`` keeps the design order (the naive baseline the optimised order is compared to).

    Raises
    ------
    DesignError
        A crew of zero, a step nobody in the team can do (naming the step and why), a device no
        lift can carry, a dependency cycle, a stand-off point nobody can walk to.

    Examples
    --------
    >>> work = build_work_plan(design, cable_plan, team, WalkGraph(design))
    >>> work.makespan_s, work.critical_path[:2]
    (123456.0, ('rack:A01', 'rails:srv-01'))
    """
    say = progress or (lambda msg: None)
    team = [p for p in team]
    build_team(team)  # a crew of zero fails before any work
    fp = design.floorplan
    say(
        f"work orders: generating steps for {len(fp.racks):,} racks, {len(design.devices):,} devices, {len(cable_plan.runs):,} cables"
    )
    with _gc_paused():
        return _plan(design, cable_plan, team, walk, say, shift_s, optimise)


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector: planning allocates millions of acyclic objects and
    its generation-2 passes grow with the heap (a third of the run time at 100k cables).

    Afterwards the survivors (the plan) go straight to the oldest generation: left in the
    youngest, the first collection after re-enabling would walk every one of them (~0.4 s at
    100k steps) only to promote them. Skipped when the host process froze objects itself
    (``gc.freeze()`` before forking workers), since unfreezing would undo that.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _plan(design, cable_plan, team, walk, say, shift_s, optimise) -> WorkPlan:
    steps = build_steps(design, cable_plan, walk, team)
    refused = check_team(design, team, cable_plan, walk, steps=steps)  # what validate reports
    if refused:
        raise DesignError(refused)
    _, preds = dependency_lists(steps)

    start = start_point(design, walk)
    points, stop_of, end_of, start_stop = stops_for(steps, start[1] if start else None)
    say(f"work orders: walking distances between {len(points):,} stand-off points")
    dist = np.asarray(walk.distance_matrix(points), dtype=float)
    _check_reachable(
        steps, dist, stop_of, end_of, start_stop, start[0] if start else "the first rack"
    )

    area_of = areas(design)
    say(f"work orders: ordering {len(steps):,} steps over {len(set(area_of.values())):,} areas")
    naive = list(range(len(steps)))
    design_walk = path_length(dist, [start_stop, *visits(steps, stop_of, end_of)])
    order = (
        rank_steps(steps, preds, stop_of, dist, area_of, start_stop)
        if optimise
        else topological_order(preds, steps=steps)
    )
    ordered = [steps[i] for i in order]
    o_stop = [stop_of[i] for i in order]
    o_end = [end_of[i] for i in order]
    order_walk = path_length(dist, [start_stop, *visits(ordered, o_stop, o_end)])
    if order_walk > design_walk:  # never worse than the design order (a topological order too)
        order, ordered, o_stop, o_end, order_walk = naive, steps, stop_of, end_of, design_walk
    at = [0] * len(order)
    for k, i in enumerate(order):
        at[i] = k
    o_preds = [[at[j] for j in preds[i]] for i in order]

    say(f"work orders: scheduling {sum(p.count for p in team):,} team members")
    sched = schedule_steps(
        ordered, team, dist, o_stop, o_end, start_stop, preds=o_preds, shift_s=shift_s, progress=say
    )
    chain, chain_s = critical_path(sched.steps, o_preds)
    workorders = cut_workorders(sched.steps, sched.sequences, sched.members, area_of, shift_s)
    say(f"work orders: {len(workorders):,} work orders, makespan {sched.makespan_s / 3600:.1f} h")
    say("work orders: walking paths")
    carried, checks = carry_walks(sched, workorders, points, walk)
    return WorkPlan(
        steps=tuple(carried),
        workorders=tuple(workorders),
        team=tuple(sched.members),
        makespan_s=float(sched.makespan_s),
        critical_path=tuple(chain),
        walking_m={name: round(mm / 1000.0, 1) for name, mm in sched.walking_mm.items()},
        stats={
            "critical_path_s": float(chain_s),
            "shift_s": int(shift_s),
            "order_walking_m": round(order_walk / 1000.0, 1),
            "design_order_walking_m": round(design_walk / 1000.0, 1),
            "batches": int(sched.stats.get("tasks", 0)),
            "start": start[0] if start else "",
            "confirmations": [
                {
                    "step": sched.steps[i].id,
                    "technician": who,
                    "start_s": int(t0),
                    "end_s": int(t1),
                    "order": checks[(i, who)][0],
                    "walk": None if checks[(i, who)][1] is None else checks[(i, who)][1].to_dict(),
                    "walk_on": None
                    if checks[(i, who)][2] is None
                    else checks[(i, who)][2].to_dict(),
                }
                for i, who, t0, t1 in sched.confirmations
            ],
        },
    )


def carry_walks(
    sched, workorders: Sequence[WorkOrder], points: Sequence[tuple[int, int]], walk
) -> tuple[list[Step], dict[tuple[int, str], tuple[int, Walk | None, Walk | None]]]:
    """Each step with its ``order`` in its assignee's sequence, its ``workorder`` and its
    ``walk`` from where the assignee was before it (and ``walk_on``, from its place on to
    where it ends: a batch of cables ends at the far rack); and each technician's check of a robot's
    step (by ``(step position, technician)``) with its order and walk in that technician's
    sequence. A member's sequence counts their own steps and their checks, in time order, as
    the schedule walked them; a helper's walk to a two-person step is not the step's.
    """
    wo_of = {(wo.assignee, sid): wo.id for wo in workorders for sid in wo.steps}
    cache: dict[tuple[int, int], Walk] = {}

    def leg(frm: int, to: int) -> Walk | None:
        if frm == to:
            return None
        w = cache.get((frm, to))
        if w is None:
            pts, length = walk.walk(points[frm], points[to])
            path = tuple((int(round(x)), int(round(y))) for x, y in pts)
            w = cache[(frm, to)] = Walk(path, int(round(length)))
        return w

    steps = sched.steps
    order: dict[int, tuple[int, Walk | None]] = {}
    onward: dict[int, Walk] = {}  # a step's walk on from its place (a cable's far end)
    checks: dict[tuple[int, str], tuple[int, Walk | None]] = {}
    checks_on: dict[tuple[int, str], Walk] = {}
    for m in sched.members:
        n = 0
        for i, conf, far, frm, to in sched.legs.get(m.name, ()):
            if far:  # on to a cable's far end: part of the step (or the check) itself
                w = leg(frm, to)
                if w is None:
                    continue
                if conf:
                    checks_on.setdefault((i, m.name), w)
                elif steps[i].assignee == m.name:
                    onward.setdefault(i, w)
                continue
            if conf:
                if (i, m.name) not in checks:
                    checks[(i, m.name)] = (n, leg(frm, to))
                    n += 1
            elif steps[i].assignee == m.name and i not in order:
                order[i] = (n, leg(frm, to))
                n += 1
    out = []
    for i, s in enumerate(steps):
        k, w = order.get(i, (-1, None))
        out.append(
            replace(
                s,
                order=k,
                workorder=wo_of.get((s.assignee, s.id), ""),
                walk=w,
                walk_on=onward.get(i),
            )
        )
    return out, {k: (n, w, checks_on.get(k)) for k, (n, w) in checks.items()}


def _check_reachable(steps, dist, stop_of, end_of, start_stop, start_name) -> None:
    row = dist[start_stop]
    if np.isfinite(row).all():
        return
    problems = unreachable_steps(steps, stop_of, end_of, np.isfinite(row).tolist(), start_name)
    if problems:
        raise DesignError(problems)
