"""Benchmark: each technician's walking in fieldops' plan against an OR-Tools routing solution
of the same stops, distances and constraints (issue 21, item 4).

Run: ``.venv/bin/python benchmarks/bench_walking.py [DESIGN_DIR ...] [--su 4] [--limit-s 10]
[--quick] [--member technician-1] [--crew N]``. Needs OR-Tools, a benchmark-only dependency:
``.venv/bin/python -m pip install -c requirements/lock.txt -e '.[bench]'``. Default: the two
samples (``floorplans/lab-hall``, ``floorplans/gpu-hall``) and the ``dgx-h100-superpod``
blueprint expanded at ``--su`` scalable units (0: skip it), each planned with fieldops' own
services (``build_plan``, the default team of ``robot_profiles/``).

Per technician, from the plan (what workorders.json carries):

- **fieldops m**: the sum of the walks the plan carries for the member, in their order: each
  own step's ``walk`` (+ ``walk_on``, on to a cable's far end) and each check of a robot's step
  (``stats["confirmations"]``). A helper's walk to a two-person step is not carried and is in
  neither column (the ``helps`` column counts those steps).
- **OR-Tools m**: one vehicle starting where the plan starts everyone (staging, else a door,
  else the dock) and ending anywhere; a node per stop: the place of each own step and check,
  and for a cable a pickup at the end the plan's step starts at and a delivery at its far end
  (``AddPickupAndDelivery``: same vehicle, pickup first); a dependency between two of the
  member's visits is a precedence on a counting dimension (the dependency's last node before
  the dependent's first). Dependencies on other members' steps are ignored (they constrain
  time, not this member's order), which can only shorten OR-Tools' tour. Arc costs:
  ``WalkGraph.distance_matrix`` over the same points (mm), the matrix the planner orders on.
  OR-Tools' own first-solution strategies (path cheapest arc, cheapest insertion, savings)
  found no route under these precedences on lab-hall, so guided local search runs
  ``--limit-s`` seconds from each of two valid routes:
  the plan's own order (**OR from plan**) and a nearest-ready order built without the plan
  (**greedy m**: always the nearest stop whose predecessors are done; **OR from greedy**).
  OR-Tools m is the shorter; every route is checked against the constraints.

Ratio = fieldops / OR-Tools: above 1 fieldops walks more. A note is printed when the plan's
order re-walked on the matrix, or the schedule's ``walking_m``, disagrees with the carried
walks. Without OR-Tools installed the benchmark says so and is skipped (exit 0).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import load_note  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLES = ("floorplans/lab-hall", "floorplans/gpu-hall")
BLUEPRINT = "dgx-h100-superpod"


@dataclass
class Visit:
    """One stop-group a member does: an own step or a check of a robot's step."""

    step_id: str
    order: int
    phase: str
    here: tuple[int, int]
    far: tuple[int, int] | None  # a cable's far end (delivery), None otherwise
    walked_mm: int  # the carried walk (+ walk_on)
    walks_on: bool = False  # the plan walks on to the far end after this visit


@dataclass
class Member:
    name: str
    visits: list[Visit] = field(default_factory=list)
    helps: int = 0

    @property
    def fieldops_mm(self) -> int:
        return sum(v.walked_mm for v in self.visits)


def _far_end(step) -> tuple[int, int] | None:
    """The cable's other end, as the planner picks it (fieldops.core.workplan.stops_for)."""
    here = (step.location.x_mm, step.location.y_mm)
    if step.kind != "run_cable" or not isinstance(step.action, dict):
        return None
    for key in ("a", "b"):
        e = step.action.get(key) or {}
        xy = (e.get("x_mm"), e.get("y_mm"))
        if isinstance(xy[0], int) and isinstance(xy[1], int) and xy != here:
            return xy
    return None


def _mm(w) -> int:
    if w is None:
        return 0
    return int(w["length_mm"] if isinstance(w, dict) else w.length_mm)


def technicians(work) -> list[Member]:
    """Each technician's visits in the plan's order, with the walks the plan carries."""
    names = [m.name for m in work.team if m.kind == "technician"]
    members = {n: Member(n) for n in names}
    by_id = {s.id: s for s in work.steps}
    for s in work.steps:
        for h in s.helpers:
            if h in members:
                members[h].helps += 1
        m = members.get(s.assignee)
        if m is None:
            continue
        here = (s.location.x_mm, s.location.y_mm)
        m.visits.append(
            Visit(
                s.id,
                s.order,
                s.phase,
                here,
                _far_end(s),
                _mm(s.walk) + _mm(s.walk_on),
                s.walk_on is not None,
            )
        )
    for c in work.stats.get("confirmations", ()):
        m = members.get(c["technician"])
        if m is None:
            continue
        s = by_id[c["step"]]
        here = (s.location.x_mm, s.location.y_mm)
        m.visits.append(
            Visit(
                s.id,
                c["order"],
                s.phase,
                here,
                _far_end(s),
                _mm(c["walk"]) + _mm(c["walk_on"]),
                c["walk_on"] is not None,
            )
        )
    for m in members.values():
        m.visits.sort(key=lambda v: v.order)
    return [members[n] for n in names]


def member_nodes(member: Member, start):
    """Points of the nodes (0 start, 1 the free end, then each visit's place and a cable's far
    end), each visit's first and last node, the (pickup, delivery) pairs and the precedences
    (node before node) from dependencies between the member's own visits."""
    xy = [start, start]
    first: list[int] = []
    last: list[int] = []
    pairs: list[tuple[int, int]] = []
    for v in member.visits:
        first.append(len(xy))
        xy.append(v.here)
        if v.far is not None:
            pairs.append((len(xy) - 1, len(xy)))
            xy.append(v.far)
        last.append(len(xy) - 1)
    return xy, first, last, pairs


def precedences(member: Member, first, last, depends_on) -> list[tuple[int, int]]:
    pos: dict[str, list[int]] = {}
    for k, v in enumerate(member.visits):
        pos.setdefault(v.step_id, []).append(k)
    return [
        (last[j], first[k])
        for k, v in enumerate(member.visits)
        for dep in depends_on.get(v.step_id, ())
        for j in pos.get(dep, ())
    ]


def plan_order(member: Member, xy, first, last) -> list[int]:
    """The plan's own order as a route: each visit's place; a cable's far end where the plan
    walks on to it (a batch of cables between the same racks walks on once, after its last
    pickup, and so delivers every cable of the batch there)."""
    route: list[int] = []
    pending: list[int] = []

    def deliver_at(point) -> None:
        for d in [d for d in pending if xy[d] == point]:
            pending.remove(d)
            route.append(d)

    for k, v in enumerate(member.visits):
        route.append(first[k])
        if v.far is not None:
            pending.append(last[k])
        deliver_at(v.far if v.walks_on else v.here)  # where the plan leaves the walker
    return route + pending


def nearest_ready(cost, n: int, before: list[tuple[int, int]]) -> list[int]:
    """A feasible order of nodes 2..n-1 built without the plan: always the nearest node whose
    predecessors are all visited (a pickup before its delivery, a dependency before its
    dependent)."""
    import numpy as np

    waiting = np.zeros(n, dtype=np.int64)
    after: list[list[int]] = [[] for _ in range(n)]
    for a, b in before:
        waiting[b] += 1
        after[a].append(b)
    ready = np.zeros(n, dtype=bool)
    ready[2:] = waiting[2:] == 0
    order, cur = [], 0
    for _ in range(n - 2):
        row = np.where(ready, cost[cur], np.iinfo(np.int64).max)
        nxt = int(np.argmin(row))
        ready[nxt] = False
        order.append(nxt)
        for b in after[nxt]:
            waiting[b] -= 1
            if waiting[b] == 0:
                ready[b] = True
        cur = nxt
    return order


def route_mm(cost, route: list[int]) -> int:
    seq = [0, *route]
    return int(sum(int(cost[a, b]) for a, b in zip(seq, seq[1:], strict=False)))


def breaks(route: list[int], before: list[tuple[int, int]], n: int) -> int:
    """Constraints a route breaks (0 for a valid one): every node once, each pair in order."""
    at = {node: k for k, node in enumerate(route)}
    missing = (n - 2) - len(at)
    return missing + sum(1 for a, b in before if at.get(a, -1) >= at.get(b, -1))


def ortools_search(cost, pairs, prec, seed: list[int], limit_s: float) -> list[int] | None:
    """Guided local search from ``seed`` (a valid route of nodes 2..n-1) for ``limit_s``:
    pickup-and-delivery pairs, precedences on a counting dimension; the best route found."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = len(cost)
    manager = pywrapcp.RoutingIndexManager(n, 1, [0], [1])
    routing = pywrapcp.RoutingModel(manager)
    rows = cost.tolist()
    to_node = manager.IndexToNode
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(rows))
    routing.AddConstantDimension(1, n + 1, True, "count")
    count = routing.GetDimensionOrDie("count")
    idx = manager.NodeToIndex
    for p, d in pairs:
        routing.AddPickupAndDelivery(idx(p), idx(d))
    for a, b in prec:
        count.AddNodePrecedence(idx(a), idx(b), 1)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(limit_s * 1000))
    routing.CloseModelWithParameters(params)
    init = routing.ReadAssignmentFromRoutes([[idx(x) for x in seed]], True)
    if init is None:
        return None
    sol = routing.SolveFromAssignmentWithParameters(init, params) or init
    out, i = [], routing.Start(0)
    i = sol.Value(routing.NextVar(i))
    while not routing.IsEnd(i):
        out.append(to_node(i))
        i = sol.Value(routing.NextVar(i))
    return out


def solve_member(member: Member, start, depends_on, walk, limit_s: float) -> dict:
    """OR-Tools' best tour of the member's stops under the plan's constraints (module
    docstring), searched from two valid starts: the plan's own order and a nearest-ready
    order built without it; each search gets ``limit_s``."""
    import numpy as np

    xy, first, last, pairs = member_nodes(member, start)
    prec = precedences(member, first, last, depends_on)
    before = pairs + prec
    n = len(xy)
    dist = np.asarray(walk.distance_matrix(xy), dtype=float)
    if not np.isfinite(dist).all():
        raise SystemExit(f"{member.name}: a stop cannot be reached on the walking graph")
    cost = np.rint(dist).astype(np.int64)
    cost[:, 1] = 0  # ending anywhere is free
    cost[1, :] = 0
    plan_route = plan_order(member, xy, first, last)
    greedy = nearest_ready(cost, n, before)
    assert not breaks(greedy, before, n), "nearest_ready built an invalid order"
    out = {
        "nodes": n - 2,
        "precedences": len(prec),
        "fieldops_matrix_mm": route_mm(cost, plan_route),
        "plan_breaks": breaks(plan_route, before, n),
        "greedy_mm": route_mm(cost, greedy),
        "ortools_mm": None,
        "ortools_phase_mm": {},
    }
    node_phase = ["", ""]
    for v in member.visits:
        node_phase += [v.phase] * (1 if v.far is None else 2)
    for name, seed in (("from_plan", plan_route), ("from_greedy", greedy)):
        t0 = time.perf_counter()
        route = ortools_search(cost, pairs, prec, seed, limit_s)
        out[name + "_s"] = time.perf_counter() - t0
        if route is None or breaks(route, before, n):
            out[name] = None
        else:
            out[name] = route_mm(cost, route)
            if out["ortools_mm"] is None or out[name] < out["ortools_mm"]:
                out["ortools_mm"] = out[name]
                out["ortools_phase_mm"] = phase_mm(cost, route, node_phase)
    return out


def phase_mm(cost, route: list[int], node_phase: list[str]) -> dict[str, int]:
    """Metres by phase, each walk counted in the phase of the stop it reaches."""
    out: dict[str, int] = {}
    for a, b in zip([0, *route], route, strict=False):
        out[node_phase[b]] = out.get(node_phase[b], 0) + int(cost[a, b])
    return out


def plan_of(path: Path, crew: int | None):
    from fieldops.core.floor import build_floor, start_point
    from fieldops.services.planning import build_plan, load_valid_design

    t0 = time.perf_counter()
    plan = build_plan(load_valid_design(path), crew=crew)
    start = start_point(build_floor(plan.loaded.design))
    if start is None:
        raise SystemExit(f"{path}: no staging area, door or dock to start from")
    return plan, (int(round(start[0])), int(round(start[1]))), time.perf_counter() - t0


def bench_design(label: str, path: Path, args) -> tuple[int, int]:
    plan, start, t_plan = plan_of(path, args.crew)
    work = plan.work
    depends_on = {s.id: s.depends_on for s in work.steps}
    members = technicians(work)
    if args.member:
        members = [m for m in members if m.name in args.member]
    print(
        f"\n{label}: {len(work.steps):,} steps, planned in {t_plan:.1f} s; OR-Tools "
        f"{args.limit_s:g} s guided local search per member; {load_note()}",
        flush=True,
    )
    cols = (
        f"{'member':14} {'visits':>6} {'nodes':>6} {'prec':>5} {'helps':>5} {'fieldops m':>10} "
        f"{'greedy m':>9} {'OR from plan':>12} {'OR from greedy':>14} "
        f"{'OR-Tools m':>10} {'ratio':>6}"
    )
    print(cols)
    tot_f = tot_o = 0
    phases: dict[str, int] = {}
    or_phases: dict[str, int] = {}

    def km(mm) -> str:
        return "-" if mm is None else f"{mm / 1000:,.1f}"

    for m in members:
        for v in m.visits:
            phases[v.phase] = phases.get(v.phase, 0) + v.walked_mm
        if not m.visits:
            print(f"{m.name:14} {0:6} (no steps)")
            continue
        r = solve_member(m, start, depends_on, plan.walk, args.limit_s)
        f_mm, o_mm = m.fieldops_mm, r["ortools_mm"]
        sched_mm = work.walking_m.get(m.name, 0) * 1000
        if abs(sched_mm - f_mm) > max(1000, 0.01 * f_mm):
            print(f"  note: the schedule says {m.name} walks {km(sched_mm)} m in all")
        if abs(r["fieldops_matrix_mm"] - f_mm) > max(1000, 0.001 * f_mm) or r["plan_breaks"]:
            print(
                f"  note: {m.name}'s order walks {km(r['fieldops_matrix_mm'])} m on the matrix "
                f"(carried: {km(f_mm)} m) and breaks {r['plan_breaks']} constraint(s) of the model"
            )
        if o_mm is not None:
            for p, mm in r["ortools_phase_mm"].items():
                or_phases[p] = or_phases.get(p, 0) + mm
            tot_f += f_mm
            tot_o += o_mm
        ratio = "-" if o_mm is None else f"{f_mm / max(o_mm, 1):6.2f}"
        print(
            f"{m.name:14} {len(m.visits):6} {r['nodes']:6} {r['precedences']:5} {m.helps:5} "
            f"{km(f_mm):>10} {km(r['greedy_mm']):>9} {km(r['from_plan']):>12} "
            f"{km(r['from_greedy']):>14} {km(o_mm):>10} {ratio:>6}",
            flush=True,
        )
    if tot_o:
        print(
            f"{'total':14} {'':6} {'':6} {'':5} {'':5} {km(tot_f):>10} {'':9} {'':12} {'':14} "
            f"{km(tot_o):>10} {tot_f / tot_o:6.2f}"
        )
    print(
        "per phase, fieldops m / OR-Tools m (a walk counts in the phase of the stop it reaches): "
        + ", ".join(
            f"{p} {phases[p] / 1000:,.0f} / {or_phases.get(p, 0) / 1000:,.0f}" for p in phases
        )
        + f"; {load_note()}"
    )
    return tot_f, tot_o


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("designs", nargs="*", help=f"design folders (default: {', '.join(SAMPLES)})")
    ap.add_argument(
        "--su",
        type=int,
        default=4,
        help=f"also the {BLUEPRINT} blueprint at this many scalable units (0: not; default 4)",
    )
    ap.add_argument(
        "--limit-s", type=float, default=10.0, help="OR-Tools search per member (default 10 s)"
    )
    ap.add_argument("--quick", action="store_true", help="2 s per member")
    ap.add_argument("--member", action="append", help="only this technician (repeatable)")
    ap.add_argument("--crew", type=int, help="technicians (default: robot_profiles/)")
    args = ap.parse_args(argv)
    if args.quick:
        args.limit_s = 2.0
    try:
        import ortools  # noqa: F401
    except ImportError:
        # skipped, not failed: scripts/bootstrap does not install the bench extra, and
        # benchmarks/run --all runs every bench_*.py
        print(
            "bench_walking: skipped, it needs OR-Tools (the bench extra): "
            ".venv/bin/python -m pip install -c requirements/lock.txt -e '.[bench]'"
        )
        return 0
    for d in args.designs or SAMPLES:
        path = Path(d) if Path(d).is_absolute() or Path(d).exists() else REPO / d
        bench_design(path.name, path, args)
    if args.su > 0 and not args.designs:
        from fieldops.services.blueprints import expand_to_design

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "design"
            t0 = time.perf_counter()
            expand_to_design(BLUEPRINT, {"su_count": str(args.su)}, out)
            label = f"{BLUEPRINT} {args.su} SU (expanded in {time.perf_counter() - t0:.1f} s)"
            bench_design(label, out, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
