"""Scheduling crews and robots together by capability. Pure.

Every team member (a technician or a robot, each a :class:`RobotProfile` with ``count``) gets
a sequence of steps. Steps are batched into *tasks*: consecutive steps in the optimised order
with the same group (a rack's stacking, a cable bundle, a rack's burn-in), kind and set of
capable profiles, so one member does a rack or pulls a bundle in one go.

List scheduling over simulated time: the member who is free first takes, among the first
``window`` released tasks (all dependencies scheduled) it can do in rank order, the one it can
start soonest (travel from where it stands, or waiting for the last dependency), ties by rank.
Two-person lifts book a second technician for the same interval. A robot step whose rule
needs a technician's scan (``robot+technician``) books one: when the robot's batch is done, a
confirmation task (the technician profile's ``action_time_s["confirm"]`` per step, else
:data:`CONFIRM_S`, walking both cable ends) joins the technicians' queues, and the steps that
depend on the robot's work wait for it. Steps never straddle a shift boundary. Times are whole
seconds of working time from the start of the job.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from operator import attrgetter

import numpy as np

from fieldops.core.model import ROBOT, U_MM, RobotProfile
from fieldops.core.problems import DesignError, Problem
from fieldops.core.workorder import (
    CONFIRM_MANUAL,
    CONFIRM_ROBOT,
    CONFIRM_ROBOT_AND_TECH,
    Assignee,
    Step,
    WorkOrder,
    natural_key,
)

TECHNICIAN = "technician"
RIG = "rig_device"  # moving and setting what no lift carries: a rigging crew with a rack mover
REACH_BASE_MM = 100  # the bottom of U1 above the floor (plinth, castors)
SHIFT_S = 8 * 3600
TASK_CAP = 24  # steps per task (a bundle larger than this is pulled in several goes)
WINDOW = 16  # released tasks a member considers at each decision
CONFIRM_S = 30  # a technician scanning what a robot step expected (``action_time_s["confirm"]``)
MAX_PROBLEMS = 20

_FIELDS = [f.name for f in fields(Step)]
_STEP_VALUES = attrgetter(*_FIELDS)  # positional values of a Step, ~2x faster than replace()
_F_ASSIGNEE, _F_HELPERS, _F_START, _F_END, _F_DURATION, _F_CONFIRM = (
    _FIELDS.index(n) for n in ("assignee", "helpers", "start_s", "end_s", "duration_s", "confirm")
)


# ---------------------------------------------------------------- capability


def step_u_span(step: Step) -> tuple[int, int] | None:
    """The lowest and highest U a step works at (``None`` when it has no U)."""
    a = step.action if isinstance(step.action, dict) else {}
    if step.kind == "run_cable":
        us = [e.get("u") for e in (a.get("a") or {}, a.get("b") or {}) if isinstance(e, dict)]
        us = [u for u in us if isinstance(u, int)]
        return (min(us), max(us)) if us else None
    u = a.get("u", step.location.u)
    if not isinstance(u, int):
        return None
    height = a.get("u_height", 1) or 1
    return (u, u + max(1, math.ceil(float(height))) - 1)


def reach_mm(profile: RobotProfile) -> float:
    """How high a robot reaches: the top of its highest U."""
    return REACH_BASE_MM + profile.u_max * U_MM


def why_not(profile: RobotProfile, step: Step, crew: int = 1) -> str:
    """Why ``profile`` cannot do ``step`` (with ``crew`` of its kind together); ``""`` if it can."""
    missing = [a for a in step.required_actions if a not in profile.actions]
    if missing:
        return f"{profile.name} does not declare {', '.join(missing)}"
    if step.weight_kg > profile.payload_kg * crew:
        people = f"{crew} x " if crew > 1 else ""
        return f"{step.weight_kg:g} kg is over {profile.name}'s payload ({people}{profile.payload_kg:g} kg)"
    span = step_u_span(step)
    if span is not None and (span[0] < profile.u_min or span[1] > profile.u_max):
        return f"U{span[0]}-U{span[1]} is outside {profile.name}'s reach (U{profile.u_min}-U{profile.u_max})"
    if profile.kind == ROBOT:
        high = (
            (step.action or {}).get("max_elevation_mm", 0) if isinstance(step.action, dict) else 0
        )
        if high and high > reach_mm(profile):
            where = "it is fitted" if step.kind == "mount_device" else "the route uses a tray"
            return (
                f"{where} at {high} mm, above {profile.name}'s reach ({reach_mm(profile):.0f} mm)"
            )
    if crew > 1 and (profile.kind != TECHNICIAN or profile.count < crew):
        return f"needs {crew} technicians together; the team has {profile.count if profile.kind == TECHNICIAN else 0}"
    return ""


def can_do(profile: RobotProfile, step: Step) -> bool:
    """Whether members of ``profile`` can do ``step`` (for a two-person step: two of them)."""
    return not why_not(profile, step, max(1, step.crew_size))


def duration_s(profile: RobotProfile, step: Step) -> int:
    """Whole seconds ``profile`` takes for ``step``: its standard time, else the step's estimate."""
    secs = profile.action_time_s.get(step.kind)
    if secs is None or not secs > 0:
        secs = step.duration_s
    return max(1, int(round(float(secs))))


def capability(
    steps: Sequence[Step], team: Sequence[RobotProfile]
) -> tuple[list[int], list[Problem]]:
    """Which team profiles can do each step (a bit mask over ``team`` per step) and a problem
    for every step nobody can do, naming why each profile cannot (uncapped)."""
    problems: list[Problem] = []
    masks = [0] * len(steps)
    cache: dict[tuple, int] = {}
    for i, s in enumerate(steps):
        # what the capability check reads (the raw inputs of step_u_span), as a cache key
        a = s.action
        if isinstance(a, dict):
            if s.kind == "run_cable":
                ea, eb = a.get("a"), a.get("b")
                raw = (
                    ea.get("u") if isinstance(ea, dict) else None,
                    eb.get("u") if isinstance(eb, dict) else None,
                )
            else:
                raw = (a.get("u", s.location.u), a.get("u_height", 1))
            high = a.get("max_elevation_mm", 0)
        else:
            raw, high = (s.location.u,), 0
        key = (s.kind == "run_cable", s.required_actions, s.weight_kg, raw, high, s.crew_size)
        m = cache.get(key)
        if m is None:
            m = 0
            for pi, p in enumerate(team):
                if p.count > 0 and can_do(p, s):
                    m |= 1 << pi
            cache[key] = m
        if m == 0:
            reasons = sorted({why_not(p, s, max(1, s.crew_size)) for p in team if p.count > 0})
            if RIG in s.required_actions:
                head = (
                    f"{s.weight_kg:g} kg needs a rigging crew (a profile declaring {RIG}, "
                    "e.g. robot_profiles/rigging-crew.yaml) and none in the team can move it"
                )
            elif (
                s.kind == "mount_device"
                and s.weight_kg > 0
                and any("payload" in r for r in reasons)
            ):
                head = f"no lift in the team can carry {s.weight_kg:g} kg"
            elif s.crew_size > 1:
                head = "nobody can do this two-person step"
            else:
                head = "nobody in the team can do this step"
            problems.append(Problem("<plan>", 0, s.id, f"{head}: " + "; ".join(reasons)))
        masks[i] = m
    return masks, problems


# ---------------------------------------------------------------- team


def build_team(team: Sequence[RobotProfile]) -> tuple[list[Assignee], list[int]]:
    """Members named ``<profile>-<n>``, technicians first, then crews, then robots; and each member's profile index
    into ``team``. Raises DesignError for an empty team (a crew of zero)."""
    problems = [
        Problem("<team>", 0, p.name, f"count must be 0 or more, not {p.count}")
        for p in team
        if p.count < 0
    ]
    if problems:
        raise DesignError(problems)
    members: list[Assignee] = []
    prof: list[int] = []
    order = sorted(
        range(len(team)),
        key=lambda i: (team[i].kind != TECHNICIAN, team[i].kind == ROBOT, team[i].name),
    )
    for i in order:
        p = team[i]
        for n in range(1, p.count + 1):
            members.append(Assignee(f"{p.name}-{n}", p.name, p.kind))
            prof.append(i)
    if not members:
        raise DesignError(
            [
                Problem(
                    "<team>",
                    0,
                    "crew",
                    "the team is empty (a crew of zero and no robots): nobody can do any step",
                )
            ]
        )
    return members, prof


# ---------------------------------------------------------------- schedule


@dataclass
class Schedule:
    steps: list[Step]  # same order as given, with assignee/helpers/start/end/duration/confirm set
    members: list[Assignee]
    sequences: dict[
        str, list[tuple[int, float]]
    ]  # member -> [(step position, walking mm before/at it)]
    walking_mm: dict[str, float]
    makespan_s: int = 0
    # member -> every move in time order: (step position, is a check, to the far end,
    # from stop, to stop); the plan turns them into each step's walking path
    legs: dict[str, list[tuple[int, bool, bool, int, int]]] = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    # technicians' confirmations of robot+technician steps: (step position, technician,
    # start_s, end_s), by start
    confirmations: list[tuple[int, str, int, int]] = field(default_factory=list)


def schedule_steps(
    steps: Sequence[Step],
    team: Sequence[RobotProfile],
    dist: np.ndarray,
    stop_of: Sequence[int],
    end_stop_of: Sequence[int],
    start_stop: int,
    *,
    preds: Sequence[Sequence[int]] | None = None,
    shift_s: int = SHIFT_S,
    window: int = WINDOW,
    task_cap: int = TASK_CAP,
    progress: Callable[[str], None] | None = None,
) -> Schedule:
    """Assign every step to team members and times.

    ``steps`` must be in a topological order (the optimised order: earlier = preferred);
    ``preds[i]`` are the positions step i depends on (derived from ``depends_on`` if omitted);
    ``stop_of[i]`` indexes ``dist`` (walking mm) for step i's location, ``end_stop_of[i]`` its
    far end (cables) or -1. Raises DesignError naming each step nobody in the team can do.
    """
    members, prof_of = build_team(team)
    n = len(steps)
    if preds is None:
        index = {s.id: i for i, s in enumerate(steps)}
        bad = [
            Problem("<plan>", 0, s.id, f"depends on unknown step '{d}'")
            for s in steps
            for d in s.depends_on
            if d not in index
        ]
        if bad:
            raise DesignError(_cap(bad))
        preds = [[index[d] for d in s.depends_on] for s in steps]

    masks, problems = capability(steps, team)
    if problems:
        raise DesignError(_cap(problems))

    # tasks: runs of consecutive steps with the same group, kind, crew and capability
    task_of = [0] * n
    tasks: list[list[int]] = []
    for i, s in enumerate(steps):
        if tasks:
            last = steps[tasks[-1][-1]]
            j = tasks[-1][-1]
            if (
                last.group == s.group
                and last.kind == s.kind
                and last.crew_size == s.crew_size
                and masks[j] == masks[i]
                and len(tasks[-1]) < task_cap
                and j == i - 1
            ):
                tasks[-1].append(i)
                task_of[i] = len(tasks) - 1
                continue
        tasks.append([i])
        task_of[i] = len(tasks) - 1
    nt = len(tasks)

    # external dependency edges between tasks
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * nt
    for i, row in enumerate(preds):
        for j in set(row):
            if j >= i:
                msg = f"is ordered before its dependency '{steps[j].id}' (not a topological order)"
                raise DesignError([Problem("<plan>", 0, steps[i].id, msg)])
            if task_of[j] != task_of[i]:
                succ[j].append(i)
                indeg[task_of[i]] += 1

    profiles = list(team)
    speed_mm_s = [max(1e-3, float(p.speed_m_s or 1.0)) * 1000.0 for p in profiles]
    nprof = len(profiles)
    queues: list[list[tuple[int, int]]] = [[] for _ in range(nprof)]
    release = [0] * nt
    taken = [False] * nt
    task_mask = [masks[ids[0]] for ids in tasks]
    is_confirm = [False] * nt  # a technician confirming a robot's batch
    techs_mask = 0
    for pi, p in enumerate(profiles):
        if p.kind == TECHNICIAN and p.count > 0:
            techs_mask |= 1 << pi
    confirm_secs = [
        max(1, int(round(float(p.action_time_s.get("confirm") or CONFIRM_S)))) for p in profiles
    ]

    def push(t: int) -> set[int]:
        pushed = set()
        m = task_mask[t]
        for pi in range(nprof):
            if m >> pi & 1:
                heapq.heappush(queues[pi], (tasks[t][0], t))
                pushed.add(pi)
        return pushed

    for t in range(nt):
        if indeg[t] == 0:
            push(t)

    nm = len(members)
    free = [0] * nm
    pos = [start_stop] * nm
    walked = [0.0] * nm
    seqs: list[list[tuple[int, float]]] = [[] for _ in range(nm)]
    legs: list[list[tuple[int, bool, bool, int, int]]] = [[] for _ in range(nm)]
    techs = [a for a in range(nm) if members[a].kind == TECHNICIAN]
    assignee = [""] * n
    helpers: list[tuple[str, ...]] = [()] * n
    start = [0] * n
    end = [0] * n
    confirmations: list[tuple[int, str, int, int]] = []
    pending_walk = [0.0] * nm  # walking to confirmations, added to the member's next step
    heap = [(0, a) for a in range(nm)]
    heapq.heapify(heap)
    sleeping: set[int] = set()
    done = 0
    tick = max(1000, nt // 10)  # progress every ~10 % on long runs only

    confirmed = [0] * n  # when a technician confirmed a robot+technician step

    def _log(b: int, i: int, w: float, conf: bool, frm: int, to: int, far: bool = False) -> None:
        """Member b walked w mm from stop ``frm`` to stop ``to`` for step i (``far``: on to its
        far end): its sequence for work orders. A confirmation is not in the technician's work
        orders (the robot's holds the step); its walking is carried to the technician's next
        step."""
        legs[b].append((i, conf, far, frm, to))
        if conf:
            pending_walk[b] += w
        elif far:
            seqs[b][-1] = (i, seqs[b][-1][1] + w)
        else:
            seqs[b].append((i, w + pending_walk[b]))
            pending_walk[b] = 0.0

    def travel_s(a: int, frm: int, to: int) -> int:
        if frm == to:
            return 0
        return int(math.ceil(float(dist[frm, to]) / speed_mm_s[prof_of[a]]))

    def fit_shift(t0: int, dur: int) -> int:
        if shift_s <= 0 or dur >= shift_s:
            return t0
        k = t0 // shift_s
        return t0 if t0 + dur <= (k + 1) * shift_s else (k + 1) * shift_s

    while done < len(tasks):
        if not heap:
            left = [steps[tasks[t][0]].id for t in range(len(tasks)) if not taken[t]][:5]
            raise DesignError(
                [
                    Problem(
                        "<plan>",
                        0,
                        left[0],
                        "cannot schedule: no team member can take the remaining steps ("
                        + ", ".join(left)
                        + ")",
                    )
                ]
            )
        now, a = heapq.heappop(heap)
        if now != free[a]:
            continue
        pi = prof_of[a]
        q = queues[pi]
        cands: list[tuple[int, int]] = []
        while q and len(cands) < window:
            item = heapq.heappop(q)
            if not taken[item[1]]:
                cands.append(item)
        if not cands:
            sleeping.add(a)
            continue
        best = None
        row = dist[pos[a]]
        for rank, t in cands:
            first = tasks[t][0]
            arrive = now + (
                0
                if stop_of[first] == pos[a]
                else int(math.ceil(float(row[stop_of[first]]) / speed_mm_s[pi]))
            )
            ready = max(arrive, release[t])
            partner = -1
            if steps[first].crew_size > 1 and not is_confirm[t]:
                others = [b for b in techs if b != a and prof_of[b] == pi]
                if not others:
                    continue
                partner = min(
                    others,
                    key=lambda b: (max(free[b], now) + travel_s(b, pos[b], stop_of[first]), b),
                )
                ready = max(
                    ready, max(free[partner], now) + travel_s(partner, pos[partner], stop_of[first])
                )
            key = (ready, rank)
            if best is None or key < best[0]:
                best = (key, t, partner)
        for item in cands:
            if best is None or item[1] != best[1]:
                heapq.heappush(q, item)
        if best is None:
            sleeping.add(a)
            continue
        (_, _), t, partner = best
        taken[t] = True
        done += 1
        ids = tasks[t]
        conf = is_confirm[t]
        team_now = [a] if partner < 0 else [a, partner]
        # the first step: everyone walks there, then waits for the last dependency
        cur = stop_of[ids[0]]
        time = release[t]
        for b in team_now:
            w = 0.0 if pos[b] == cur else float(dist[pos[b], cur])
            walked[b] += w
            arrive = max(free[b], now) + travel_s(b, pos[b], cur)
            time = max(time, arrive)
            _log(b, ids[0], w, conf, pos[b], cur)
        for k, i in enumerate(ids):
            w_here = 0.0
            if k > 0 and stop_of[i] != cur:
                w_here = float(dist[cur, stop_of[i]])
                time += travel_s(a, cur, stop_of[i])
                frm, cur = cur, stop_of[i]
                for b in team_now:
                    walked[b] += w_here
                    _log(b, i, w_here, conf, frm, cur)
            elif k > 0:
                for b in team_now:
                    _log(b, i, 0.0, conf, cur, cur)
            dur = confirm_secs[pi] if conf else duration_s(profiles[pi], steps[i])
            time = fit_shift(time, dur)
            if conf:
                confirmations.append((i, members[a].name, time, time + dur))
                time += dur
            else:
                start[i] = time
                time += dur
                end[i] = time
                assignee[i] = members[a].name
                if partner >= 0:
                    helpers[i] = (members[partner].name,)
            if k == len(ids) - 1 and end_stop_of[i] >= 0 and end_stop_of[i] != cur:
                w_end = float(dist[cur, end_stop_of[i]])
                time += travel_s(a, cur, end_stop_of[i])
                frm, cur = cur, end_stop_of[i]
                for b in team_now:
                    walked[b] += w_end
                    _log(b, i, w_end, conf, frm, cur, far=True)
        if conf:  # confirmed once the technician has scanned at both ends of the batch
            for i in ids:
                confirmed[i] = time
        for b in team_now:
            free[b] = time
            pos[b] = cur
            sleeping.discard(b)
        heapq.heappush(heap, (time, a))
        if partner >= 0:
            heapq.heappush(heap, (time, partner))
        woken: set[int] = set()
        held: set[int] = set()
        if not conf and members[a].kind == ROBOT and techs_mask:
            # robot+technician steps: a technician confirms them before anything builds on them
            held = {i for i in ids if steps[i].confirm not in (CONFIRM_MANUAL, CONFIRM_ROBOT)}
            if held:
                ct = len(tasks)
                tasks.append([i for i in ids if i in held])
                task_mask.append(techs_mask)
                is_confirm.append(True)
                release.append(max(end[i] for i in held))
                taken.append(False)
                woken |= push(ct)
        # release what now has every dependency scheduled (and confirmed)
        for i in ids:
            if i in held:
                continue
            ready_at = confirmed[i] if conf else end[i]
            for j in succ[i]:
                u = task_of[j]
                if ready_at > release[u]:
                    release[u] = ready_at
                indeg[u] -= 1
                if indeg[u] == 0:
                    woken |= push(u)
        if sleeping and woken:
            for b in sorted(sleeping):
                if prof_of[b] in woken:
                    sleeping.discard(b)
                    free[b] = max(free[b], now)
                    heapq.heappush(heap, (free[b], b))
        if progress and done % tick == 0:
            progress(f"scheduling: {done:,}/{nt:,} batches")

    out: list[Step] = []
    robot_member = {m.name for m in members if m.kind == ROBOT}
    values = _STEP_VALUES
    for i, s in enumerate(steps):
        v = list(values(s))
        confirm = s.confirm
        if assignee[i] in robot_member:
            confirm = (
                CONFIRM_ROBOT
                if s.confirm in (CONFIRM_MANUAL, CONFIRM_ROBOT)
                else CONFIRM_ROBOT_AND_TECH
            )
        v[_F_ASSIGNEE] = assignee[i]
        v[_F_HELPERS] = helpers[i]
        v[_F_START] = float(start[i])
        v[_F_END] = float(end[i])
        v[_F_DURATION] = float(end[i] - start[i])
        v[_F_CONFIRM] = confirm
        out.append(Step(*v))
    for a in range(nm):  # walking after a member's last step (to a confirmation)
        if pending_walk[a] and seqs[a]:
            i, w = seqs[a][-1]
            seqs[a][-1] = (i, w + pending_walk[a])
    sequences = {members[a].name: seqs[a] for a in range(nm)}
    confirmations.sort(key=lambda c: (c[2], c[1], c[0]))
    return Schedule(
        steps=out,
        members=members,
        sequences=sequences,
        walking_mm={members[a].name: walked[a] for a in range(nm)},
        legs={members[a].name: legs[a] for a in range(nm)},
        makespan_s=max(max(end, default=0), max(confirmed, default=0)),
        stats={"tasks": nt, "confirmations": len(confirmations)},
        confirmations=confirmations,
    )


def critical_path(
    steps: Sequence[Step], preds: Sequence[Sequence[int]] | None = None
) -> tuple[list[str], float]:
    """The longest chain of dependencies by (assigned) duration, ignoring who does the work:
    the shortest the job could take with an unlimited team. ``steps`` in topological order."""
    if preds is None:
        index = {s.id: i for i, s in enumerate(steps)}
        preds = [[index[d] for d in s.depends_on] for s in steps]
    finish = [0.0] * len(steps)
    via = [-1] * len(steps)
    for i, s in enumerate(steps):
        best, arg = 0.0, -1
        for j in preds[i]:
            if finish[j] > best or (finish[j] == best and arg >= 0 and steps[j].id < steps[arg].id):
                best, arg = finish[j], j
        via[i] = arg
        finish[i] = best + float(s.duration_s)
    if not steps:
        return [], 0.0
    last = max(range(len(steps)), key=lambda i: (finish[i], -i))
    chain = []
    while last >= 0:
        chain.append(steps[last].id)
        last = via[last]
    chain.reverse()
    return chain, max(finish)


def cut_workorders(
    steps: Sequence[Step],
    sequences: dict[str, list[tuple[int, float]]],
    members: Sequence[Assignee],
    area_of: dict[str, str],
    shift_s: int = SHIFT_S,
) -> list[WorkOrder]:
    """Each member's sequence cut into work orders per shift and area, in the order the
    member works them.

    IDs: ``WO-S<shift>-<member>-<area>`` (``-2``, ``-3`` when the member comes back to an area
    in the same shift), stable for the same plan.
    """
    out: list[WorkOrder] = []
    for m in members:
        seq = sequences.get(m.name, [])
        runs: list[tuple[int, str, list[str], float]] = []
        for i, walk_mm in seq:
            s = steps[i]
            shift = int((s.start_s or 0) // shift_s) if shift_s > 0 else 0
            area = area_of.get(s.location.rack, "") or "HALL"
            if runs and runs[-1][0] == shift and runs[-1][1] == area:
                runs[-1][2].append(s.id)
                runs[-1] = (shift, area, runs[-1][2], runs[-1][3] + walk_mm)
            else:
                runs.append((shift, area, [s.id], walk_mm))
        seen: dict[tuple[int, str], int] = {}
        for shift, area, ids, walk_mm in runs:
            k = seen.get((shift, area), 0) + 1
            seen[(shift, area)] = k
            wid = f"WO-S{shift + 1:02d}-{m.name}-{area}" + (f"-{k}" if k > 1 else "")
            out.append(
                WorkOrder(
                    id=wid,
                    title=f"{m.name}, shift {shift + 1}, area {area}: {len(ids)} step{'s' if len(ids) != 1 else ''}",
                    assignee=m.name,
                    shift=shift + 1,
                    area=area,
                    steps=tuple(ids),
                    walking_m=round(walk_mm / 1000.0, 1),
                )
            )
    # per member in walking order (cut in sequence order; a stable sort keeps it): the
    # booklet a technician holds runs in the order their tablet shows the steps
    out.sort(key=lambda w: (w.shift, natural_key(w.assignee)))
    return out


def _cap(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [
        *problems[:MAX_PROBLEMS],
        Problem("<plan>", 0, "~steps", f"... and {more:,} more steps like these"),
    ]
