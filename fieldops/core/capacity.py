"""Tray fill and capacity-aware routing: which cross-section of which tray every routed cable
takes, how full every tray segment is, and cables moved off trays that would overflow. Pure.

Vocabulary (docs/cables.md#tray-fill):

* A tray **segment** is the straight piece between two consecutive declared points: segment
  ``k`` (1-based) of a tray runs from ``points[k-1]`` to ``points[k]``.
* Each media class's routing graph cuts its trays further (rack drops, junctions). The pieces
  between the cuts of *all* classes are **atoms**: every cable on an atom runs its whole
  length, so fill is constant along it. A route is a list of atom ranges; loads are summed
  with difference arrays. A segment's fill is that of its fullest atom.
* A cable takes a circle of its media's ``outer_diameter_mm``; a tray takes its usable area
  (``fill_area_mm2``, else ``width_mm x depth_mm``) times its ``max_fill_ratio``.

**Separation** (:meth:`TrayFill.apart_atoms`): a class is routed off the atoms already used by
a class it must be kept apart from (``tray_rules.separate``; a tray with a ``divider`` is
exempt); only pairs with no other path take the shared tray, which is then reported.

**Diversion** (:meth:`TrayFill.divert`), in rounds while some atom is over its limit: per
class, (1) the routes crossing a full atom are re-routed on the class graph without the atoms
that have no room (nor the atoms of a class kept apart); (2) per stretch of tray still over,
the routes crossing it are re-routed around that stretch, allowed through the over-full atoms
each already takes (grouped by those atoms). Routes whose detour is shortest move first (ties:
rack-pair order); of a route's cables, the last cable IDs move first, as many as the atoms the
detour adds them to have room for and no more than the overflow needs, never onto a route
their media cannot reach. A moved cable's length is its new route's; a cable that fits nowhere
stays on its shortest path and its segment is reported.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fieldops.core.cableplan import TraySegment
from fieldops.core.model import FloorPlan, Media

EPS_MM2 = 1e-6
MAX_ROUNDS = 20  # rounds stop as soon as one moves nothing
MAX_STRETCHES = 64  # over-full stretches of tray retried one by one per class and round


def vertex_positions(points) -> list[float]:
    """Distance along a polyline of each of its points (mm, as the routing graph cuts it)."""
    acc, s = [0.0], 0.0
    for k in range(1, len(points)):
        s += math.dist(points[k - 1], points[k])
        acc.append(s)
    return acc


def _expand(r0: np.ndarray, r1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The integers of the ranges ``[r0[k], r1[k])`` one after another, and where each range
    starts in them (``cut``, one longer than the ranges)."""
    lens = np.maximum(np.asarray(r1) - np.asarray(r0), 0)
    cut = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    flat = np.arange(cut[-1]) - np.repeat(cut[:-1], lens) + np.repeat(np.asarray(r0), lens)
    return flat.astype(np.int64), cut


def _key(x: float) -> float:
    """A position along a tray as an atom boundary (positions from different graphs agree to
    far better than a micrometre)."""
    return round(float(x), 3)


@dataclass
class Diverted:
    """What diversion did: per moved cable, its tray route before (``from_mm``)."""

    from_mm: dict[int, float]
    rounds: int = 0


class TrayFill:
    """The trays of a floor plan cut into atoms, the routes registered on them and their loads.

    ``graphs[c]`` is the :class:`fieldops.core.routing.TrayGraph` of class ``classes[c]`` (None
    when the class has no cable on trays); ``media`` the plan's media, indexed as the cables'
    media index.
    """

    def __init__(
        self,
        floorplan: FloorPlan,
        classes: Sequence[str],
        graphs: Sequence,
        media: Sequence[Media],
    ):
        self.rules = floorplan.tray_rules
        self.classes = list(classes)
        self.graphs = list(graphs)
        self.trays = [t for t in floorplan.trays if len(set(t.points)) >= 2]
        index = {id(t): k for k, t in enumerate(self.trays)}
        self.vertex = [[_key(v) for v in vertex_positions(t.points)] for t in self.trays]
        cuts = [set(v) for v in self.vertex]
        spans = []
        for g in self.graphs:
            if g is None:
                spans.append(None)
                continue
            glob = np.array([index[id(o)] for o in g.tray_objs] + [-1], dtype=np.int64)
            gt = glob[g.edge_span_tray]
            lo = [_key(x) for x in g.edge_lo.tolist()]
            hi = [_key(x) for x in g.edge_hi.tolist()]
            for t, a, b in zip(gt.tolist(), lo, hi, strict=True):
                if t >= 0:
                    cuts[t].add(a)
                    cuts[t].add(b)
            spans.append((gt.tolist(), lo, hi))
        self.cuts = [sorted(c) for c in cuts]
        counts = [max(len(c) - 1, 0) for c in self.cuts]
        self.offset = [0, *np.cumsum(counts).tolist()]
        n = self.offset[-1]
        self.n_atoms = n
        self.atom_tray = np.repeat(np.arange(len(self.trays)), counts)
        seg = []
        for t, c in enumerate(self.cuts):
            last = len(self.vertex[t]) - 2
            seg += [min(max(bisect.bisect_right(self.vertex[t], x) - 1, 0), last) for x in c[:-1]]
        self.atom_seg = np.array(seg, dtype=np.int64)
        cap = [self.rules.capacity_mm2(t) for t in self.trays]
        self.cap = np.array(cap, dtype=float)[self.atom_tray] if n else np.zeros(0)
        self.divider = np.array([t.divider for t in self.trays], dtype=bool)[self.atom_tray]
        # per graph, per edge (edge_keys order): its atom range [a0, a1), -1 off the trays
        self.edge_atoms: list[tuple[np.ndarray, np.ndarray] | None] = []
        for sp in spans:
            if sp is None:
                self.edge_atoms.append(None)
                continue
            a0, a1 = [], []
            for t, lo, hi in zip(*sp, strict=True):
                if t < 0:
                    a0.append(-1)
                    a1.append(-1)
                    continue
                base = self.offset[t]
                a0.append(base + bisect.bisect_left(self.cuts[t], lo))
                a1.append(base + bisect.bisect_left(self.cuts[t], hi))
            self.edge_atoms.append((np.array(a0, dtype=np.int64), np.array(a1, dtype=np.int64)))
        self.media = list(media)
        self.area = np.array([m.cross_section_mm2 for m in self.media], dtype=float)
        self.media_class = np.array([self.classes.index(m.media_class) for m in self.media])
        # routes ("entries", as the planner's pair paths): class, rack pair, distance, ranges
        self.ent_class: list[int] = []
        self.ent_src: list[int] = []
        self.ent_dst: list[int] = []
        self.ent_d: list[float] = []
        self._chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._flat: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------ routes

    @property
    def n_entries(self) -> int:
        return len(self.ent_class)

    def add_entries(self, c: int, src, dst, dist, edges: np.ndarray, cut: np.ndarray) -> None:
        """Register routes of class ``c`` in planner order: route p's tray edges (graph edge
        indexes) are ``edges[cut[p]:cut[p + 1]]``."""
        base = self.n_entries
        count = len(cut) - 1
        self.ent_class.extend([c] * count)
        self.ent_src.extend(np.asarray(src).tolist())
        self.ent_dst.extend(np.asarray(dst).tolist())
        self.ent_d.extend(np.asarray(dist, dtype=float).tolist())
        if count and len(edges):
            a0, a1 = self.edge_atoms[c]
            ent = np.repeat(np.arange(count), np.diff(cut))
            r0, r1 = a0[edges], a1[edges]
            # one range per stretch of one tray: a path runs along a tray without gaps
            tray = self.atom_tray[np.minimum(r0, max(self.n_atoms - 1, 0))]
            start = np.ones(len(ent), dtype=bool)
            start[1:] = (ent[1:] != ent[:-1]) | (tray[1:] != tray[:-1])
            at = np.flatnonzero(start)
            self._chunks.append(
                (
                    (base + ent[at]).astype(np.int32),
                    np.minimum.reduceat(r0, at).astype(np.int32),
                    np.maximum.reduceat(r1, at).astype(np.int32),
                )
            )
            self._flat = None

    def ranges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every route's atom ranges as flat arrays (entry, first atom, end atom), by entry."""
        if self._flat is None:
            if self._chunks:
                ent = np.concatenate([c[0] for c in self._chunks])
                r0 = np.concatenate([c[1] for c in self._chunks])
                r1 = np.concatenate([c[2] for c in self._chunks])
                order = np.argsort(ent, kind="stable")
                self._flat = (ent[order], r0[order], r1[order])
                self._chunks = [self._flat]
            else:
                z = np.zeros(0, dtype=np.int64)
                self._flat = (z, z, z)
        return self._flat

    # ------------------------------------------------------------ loads

    def loads(self, entry: np.ndarray, media: np.ndarray, use: np.ndarray):
        """``(area, count)`` per atom and media (arrays ``[n_atoms, n_media]``) of the cables
        where ``use``; cable i is on route ``entry[i]`` and of media index ``media[i]``."""
        nm = len(self.media)
        area = np.zeros((self.n_atoms, nm))
        count = np.zeros((self.n_atoms, nm), dtype=np.int64)
        cab = np.flatnonzero(use & (entry >= 0))
        ent, r0, r1 = self.ranges()
        if not len(cab) or not len(ent) or not self.n_atoms:
            return area, count
        size = self.n_atoms + 1
        for m in np.unique(media[cab]).tolist():
            on = np.bincount(entry[cab[media[cab] == m]], minlength=self.n_entries)[ent]
            busy = on > 0
            w, a, b = on[busy].astype(float), r0[busy], r1[busy]
            diff = np.bincount(a, weights=w, minlength=size) - np.bincount(
                b, weights=w, minlength=size
            )
            count[:, m] = np.rint(np.cumsum(diff)[:-1]).astype(np.int64)
            area[:, m] = count[:, m] * self.area[m]
        return area, count

    def class_counts(self, count: np.ndarray) -> np.ndarray:
        """Cables per atom and class (``[n_atoms, n_classes]``) from per-media counts."""
        out = np.zeros((self.n_atoms, len(self.classes)), dtype=np.int64)
        for m, c in enumerate(self.media_class.tolist()):
            out[:, c] += count[:, m]
        return out

    def apart_atoms(self, c: int, cls_count: np.ndarray) -> np.ndarray:
        """Atoms class ``c`` must keep off: used by a class it is kept apart from, on a tray
        without a divider."""
        bad = np.zeros(self.n_atoms, dtype=bool)
        for o, other in enumerate(self.classes):
            if o != c and self.rules.apart(self.classes[c], other):
                bad |= cls_count[:, o] > 0
        return bad & ~self.divider

    def needs_separation(self, c: int) -> bool:
        """Whether some tray carries class ``c`` and a class it is kept apart from."""
        cls = self.classes[c]
        return any(
            cls in t.media_classes
            and not t.divider
            and any(self.rules.apart(cls, o) for o in t.media_classes if o != cls)
            for t in self.trays
        )

    def edge_mask(self, c: int, atoms: np.ndarray) -> np.ndarray:
        """Edges of class ``c``'s graph (edge_keys order) on any atom where ``atoms``."""
        a0, a1 = self.edge_atoms[c]
        pre = np.concatenate(([0], np.cumsum(atoms.astype(np.int64))))
        on = a0 >= 0
        out = np.zeros(len(a0), dtype=bool)
        out[on] = pre[a1[on]] > pre[a0[on]]
        return out

    def edge_room(self, c: int, room: np.ndarray) -> np.ndarray:
        """The least room (mm²) along each edge of class ``c``'s graph (inf off the trays)."""
        a0, a1 = self.edge_atoms[c]
        out = np.full(len(a0), np.inf)
        on = np.flatnonzero((a0 >= 0) & (a1 > a0))
        if len(on) and len(room):
            ext = np.append(room, np.inf)
            idx = np.empty(2 * len(on), dtype=np.int64)
            idx[0::2], idx[1::2] = a0[on], a1[on]
            out[on] = np.minimum.reduceat(ext, idx)[0::2]
        return out

    # ------------------------------------------------------------ diversion

    def divert(
        self,
        *,
        entry: np.ndarray,
        media: np.ndarray,
        order_key: Callable[[np.ndarray], np.ndarray],
        use: Callable[[], np.ndarray],
        reroute: Callable,
        moved: Callable,
        fits: Callable[[int, float, int, bool], bool],
    ) -> Diverted:
        """Move cables off atoms over their limit, in rounds (see the module docstring).

        ``entry`` (cable -> route) is updated in place; ``order_key(cables)`` ranks the
        given cables (of a route, the last move first); ``use()`` says which cables run on trays now; ``reroute(c,
        drop, entries)`` routes the given routes' rack pairs on class ``c``'s graph without
        the ``drop`` edges and returns ``(dist, paths)`` per route (``paths`` as
        ``_batch_paths(..., with_edges=True)`` for the finite ones); ``moved(cables, new
        entry, dist, bends, plain, poly, names)`` records a move in the planner's arrays;
        ``fits(cable, dist, bends, plain)`` says whether a cable still reaches on a route (a cable is
        never moved onto a route its media cannot reach or be ordered for).
        """
        done = Diverted({})
        for rnd in range(MAX_ROUNDS):
            on_tray = use()
            area, count = self.loads(entry, media, on_tray)
            total = area.sum(axis=1)
            over = total > self.cap + EPS_MM2
            if not over.any():
                break
            done.rounds = rnd + 1
            cls_count = self.class_counts(count)
            if not self._divert_round(
                entry, media, order_key, on_tray, total, cls_count, reroute, moved, fits, done
            ):
                break
        return done

    def _divert_round(
        self, entry, media, order_key, on_tray, total, cls_count, reroute, moved, fits, done
    ) -> bool:
        ent, r0, r1 = self.ranges()
        over = total > self.cap + EPS_MM2
        pre = np.concatenate(([0], np.cumsum(over.astype(np.int64))))
        ent_over = np.zeros(self.n_entries, dtype=bool)
        ent_over[ent[pre[r1] > pre[r0]]] = True
        cab = np.flatnonzero(on_tray & (entry >= 0))
        cab = cab[ent_over[entry[cab]] & (self.area[media[cab]] > 0)]  # unsized ones free nothing
        if not len(cab):
            return False
        # the cables of each crossing route, last-to-move first
        by = cab[np.lexsort((-order_key(cab), entry[cab]))]
        cables_of: dict[int, list[int]] = {}
        for i, p in zip(by.tolist(), entry[by].tolist(), strict=True):
            cables_of.setdefault(p, []).append(i)
        step = _Step(self, entry, media, total, cls_count, cables_of, reroute, moved, fits, done)
        ent_class = np.array(self.ent_class, dtype=np.int64)
        any_moved = False
        for c, g in enumerate(self.graphs):
            if g is None:
                continue
            cands = np.array(sorted(p for p in cables_of if ent_class[p] == c), dtype=np.int64)
            if not len(cands):
                continue
            mine_media = np.unique(media[cab][self.media_class[media[cab]] == c])
            smallest = float(self.area[mine_media].min(initial=np.inf))
            # 1. every crossing route, around every piece without room
            room = self.cap - total
            drop = self.edge_room(c, room) < smallest
            drop |= self.edge_mask(c, self.apart_atoms(c, cls_count))
            any_moved |= step.move(c, cands, drop, None)
            # 2. per stretch still over: around it, through over-full pieces the route already
            #    takes (a route may keep an unavoidable full piece and leave an avoidable one);
            #    routes are grouped by those pieces, each group re-routed once
            for x0, x1 in self._over_stretches(total)[:MAX_STRETCHES]:
                any_moved |= self._around_stretch(step, c, x0, x1, smallest, cables_of, cls_count)
        return any_moved

    def _around_stretch(self, step, c, x0, x1, smallest, cables_of, cls_count) -> bool:
        """Step 2 of a round for one over-full stretch ``[x0, x1)`` and class ``c``."""
        total = step.total
        ent, r0, r1 = self.ranges()
        on = np.unique(ent[(r0 < x1) & (r1 > x0)])
        on = [p for p in on.tolist() if self.ent_class[p] == c and cables_of.get(p)]
        if not on:
            return False
        over = total > self.cap + EPS_MM2
        ent_cut = np.searchsorted(ent, np.arange(self.n_entries + 1))
        on_arr = np.array(on, dtype=np.int64)
        rng, rng_cut = _expand(ent_cut[on_arr], ent_cut[on_arr + 1])
        atoms, atom_cut = _expand(r0[rng], r1[rng])
        owner = np.repeat(np.arange(len(on)), np.diff(atom_cut[rng_cut]))
        keep = over[atoms] & ((atoms < x0) | (atoms >= x1))
        atoms, owner = atoms[keep], owner[keep]
        cut = np.searchsorted(owner, np.arange(len(on) + 1))
        groups: dict[tuple[int, ...], list[int]] = {}
        for k, p in enumerate(on):
            groups.setdefault(tuple(atoms[cut[k] : cut[k + 1]].tolist()), []).append(p)
        block = (self.cap - total < smallest) & ~over  # full pieces
        block[x0:x1] = True
        apart = self.edge_mask(c, self.apart_atoms(c, cls_count))
        moved = False
        for own, members in sorted(groups.items()):
            keep = np.zeros(self.n_atoms, dtype=bool)
            keep[list(own)] = True
            drop = self.edge_mask(c, block | (over & ~keep)) | apart
            moved |= step.move(c, np.array(members, dtype=np.int64), drop, (x0, x1))
        return moved

    def _over_stretches(self, total: np.ndarray) -> list[tuple[int, int]]:
        """Runs of consecutive over-full atoms of one tray ``[x0, x1)``, most over first."""
        over = total > self.cap + EPS_MM2
        if not over.any():
            return []
        idx = np.flatnonzero(over)
        start = np.ones(len(idx), dtype=bool)
        start[1:] = (idx[1:] != idx[:-1] + 1) | (
            self.atom_tray[idx[1:]] != self.atom_tray[idx[:-1]]
        )
        firsts = np.flatnonzero(start)
        out = []
        for k, f in enumerate(firsts.tolist()):
            last = (firsts[k + 1] if k + 1 < len(firsts) else len(idx)) - 1
            x0, x1 = int(idx[f]), int(idx[last]) + 1
            out.append((float((total[x0:x1] - self.cap[x0:x1]).max()), x0, x1))
        return [(x0, x1) for _, x0, x1 in sorted(out, key=lambda e: (-e[0], e[1]))]

    # ------------------------------------------------------------ report

    def segments(self, entry: np.ndarray, media: np.ndarray, use: np.ndarray) -> list[TraySegment]:
        """Fill of every tray segment at its fullest atom, trays in floor-plan order."""
        area, count = self.loads(entry, media, use)
        total = area.sum(axis=1)
        cls_count = self.class_counts(count)
        out: list[TraySegment] = []
        for t, tray in enumerate(self.trays):
            usable = self.rules.usable_area_mm2(tray)
            limit = self.rules.fill_limit(tray)
            lo, hi = self.offset[t], self.offset[t + 1]
            pts = tray.points
            for s in range(len(pts) - 1):
                atoms = np.flatnonzero(self.atom_seg[lo:hi] == s) + lo
                length = math.dist(pts[s], pts[s + 1])
                if not len(atoms) or length <= 0:
                    continue
                # the fullest atom (of equally full ones, the one with the most cables, first)
                top = atoms[total[atoms] >= total[atoms].max()]
                peak = int(top[int(np.argmax(count[top].sum(axis=1)))])
                present = [
                    self.classes[c] for c in range(len(self.classes)) if cls_count[atoms, c].any()
                ]
                contrib = sorted(
                    (
                        (self.media[m].slug, int(count[peak, m]), float(area[peak, m]))
                        for m in range(len(self.media))
                        if count[peak, m] > 0
                    ),
                    key=lambda x: (-x[2], -x[1], x[0]),
                )
                together = ()
                if not tray.divider:
                    together = tuple(
                        sorted(
                            {
                                tuple(sorted((self.classes[a], self.classes[b])))
                                for a in range(len(self.classes))
                                for b in range(a + 1, len(self.classes))
                                if self.rules.apart(self.classes[a], self.classes[b])
                                and ((cls_count[atoms, a] > 0) & (cls_count[atoms, b] > 0)).any()
                            }
                        )
                    )
                cable_area = float(total[peak])
                out.append(
                    TraySegment(
                        tray=tray.name,
                        segment=s + 1,
                        start=pts[s],
                        end=pts[s + 1],
                        elevation_mm=tray.elevation_mm,
                        length_mm=round(length, 1),
                        media_classes=tuple(present),
                        cables=int(count[peak].sum()),
                        cable_area_mm2=cable_area,
                        usable_area_mm2=int(usable),
                        max_fill_ratio=float(limit),
                        fill_ratio=cable_area / usable if usable else 0.0,
                        contributors=tuple(contrib),
                        together=together,
                        unsized=tuple(
                            sorted(
                                self.media[m].slug
                                for m in range(len(self.media))
                                if self.area[m] <= 0 and count[atoms, m].any()
                            )
                        ),
                    )
                )
        return out


class _Step:
    """One diversion round's moves: re-route given routes around some edges and move their
    cables where the detour has room (see :meth:`TrayFill.divert`)."""

    def __init__(self, fill, entry, media, total, cls_count, cables_of, reroute, moved, fits, done):
        self.fill, self.entry, self.media, self.total = fill, entry, media, total
        self.cls_count, self.cables_of = cls_count, cables_of
        self.reroute, self.moved, self.fits, self.done = reroute, moved, fits, done

    def move(self, c: int, cands: np.ndarray, drop: np.ndarray, relieve) -> bool:
        """Re-route ``cands`` (routes of class ``c``) without the ``drop`` edges; move cables
        to relieve the over-full atoms of each route (only those in ``relieve``, a ``[x0, x1)``
        atom range, when given). Returns whether anything moved."""
        fill, total, cap = self.fill, self.total, self.fill.cap
        ent, r0, r1 = fill.ranges()
        ent_cut = np.searchsorted(ent, np.arange(fill.n_entries + 1))
        ent_d = np.array(fill.ent_d, dtype=float)
        dist, paths = self.reroute(c, drop, cands)
        fin = np.flatnonzero(np.isfinite(dist))
        if not len(fin):
            return False
        polys, names, bends, plain, edges, cut = paths
        now = cands[fin]
        detour = dist[fin] - ent_d[now]
        mine, mine_cut = _expand(ent_cut[now], ent_cut[now + 1])
        mine, atom_cut = _expand(r0[mine], r1[mine])
        mine_cut = atom_cut[mine_cut]
        a0, a1 = fill.edge_atoms[c]
        alt, alt_cut = _expand(a0[edges], a1[edges])
        alt_cut = alt_cut[cut]
        any_moved = False
        seen = np.zeros(fill.n_atoms, dtype=bool)
        pending: list[tuple[int, int, float, np.ndarray]] = []  # (src, dst, dist, edges)
        base = fill.n_entries
        for k in np.lexsort((now, detour)).tolist():
            p = int(now[k])
            left = self.cables_of.get(p)
            if not left:
                continue
            here = mine[mine_cut[k] : mine_cut[k + 1]]
            if relieve is not None:
                here_x = here[(here >= relieve[0]) & (here < relieve[1])]
            else:
                here_x = here
            if not len(here_x) or not (total[here_x] - cap[here_x]).max() > EPS_MM2:
                continue  # nothing (left) to relieve on this route
            there = alt[alt_cut[k] : alt_cut[k + 1]]
            seen[there] = True
            target = here_x[~seen[here_x]]  # pieces the cables vacate
            leave = here[~seen[here]]
            seen[there] = False
            seen[here] = True
            join = there[~seen[there]]  # pieces they are added to
            seen[here] = False
            need = float((total[target] - cap[target]).max()) if len(target) else 0.0
            if need <= EPS_MM2:
                continue
            space = float((cap[join] - total[join]).min()) if len(join) else math.inf
            take, acc = [], 0.0
            d = float(dist[fin[k]])
            for i in left:
                a = float(fill.area[self.media[i]])
                if acc + a > space + EPS_MM2 or not self.fits(i, d, int(bends[k]), plain[k]):
                    continue
                take.append(i)
                acc += a
                if acc >= need - EPS_MM2:
                    break
            if not take:
                continue
            total[leave] -= acc
            total[join] += acc
            self.cls_count[leave, c] -= len(take)
            self.cls_count[join, c] += len(take)
            new = base + len(pending)
            pending.append((fill.ent_src[p], fill.ent_dst[p], d, edges[cut[k] : cut[k + 1]]))
            for i in take:
                self.done.from_mm.setdefault(i, float(ent_d[p]))
                self.entry[i] = new
            self.moved(take, new, d, bends[k], plain[k], polys[k], names[k])
            taken = set(take)
            self.cables_of[p] = [i for i in left if i not in taken]
            any_moved = True
        if pending:
            src, dst, dd, ee = zip(*pending, strict=True)
            lens = [len(e) for e in ee]
            fill.add_entries(
                c, src, dst, dd, np.concatenate(ee), np.concatenate(([0], np.cumsum(lens)))
            )
        return any_moved
