"""Which footprints overlap, on a spatial index and in bounded work. Pure (shapely, numpy).

Racks are rectangles; overlap areas of axis-aligned ones come from their bounds in numpy,
others from shapely's vectorised intersection. Candidate pairs come from an STRtree in chunks,
so 10,000 racks take well under a second and 5,000 racks piled on one spot (12.5 million
overlapping pairs) stop after ``work`` pairs instead of running for minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.strtree import STRtree

CHUNK = 512  # query geometries per STRtree call
WORK = 1_000_000  # candidate pairs looked at before the count is called a lower bound


@dataclass(frozen=True)
class Overlaps:
    """The first ``limit`` overlapping pairs (sorted), how many there are in all, and whether
    that count is exact or a lower bound (work ran out)."""

    pairs: list[tuple[int, int]]
    total: int
    exact: bool = True


def as_array(polys) -> np.ndarray:
    return np.asarray(polys, dtype=object)


def rectangles(corners: np.ndarray) -> np.ndarray:
    """Polygons from an (n, 4, 2) array of corner points, in one call."""
    if len(corners) == 0:
        return np.empty(0, dtype=object)
    return shapely.polygons(np.asarray(corners, dtype=float))


def _boxes(polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of each polygon and whether the polygon is its own bounding box."""
    bounds = shapely.bounds(polys)
    box_area = (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])
    return bounds, np.abs(shapely.area(polys) - box_area) <= 1e-6 * np.maximum(box_area, 1.0)


def overlap_areas(a: np.ndarray, b: np.ndarray, ia: np.ndarray, ib: np.ndarray, boxes=None):
    """Areas of ``a[ia] ∩ b[ib]`` (arrays of equal length): numpy for box pairs, shapely else."""
    out = np.zeros(len(ia))
    if not len(ia):
        return out
    if boxes is None:
        boxes = (_boxes(a), _boxes(b))
    (ba, boxa), (bb, boxb) = boxes
    fast = boxa[ia] & boxb[ib]
    if fast.any():
        la, lb = ba[ia[fast]], bb[ib[fast]]
        w = np.minimum(la[:, 2], lb[:, 2]) - np.maximum(la[:, 0], lb[:, 0])
        h = np.minimum(la[:, 3], lb[:, 3]) - np.maximum(la[:, 1], lb[:, 1])
        out[fast] = np.clip(w, 0, None) * np.clip(h, 0, None)
    slow = ~fast
    if slow.any():
        out[slow] = shapely.area(shapely.intersection(a[ia[slow]], b[ib[slow]]))
    return out


def overlapping_pairs(
    polys: np.ndarray,
    others: np.ndarray | None = None,
    *,
    eps: float = 1.0,
    limit: int = 100,
    work: int = WORK,
) -> Overlaps:
    """Pairs ``(i, j)`` whose overlap area exceeds ``eps``: ``i < j`` within ``polys`` when
    ``others`` is None, else ``polys[i]`` against ``others[j]``.

    Examples
    --------
    >>> sq = rectangles(np.array([[[0, 0], [2, 0], [2, 2], [0, 2]], [[1, 1], [3, 1], [3, 3], [1, 3]]]))
    >>> overlapping_pairs(sq).pairs
    [(0, 1)]
    """
    same = others is None
    targets = polys if same else others
    if not len(polys) or not len(targets):
        return Overlaps([], 0)
    tree = STRtree(targets)
    own = _boxes(polys)
    boxes = (own, own if same else _boxes(targets))
    found: list[tuple[int, int]] = []
    total = seen = 0
    for start in range(0, len(polys), CHUNK):
        qi, tj = tree.query(polys[start : start + CHUNK])  # bounding boxes: the areas decide
        qi = qi + start
        if same:
            keep = qi < tj
            qi, tj = qi[keep], tj[keep]
        order = np.lexsort((tj, qi))
        qi, tj = qi[order], tj[order]
        exact = seen + len(qi) <= work
        if not exact:
            qi, tj = qi[: work - seen], tj[: work - seen]
        seen += len(qi)
        hit = overlap_areas(polys, targets, qi, tj, boxes) > eps
        total += int(hit.sum())
        room = limit - len(found)
        if room > 0:
            found.extend(zip(qi[hit][:room].tolist(), tj[hit][:room].tolist(), strict=True))
        if not exact:
            return Overlaps(found, total, exact=False)
    return Overlaps(found, total)


def first_blockers(
    zones: np.ndarray, blockers: np.ndarray, *, eps: float = 1.0, skip: np.ndarray | None = None
) -> np.ndarray:
    """For each zone, the lowest index of a blocker it overlaps by more than ``eps`` (-1: none).

    ``skip[i]`` (optional, a blocker index per zone) is never counted as zone i's blocker.
    """
    out = np.full(len(zones), -1, dtype=np.int64)
    if not len(zones) or not len(blockers):
        return out
    tree = STRtree(blockers)
    boxes = (_boxes(zones), _boxes(blockers))
    for start in range(0, len(zones), CHUNK):
        zi, bj = tree.query(zones[start : start + CHUNK])  # bounding boxes: the areas decide
        zi = zi + start
        if skip is not None:
            keep = skip[zi] != bj
            zi, bj = zi[keep], bj[keep]
        hit = overlap_areas(zones, blockers, zi, bj, boxes) > eps
        zi, bj = zi[hit], bj[hit]
        if len(zi):
            order = np.lexsort((bj, zi))
            zi, bj = zi[order], bj[order]
            first = np.r_[True, zi[1:] != zi[:-1]]
            out[zi[first]] = bj[first]
    return out
