"""Which robot steps can run, pure: a robot and its steps (:class:`RobotAssignment`), the
steps a dispatch without people takes as done, and the robot steps that can never be released
when nothing but the robots changes a step's status.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from fieldops.core.model import RobotProfile
from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH, Step

WITHDRAWN = "withdrawn"  # handed to a person before the robot had it: never sent
FINAL = frozenset({"done", "awaiting_confirmation", "blocked", "failed", WITHDRAWN})
BAD = frozenset({"blocked", "failed"})  # final without the work done
ASSUME_CHOICES = ("none", "technicians", "all")


@dataclass(frozen=True)
class RobotAssignment:
    """One robot and its steps in execution order. ``name`` is the robot's name in the plan's
    team (``lift-robot-1``; default: its steps' assignee, else the serial)."""

    profile: RobotProfile
    steps: tuple[Step, ...]
    serial_number: str = ""  # default: the profile's
    name: str = ""

    @property
    def serial(self) -> str:
        return self.serial_number or self.profile.serial_number

    @property
    def assignee(self) -> str:
        return self.name or next((s.assignee for s in self.steps if s.assignee), self.serial)


def assumed_done(
    steps: Sequence[Step],
    team: Sequence,
    assignments: Sequence[RobotAssignment],
    who: str,
) -> frozenset[str]:
    """Step IDs a dispatch without people takes as done (``RobotBridge(assume_done=...)``).

    ``who``: ``none`` (nothing: the safe default), ``technicians`` (every step assigned to a
    technician of the team, and the technician's part of each dispatched robot+technician
    step) or ``all`` (every step not dispatched to a robot here, and those technician parts).
    """
    if who not in ASSUME_CHOICES:
        raise ValueError(f"assume-done must be one of {', '.join(ASSUME_CHOICES)}, not '{who}'")
    if who == "none":
        return frozenset()
    dispatched = {s.id: s for a in assignments for s in a.steps}
    out = {sid for sid, s in dispatched.items() if s.confirm == CONFIRM_ROBOT_AND_TECH}
    if who == "technicians":
        technicians = {a.name for a in team if a.kind == "technician"}
        out.update(s.id for s in steps if s.assignee in technicians)
    else:
        out.update(s.id for s in steps if s.id not in dispatched)
    return frozenset(out)


def never_released(
    assignments: Sequence[RobotAssignment],
    assume_done: Collection[str] = (),
    *,
    hold_for_technician: bool = False,
) -> dict[str, str]:
    """Dispatched robot steps that can never be released when nothing but these robots
    changes a step's status (``fieldops robots dispatch``: no technician confirms anything):
    step ID -> the step it ultimately waits for (a step of another assignee not assumed done,
    or a robot+technician step whose technician is not assumed). Iterative, so long
    dependency chains are fine."""
    assume = frozenset(assume_done)
    dispatched = {s.id: s for a in assignments for s in a.steps}

    def finishes(d: str) -> bool:  # the robot alone makes it done
        s = dispatched[d]
        return s.confirm != CONFIRM_ROBOT_AND_TECH or hold_for_technician or d in assume

    blocker: dict[str, str | None] = {}  # step -> root cause, None: can run
    for root in dispatched:
        stack = [(root, False)]
        visiting: set[str] = set()
        while stack:
            cur, expanded = stack.pop()
            if cur in blocker:
                continue
            deps = dispatched[cur].depends_on
            if not expanded:
                if cur in visiting:
                    continue
                visiting.add(cur)
                stack.append((cur, True))
                stack.extend(
                    (d, False)
                    for d in deps
                    if d in dispatched and d not in blocker and d not in visiting
                )
                continue
            visiting.discard(cur)
            cause = None
            for d in deps:
                if d not in dispatched:
                    if d not in assume:
                        cause = d
                elif d not in blocker:  # a dependency cycle: never
                    cause = d
                elif blocker[d] is not None:
                    cause = blocker[d]
                elif not finishes(d):
                    cause = d
                if cause is not None:
                    break
            blocker[cur] = cause
    return {sid: cause for sid, cause in blocker.items() if cause is not None}
