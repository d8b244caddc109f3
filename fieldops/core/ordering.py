"""Ordering steps: dependencies first, then as little walking as possible. Pure.

Walking is minimised per area (a row of racks) rather than with one global TSP: areas are
visited in a nearest-neighbour + 2-opt order, and inside an area the racks of each phase are
toured by nearest-neighbour, then improved by 2-opt and Or-opt moves on a walking-distance
matrix (numpy-vectorised over the candidate positions). The design order is always one of the
candidate tours, so the optimised order is never longer than the naive one.

Within a rack the generation order is kept (rails, then mounts bottom-up; the cables of one
bundle together), and the final sequence is a topological order of the step graph with the
tour rank as priority, so no dependency is ever violated.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence

import numpy as np

from fieldops.core.problems import DesignError, Problem
from fieldops.core.workorder import PHASES, Step

MAX_PROBLEMS = 20


# ---------------------------------------------------------------- graph


def dependency_lists(steps: Sequence[Step]) -> tuple[dict[str, int], list[list[int]]]:
    """(index of step IDs, positions each step depends on); raises DesignError for duplicate
    IDs, unknown dependencies and self-dependencies."""
    index: dict[str, int] = {}
    problems: list[Problem] = []
    for i, s in enumerate(steps):
        if s.id in index:
            problems.append(Problem("<plan>", 0, s.id, "duplicate step ID"))
        index[s.id] = i
    preds: list[list[int]] = []
    get = index.get
    for i, s in enumerate(steps):
        row = []
        for d in s.depends_on:
            j = get(d)
            if j is None:
                problems.append(Problem("<plan>", 0, s.id, f"depends on unknown step '{d}'"))
            elif j == i:
                problems.append(
                    Problem("<plan>", 0, s.id, "depends on itself (a dependency cycle)")
                )
            else:
                row.append(j)
        preds.append(row)
    if problems:
        raise DesignError(_cap(problems))
    return index, preds


def check_graph(steps: Sequence[Step]) -> dict[str, int]:
    """Index of step IDs; raises DesignError for duplicate IDs, unknown dependencies or a cycle.

    >>> check_graph([a, b])  # b depends on a
    {'a': 0, 'b': 1}
    """
    index, preds = dependency_lists(steps)
    topological_order(preds, steps=steps)  # raises on a cycle
    return index


def topological_order(
    preds: Sequence[Sequence[int]],
    key: Callable[[int], object] | None = None,
    *,
    steps: Sequence[Step] | None = None,
) -> list[int]:
    """Positions in an order where every step follows its dependencies (``preds[i]``: the
    positions step i depends on).

    Among the steps whose dependencies are done, the one with the smallest ``key(position)``
    goes next (default: list position). Raises DesignError naming the steps of a cycle.
    """
    n = len(preds)
    # the preferred order: by key, ties by position (the heap below breaks ties the same way)
    pref = list(range(n)) if key is None else sorted(range(n), key=key)
    rank = [0] * n
    for r, i in enumerate(pref):
        rank[i] = r
    # When the preferred order already puts every step after its dependencies (the usual
    # case: steps are generated and ranked phase by phase), Kahn's algorithm with this
    # priority returns it unchanged: one pass over the edges proves it.
    if all(rank[j] < rank[i] for i, row in enumerate(preds) for j in row):
        return pref
    indeg = [0] * n
    succ: list[list[int]] = [[] for _ in range(n)]
    for i, row in enumerate(preds):
        for j in set(row):
            succ[j].append(i)
            indeg[i] += 1
    heap = [rank[i] for i in range(n) if indeg[i] == 0]
    heapq.heapify(heap)
    out: list[int] = []
    push, pop = heapq.heappush, heapq.heappop
    while heap:
        i = pref[pop(heap)]
        out.append(i)
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                push(heap, rank[j])
    if len(out) < n:
        cycle = _find_cycle(preds, {i for i in range(n) if indeg[i] > 0})
        names = [steps[i].id if steps is not None else str(i) for i in cycle]
        raise DesignError(
            [Problem("<plan>", 0, names[0], "dependency cycle: " + " -> ".join(names))]
        )
    return out


def _find_cycle(preds: Sequence[Sequence[int]], left: set[int]) -> list[int]:
    """One cycle among the positions Kahn's algorithm could not place, in dependency order
    (``a -> b``: b needs a), first repeated last."""
    start = min(left)
    seen: dict[int, int] = {}
    path: list[int] = []
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = min(j for j in preds[node] if j in left)
    cyc = list(reversed(path[seen[node] :]))
    k = cyc.index(min(cyc))  # start at the earliest step, so the message is stable
    cyc = cyc[k:] + cyc[:k]
    return [*cyc, cyc[0]]


def _cap(problems: list[Problem]) -> list[Problem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [
        *problems[:MAX_PROBLEMS],
        Problem("<plan>", 0, "steps", f"... and {more} more like these"),
    ]


# ---------------------------------------------------------------- tours


def path_length(dist: np.ndarray, seq: Sequence[int]) -> float:
    """Length of walking the stops ``seq`` in order (``dist`` indexed by stop)."""
    if len(seq) < 2:
        return 0.0
    a = np.asarray(seq, dtype=np.int64)
    return float(dist[a[:-1], a[1:]].sum())


def nearest_neighbour(
    dist: np.ndarray, nodes: Sequence[int], start: int | None = None
) -> list[int]:
    """Open path through ``nodes``: from ``start`` (not part of the path) always to the nearest
    unvisited node; ties go to the earlier node in ``nodes``."""
    nodes = list(nodes)
    if len(nodes) <= 1:
        return nodes
    sub = dist[np.ix_(nodes, nodes)]
    left = np.ones(len(nodes), dtype=bool)
    cur = 0 if start is None else int(np.argmin(dist[start, nodes]))
    out = [cur]
    left[cur] = False
    for _ in range(len(nodes) - 1):
        row = np.where(left, sub[cur], np.inf)
        cur = int(np.argmin(row))
        out.append(cur)
        left[cur] = False
    return [nodes[i] for i in out]


def _local_matrix(dist: np.ndarray, path: Sequence[int], start: int | None) -> np.ndarray:
    """Distances between [start, *path, end]; a missing start and the free end cost nothing."""
    n = len(path)
    m = np.zeros((n + 2, n + 2))
    m[1 : n + 1, 1 : n + 1] = dist[np.ix_(path, path)]
    if start is not None:
        m[0, 1 : n + 1] = dist[start, path]
        m[1 : n + 1, 0] = dist[path, start]
    return m


def improve(
    dist: np.ndarray, path: Sequence[int], start: int | None = None, *, max_rounds: int = 50
) -> list[int]:
    """2-opt and Or-opt (segments of 1-3 stops, either way round) on an open path that starts
    next to ``start`` and may end anywhere. Never returns a longer path."""
    path = list(path)
    n = len(path)
    if n < 3:
        return path
    m = _local_matrix(dist, path, start)
    order = np.arange(n + 2)  # positions 0 and n+1 are the fixed start and the free end
    for _ in range(max_rounds):
        changed = False
        # 2-opt: reverse order[i..j]
        for i in range(1, n):
            a, b = order[i - 1], order[i]
            c = order[i + 1 : n + 1]
            d = order[i + 2 : n + 2]
            delta = m[a, c] + m[b, d] - m[a, b] - m[c, d]
            k = int(np.argmin(delta))
            if delta[k] < -1e-9:
                j = i + 1 + k
                order[i : j + 1] = order[i : j + 1][::-1].copy()
                changed = True
        # Or-opt: move a segment of 1-3 stops elsewhere (possibly reversed)
        for seg in (1, 2, 3):
            i = 1
            while i + seg - 1 <= n:
                s0, s1 = order[i], order[i + seg - 1]
                a, e = order[i - 1], order[i + seg]
                gain = m[a, s0] + m[s1, e] - m[a, e]
                rest = np.concatenate([order[:i], order[i + seg :]])
                p, q = rest[:-1], rest[1:]
                fwd = m[p, s0] + m[s1, q] - m[p, q]
                rev = m[p, s1] + m[s0, q] - m[p, q]
                best_f, best_r = int(np.argmin(fwd)), int(np.argmin(rev))
                cost, k, flip = (
                    (fwd[best_f], best_f, False)
                    if fwd[best_f] <= rev[best_r]
                    else (rev[best_r], best_r, True)
                )
                if cost < gain - 1e-9:
                    segment = order[i : i + seg][::-1] if flip else order[i : i + seg]
                    order = np.concatenate([rest[: k + 1], segment, rest[k + 1 :]])
                    changed = True
                i += 1
        if not changed:
            break
    return [path[j - 1] for j in order[1 : n + 1]]


def best_path(dist: np.ndarray, nodes: Sequence[int], start: int | None = None) -> list[int]:
    """The shorter of (nearest-neighbour, the given order), each improved; ties keep the given
    order. Never longer than walking ``nodes`` as given.

    >>> best_path(d, [0, 2, 1, 3], start=None)  # four stops on a line
    [0, 1, 2, 3]
    """
    nodes = list(nodes)
    if len(nodes) <= 2:
        if len(nodes) == 2 and start is not None and dist[start, nodes[1]] < dist[start, nodes[0]]:
            return [nodes[1], nodes[0]]
        return nodes

    def cost(p: list[int]) -> float:
        return path_length(dist, ([start] if start is not None else []) + p)

    given = improve(dist, nodes, start)
    nn = improve(dist, nearest_neighbour(dist, nodes, start), start)
    base = cost(nodes)
    best = min((cost(given), 0, given), (cost(nn), 1, nn), (base, -1, nodes))
    return best[2]


# ---------------------------------------------------------------- ranks


def rank_steps(
    steps: Sequence[Step],
    preds: Sequence[Sequence[int]],
    stop_of: Sequence[int],
    dist: np.ndarray,
    area_of: dict[str, str],
    start: int,
) -> list[int]:
    """Positions of ``steps`` in the optimised global order (a topological order).

    Phases in ``PHASES`` order; inside a phase, areas in a short tour from ``start``; inside an
    area, the phase's racks in a short tour; inside a rack, steps in generation order with the
    steps of one group (a cable bundle) together.
    """

    phase_idx = {p: i for i, p in enumerate(PHASES)}
    # one representative stop per (phase, rack): the first step's stop
    rack_stop: dict[tuple[int, str], int] = {}
    for i, s in enumerate(steps):
        k = (phase_idx.get(s.phase, len(PHASES)), s.location.rack)
        rack_stop.setdefault(k, stop_of[i])
    # area order: a tour from the start point over one stop per area (its first rack's, in
    # the earliest phase)
    area_stop: dict[str, int] = {}
    for (_, rack), stop in sorted(rack_stop.items(), key=lambda kv: kv[0][0]):
        area_stop.setdefault(area_of.get(rack, ""), stop)
    area_names = sorted(area_stop)
    reps = [area_stop[a] for a in area_names]
    # several areas may share a representative stop: tour over unique stops
    uniq = list(dict.fromkeys(reps))
    tour = best_path(dist, uniq, start)
    pos = {s: k for k, s in enumerate(tour)}
    area_pos = {a: (pos[area_stop[a]], a) for a in area_names}

    # per phase and area: tour the racks
    rack_pos: dict[tuple[int, str], int] = {}
    by_phase_area: dict[tuple[int, str], list[tuple[str, int]]] = {}
    first_seen: dict[tuple[int, str], int] = {}
    for i, s in enumerate(steps):
        k = (phase_idx.get(s.phase, len(PHASES)), s.location.rack)
        if k not in first_seen:
            first_seen[k] = i
            by_phase_area.setdefault((k[0], area_of.get(s.location.rack, "")), []).append(
                (s.location.rack, rack_stop[k])
            )
    last = start
    for ph in sorted({k[0] for k in by_phase_area}):
        for area in sorted(
            (a for p, a in by_phase_area if p == ph), key=lambda a: area_pos.get(a, (0, a))
        ):
            racks = by_phase_area[(ph, area)]
            stops = list(dict.fromkeys(stop for _, stop in racks))
            order = best_path(dist, stops, last)
            spos = {s: k for k, s in enumerate(order)}
            for rack, stop in racks:
                rack_pos[(ph, rack)] = spos[stop]
            if order:
                last = order[-1]
    # sort key (phase, area, rack in the tour, rack, the group's first step, step) as one
    # integer: the rank of its (phase, rack) prefix, then the two positions
    prefix: dict[tuple[int, str], tuple] = {}
    group_first: dict[tuple[int, str, str], int] = {}
    n = len(steps)
    pre: list[tuple[int, str]] = []
    first: list[int] = []
    get_ph = phase_idx.get
    for i, s in enumerate(steps):
        ph = get_ph(s.phase, len(PHASES))
        rack = s.location.rack
        k = (ph, rack)
        if k not in prefix:
            prefix[k] = (
                ph,
                area_pos.get(area_of.get(rack, ""), (0, "")),
                rack_pos.get(k, 0),
                rack,
            )
        pre.append(k)
        first.append(group_first.setdefault((ph, rack, s.group), i))
    prank = {k: r for r, k in enumerate(sorted(prefix, key=prefix.__getitem__))}
    keys = [(prank[k] * n + g) * n + i for i, (k, g) in enumerate(zip(pre, first, strict=True))]
    return topological_order(preds, key=keys.__getitem__, steps=steps)


def visits(steps: Sequence[Step], stop_of: Sequence[int], end_stop_of: Sequence[int]) -> list[int]:
    """The stops one walker passes doing ``steps`` in the given order (cables: both ends)."""
    out: list[int] = []
    for i in range(len(steps)):
        for s in (stop_of[i], end_stop_of[i]):
            if s >= 0 and (not out or out[-1] != s):
                out.append(s)
    return out
