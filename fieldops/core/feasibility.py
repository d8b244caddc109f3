"""What ``fieldops plan`` would refuse for a team, checked once for both plan and validate. Pure.

:func:`check_team` builds the steps of the design for the team (as the planner does) and
reports, with the planner's own messages:

* a team nobody is in (a crew of zero and no robots), a negative count;
* a rack face with no stand-off point to work from;
* every step nobody in the team can do: the U range beyond every profile's reach, a device
  heavier than any lift (or a two-person lift with one technician), a route over a tray higher
  than a robot reaches, an action no profile declares
  (:func:`fieldops.core.schedule.capability`);
* stand-off points nobody can walk to from the start (staging area, door or dock).

The planner (:func:`fieldops.core.workplan.build_work_plan`) calls it on the steps it builds and
refuses with these problems; ``fieldops validate`` calls it on the same design and team, so a
design that validates clean plans.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from fieldops.core.cableplan import CablePlan
from fieldops.core.delivery import delivery_problems
from fieldops.core.model import Design, RobotProfile
from fieldops.core.problems import DesignError, Problem, sort_key
from fieldops.core.schedule import _cap, build_team, capability
from fieldops.core.workorder import Step

MAX_WALK_PROBLEMS = 20


def check_team(
    design: Design,
    team: Sequence[RobotProfile],
    cable_plan: CablePlan,
    walk=None,
    *,
    steps: Sequence[Step] | None = None,
) -> list[Problem]:
    """Every reason the planner would refuse ``design`` for ``team``, sorted; ``[]`` if none.

    Parameters
    ----------
    design, cable_plan
        A validated design and its routed cables.
    team : RobotProfiles with ``count``
    walk : WalkGraph, optional
        Built from the design when not given.
    steps : optional
        The planner's steps for this design and team (built here when not given).

    Examples
    --------
    >>> [str(p) for p in check_team(design, team, build_cable_plan(design))]
    ["<plan>: mount:tor-01: nobody in the team can do this step: U50-U50 is outside ..."]
    """
    from fieldops.core.steps import build_steps  # steps -> workorder; not at import time
    from fieldops.core.walking import WalkGraph

    try:
        build_team(team)
        walk = WalkGraph(design) if walk is None else walk
        steps = build_steps(design, cable_plan, walk, team) if steps is None else steps
    except DesignError as exc:
        return exc.problems
    problems = _cap(capability(steps, team)[1])
    problems += walking_problems(design, steps, walk)
    problems += delivery_problems(design, steps)
    return sorted(problems, key=sort_key)


def walking_problems(design: Design, steps: Sequence[Step], walk) -> list[Problem]:
    """Steps whose stand-off point (or cable far end) nobody can walk to from the start."""
    from fieldops.core.workplan import start_point, stops_for

    start = start_point(design, walk)
    points, stop_of, end_of, start_stop = stops_for(steps, start[1] if start else None)
    if not points:
        return []
    origin = points[start_stop]
    reach = [walk.distance(origin, p) for p in points]
    if all(math.isfinite(d) for d in reach):
        return []
    return unreachable_steps(
        steps, stop_of, end_of, [math.isfinite(d) for d in reach], start[0] if start else ""
    )


def unreachable_steps(steps, stop_of, end_of, reached, start_name: str = "") -> list[Problem]:
    """A problem for each step (at most 21) whose stop or far end is not ``reached`` (a flag
    per stop) from the start."""
    start_name = start_name or "the first rack"
    problems = []
    for i, s in enumerate(steps):
        for st in (stop_of[i], end_of[i]):
            if st >= 0 and not reached[st]:
                where = f"rack {s.location.rack} {s.location.face}".strip()
                problems.append(
                    Problem(
                        "<plan>",
                        0,
                        s.id,
                        f"no walkable path from {start_name} to the stand-off point at {where}",
                    )
                )
                break
        if len(problems) > MAX_WALK_PROBLEMS:
            break
    return problems


def check_plan(
    design: Design, team: Sequence[RobotProfile] | None, cable_plan: CablePlan | None = None
) -> list[Problem]:
    """Everything ``fieldops plan`` refuses or warns about once a design validates: tray fill
    and separation of the routed cables (:func:`fieldops.core.trays.tray_problems`) and, given
    a team, :func:`check_team`. Routes the design when ``cable_plan`` is not given."""
    from fieldops.core.routing import build_cable_plan
    from fieldops.core.trays import tray_problems

    if cable_plan is None:
        cable_plan = build_cable_plan(design)
    problems = tray_problems(design, cable_plan)
    if team is not None:
        problems += check_team(design, team, cable_plan)
    return sorted(problems, key=sort_key)
