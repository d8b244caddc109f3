"""Which footprints overlap, on a spatial index and in bounded work. Pure (shapely, numpy).

Footprints are :class:`Shapes`: polygons, and for rectangles (racks, clearance zones) their
corners. Two rectangles turned the same way (mod 90°) overlap by the overlap of their bounds
in a frame turned with them: numpy, exact, ~50 ns a pair. Other pairs (an obstacle, racks at
different angles) go to shapely's intersection, ~5-70 µs a pair (near-coincident edges are its
slow case), so those are capped at ``SLOW_WORK`` pairs. Candidates come from an STRtree in
chunks; past ``WORK`` candidate pairs the count is a lower bound. So 10,000 racks take well
under a second, and 5,000 racks piled on one spot (12.5 million overlapping pairs) a second
or two instead of minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.strtree import STRtree

CHUNK = 512  # query geometries per STRtree call
WORK = 1_000_000  # candidate pairs looked at before the count is called a lower bound
SLOW_WORK = 20_000  # pairs measured by shapely's intersection (not same-angle rectangles)
_QUARTER = math.pi / 2


@dataclass(frozen=True)
class Overlaps:
    """The first ``limit`` overlapping pairs (sorted), how many there are in all, and whether
    that count is exact or a lower bound (work ran out)."""

    pairs: list[tuple[int, int]]
    total: int
    exact: bool = True


class Shapes:
    """Polygons, with the corners and turn (mod 90°) of those that are rectangles."""

    def __init__(self, polys: np.ndarray, corners: np.ndarray | None = None):
        self.polys = polys
        n = len(polys)
        self.corners = corners if corners is not None else np.zeros((n, 4, 2))
        self.is_rect = np.full(n, corners is not None, dtype=bool)
        if corners is not None and n:
            edge = corners[:, 1] - corners[:, 0]
            self.angle = np.mod(np.arctan2(edge[:, 1], edge[:, 0]), _QUARTER)
        else:
            self.angle = np.zeros(n)

    def __len__(self) -> int:
        return len(self.polys)

    @classmethod
    def rectangles(cls, corners) -> Shapes:
        """Rectangles from their corner points in order, (n, 4, 2)."""
        corners = np.asarray(corners, dtype=float).reshape(-1, 4, 2)
        polys = shapely.polygons(corners) if len(corners) else np.empty(0, dtype=object)
        return cls(polys, corners)

    @classmethod
    def polygons(cls, polys) -> Shapes:
        return cls(np.asarray(polys, dtype=object).reshape(-1))

    def __add__(self, other: Shapes) -> Shapes:
        out = Shapes(np.concatenate([self.polys, other.polys]))
        out.corners = np.concatenate([self.corners, other.corners])
        out.is_rect = np.concatenate([self.is_rect, other.is_rect])
        out.angle = np.concatenate([self.angle, other.angle])
        return out


def _aligned(a: Shapes, b: Shapes, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Pairs of rectangles turned the same way (mod 90°)."""
    d = np.abs(a.angle[ia] - b.angle[ib])
    return a.is_rect[ia] & b.is_rect[ib] & ((d < 1e-9) | (d > _QUARTER - 1e-9))


def _box_areas(a: Shapes, b: Shapes, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Overlap areas of same-angle rectangle pairs, in a frame turned by the first's angle."""
    t = -a.angle[ia]
    c, s = np.cos(t)[:, None], np.sin(t)[:, None]

    def bounds(corners):
        x, y = corners[..., 0], corners[..., 1]
        rx, ry = x * c - y * s, x * s + y * c
        return rx.min(1), rx.max(1), ry.min(1), ry.max(1)

    ax0, ax1, ay0, ay1 = bounds(a.corners[ia])
    bx0, bx1, by0, by1 = bounds(b.corners[ib])
    w = np.minimum(ax1, bx1) - np.maximum(ax0, bx0)
    h = np.minimum(ay1, by1) - np.maximum(ay0, by0)
    return np.clip(w, 0, None) * np.clip(h, 0, None)


def overlap_areas(a: Shapes, b: Shapes, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Areas of ``a[ia] ∩ b[ib]`` (index arrays of equal length)."""
    out = np.zeros(len(ia))
    if not len(ia):
        return out
    fast = _aligned(a, b, ia, ib)
    if fast.any():
        out[fast] = _box_areas(a, b, ia[fast], ib[fast])
    slow = ~fast
    if slow.any():
        out[slow] = shapely.area(shapely.intersection(a.polys[ia[slow]], b.polys[ib[slow]]))
    return out


def overlapping_pairs(
    shapes: Shapes,
    others: Shapes | None = None,
    *,
    eps: float = 1.0,
    limit: int = 100,
    work: int = WORK,
    slow_work: int = SLOW_WORK,
) -> Overlaps:
    """Pairs ``(i, j)`` whose overlap area exceeds ``eps``: ``i < j`` within ``shapes`` when
    ``others`` is None, else ``shapes[i]`` against ``others[j]``.

    Examples
    --------
    >>> sq = [[[0, 0], [20, 0], [20, 20], [0, 20]], [[10, 10], [30, 10], [30, 30], [10, 30]]]
    >>> overlapping_pairs(Shapes.rectangles(sq)).pairs
    [(0, 1)]
    """
    same = others is None
    targets = shapes if same else others
    if not len(shapes) or not len(targets):
        return Overlaps([], 0)
    tree = STRtree(targets.polys)
    found: list[tuple[int, int]] = []
    total = seen = slow_seen = 0
    for start in range(0, len(shapes), CHUNK):
        qi, tj = tree.query(shapes.polys[start : start + CHUNK])  # bounds only: areas decide
        qi = qi + start
        if same:
            keep = qi < tj
            qi, tj = qi[keep], tj[keep]
        order = np.lexsort((tj, qi))
        qi, tj = qi[order], tj[order]
        stop = min(len(qi), work - seen)
        slow_at = np.cumsum(~_aligned(shapes, targets, qi, tj)) + slow_seen
        stop = min(stop, int(np.searchsorted(slow_at, slow_work, side="right")))
        exact = stop == len(qi)
        qi, tj = qi[:stop], tj[:stop]
        seen += stop
        slow_seen = int(slow_at[stop - 1]) if stop else slow_seen
        hit = overlap_areas(shapes, targets, qi, tj) > eps
        total += int(hit.sum())
        room = limit - len(found)
        if room > 0:
            found.extend(zip(qi[hit][:room].tolist(), tj[hit][:room].tolist(), strict=True))
        if not exact:
            return Overlaps(found, total, exact=False)
    return Overlaps(found, total)


def first_blockers(
    zones: Shapes, blockers: Shapes, *, eps: float = 1.0, skip: np.ndarray | None = None
) -> np.ndarray:
    """For each zone, the lowest index of a blocker it overlaps by more than ``eps`` (-1: none).

    ``skip[i]`` (optional, a blocker index per zone) is never counted as zone i's blocker.
    """
    out = np.full(len(zones), -1, dtype=np.int64)
    if not len(zones) or not len(blockers):
        return out
    tree = STRtree(blockers.polys)
    for start in range(0, len(zones), CHUNK):
        zi, bj = tree.query(zones.polys[start : start + CHUNK])  # bounds only: areas decide
        zi = zi + start
        if skip is not None:
            keep = skip[zi] != bj
            zi, bj = zi[keep], bj[keep]
        hit = overlap_areas(zones, blockers, zi, bj) > eps
        zi, bj = zi[hit], bj[hit]
        if len(zi):
            order = np.lexsort((bj, zi))
            zi, bj = zi[order], bj[order]
            first = np.r_[True, zi[1:] != zi[:-1]]
            out[zi[first]] = bj[first]
    return out
