"""Tray engineering rules. Pure.

* :func:`check_tray_geometry` (a validation rule): a tray segment through an obstacle or a rack
  at a height where they collide, a segment leaving the hall, and tray ends that miss another
  tray by a few millimetres.
* :func:`tray_problems` (after routing): segments over their fill limit (error or warning, by
  ``tray_rules.overfill``), media classes kept apart that share a segment, and media whose
  outer diameter is unknown (their cables are not counted in fill).

Geometry is integer millimetres; overlaps under ``AREA_EPS_MM2`` count as touching. A tray's
footprint is its polyline widened to ``width_mm`` (flat ends); its bottom is ``elevation_mm``.
An obstacle collides with a tray below its ``height_mm`` (0: floor to ceiling), a rack below its
rack type's outer height.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

from fieldops.core.cableplan import CablePlan, TraySegment
from fieldops.core.model import CableTray, Design
from fieldops.core.problems import ERROR, WARNING, Problem

AREA_EPS_MM2 = 1.0


def _points_path(tray: CableTray) -> str:
    return f"{tray.source.path}.points" if tray.source.path else ""


def segment_text(points, k: int) -> str:
    """``segment 2 ([3300, 3600] to [9600, 3600])``: segment k (1-based) of a polyline."""
    a, b = points[k - 1], points[k]
    return f"segment {k} ([{a[0]}, {a[1]}] to [{b[0]}, {b[1]}])"


def _segments(trays: list[CableTray]) -> list[tuple[int, int, LineString, Polygon]]:
    """(tray index, segment number, centre line, footprint) of every non-zero segment."""
    out = []
    for i, t in enumerate(trays):
        for k in range(1, len(t.points)):
            a, b = t.points[k - 1], t.points[k]
            if a == b:
                continue
            line = LineString([a, b])
            out.append((i, k, line, line.buffer(t.width_mm / 2, cap_style="flat")))
    return out


def check_tray_geometry(design: Design, ctx=None) -> Iterable[Problem]:
    """Trays through obstacles and racks, out of the hall, or just missing each other."""
    fp = design.floorplan
    trays = [t for t in fp.trays if len(set(t.points)) >= 2]
    segs = _segments(trays)
    if not segs:
        return
    feet = [s[3] for s in segs]
    tree = shapely.STRtree(feet)
    hall = Polygon(fp.outline) if len(fp.outline) >= 3 else None
    if hall is not None and hall.is_valid and hall.area > 0:
        shapely.prepare(hall)
        for i, k, line, _ in segs:
            if not hall.covers(line):
                t = trays[i]
                yield Problem.at(
                    t.source,
                    f"tray '{t.name}' {segment_text(t.points, k)} leaves the hall",
                    path=_points_path(t),
                    severity=WARNING,
                    rule="tray",
                )
    # obstacles and racks it runs through, at a height where they collide
    blockers: list[tuple[Polygon, str, int]] = []  # (footprint, name, top mm; 0 = ceiling)
    for o in fp.obstacles:
        poly = Polygon(o.polygon)
        if poly.is_valid and poly.area > 0:
            blockers.append((poly, f"{o.kind} '{o.name}'", o.height_mm))
    for r in fp.racks:
        rt = fp.rack_types.get(r.rack_type)
        if rt is not None:
            blockers.append((Polygon(r.footprint(rt)), f"rack '{r.name}'", rt.outer_height_mm))
    if blockers:
        polys = np.array([b[0] for b in blockers], dtype=object)
        bi, si = tree.query(polys, predicate="intersects")
        if len(bi):
            area = shapely.area(shapely.intersection(polys[bi], np.array(feet, dtype=object)[si]))
            hits = sorted(
                (int(s), int(b))
                for b, s, a in zip(bi.tolist(), si.tolist(), area.tolist(), strict=True)
                if a > AREA_EPS_MM2
            )
            for s, b in hits:
                i, k, _, _ = segs[s]
                t = trays[i]
                _, what, top = blockers[b]
                if top and t.elevation_mm >= top:
                    continue  # the tray runs above it
                tall = "floor to ceiling" if not top else f"{top} mm tall"
                yield Problem.at(
                    t.source,
                    f"tray '{t.name}' {segment_text(t.points, k)} at {t.elevation_mm} mm runs "
                    f"through {what} ({tall})",
                    path=_points_path(t),
                    rule="tray",
                )
    yield from _near_misses(trays, fp.tray_rules.join_tolerance_mm)


def _near_misses(trays: list[CableTray], tolerance_mm: int) -> Iterable[Problem]:
    """A tray end within ``tolerance_mm`` of another tray of a shared media class that does
    not touch it: the trays should meet (the gap is reported)."""
    if tolerance_mm <= 0 or len(trays) < 2:
        return
    lines = [LineString(t.points) for t in trays]
    tree = shapely.STRtree(lines)
    for i, t in enumerate(trays):
        for end in (t.points[0], t.points[-1]):
            p = Point(end)
            near = tree.query(p, predicate="dwithin", distance=tolerance_mm)
            for j in sorted(near.tolist()):
                o = trays[j]
                if j == i or not set(t.media_classes) & set(o.media_classes):
                    continue
                gap = p.distance(lines[j])
                if gap <= 0.5 or lines[i].distance(lines[j]) <= 0.5:
                    continue  # they meet (an end on the other tray, or crossing elsewhere)
                joins = lines[i].distance(lines[j]) <= (t.width_mm + o.width_mm) / 2
                how = (
                    "routing joins them across the gap"
                    if joins
                    else "routing does not join them: no cable passes from one to the other"
                )
                yield Problem.at(
                    t.source,
                    f"tray '{t.name}' end [{end[0]}, {end[1]}] misses tray '{o.name}' by "
                    f"{gap:.0f} mm: make them meet ({how})",
                    path=_points_path(t),
                    severity=WARNING,
                    rule="tray",
                )


# ---------------------------------------------------------------- after routing


def _fill_text(seg: TraySegment) -> str:
    top = seg.contributors[:3]
    parts = [
        f"{media} x{count:,} ({area:,.0f} mm², {area / seg.cable_area_mm2:.0%})"
        for media, count, area in top
        if seg.cable_area_mm2 > 0
    ]
    more = len(seg.contributors) - len(top)
    return ", ".join(parts) + (f" and {more} more media" if more > 0 else "")


def tray_problems(design: Design, plan: CablePlan) -> list[Problem]:
    """Fill over the limit, classes kept apart sharing a segment, media of unknown size."""
    fp = design.floorplan
    rules = fp.tray_rules
    tray_of: dict[str, CableTray] = {}
    for t in fp.trays:
        tray_of.setdefault(t.name, t)
    out: list[Problem] = []
    unsized: dict[str, list[str]] = {}
    for seg in plan.tray_segments:
        t = tray_of.get(seg.tray)
        if t is None:
            continue
        where = f"tray '{t.name}' {segment_text(t.points, seg.segment)}"
        path = _points_path(t)
        if seg.over:
            out.append(
                Problem.at(
                    t.source,
                    f"{where} is {seg.fill_ratio:.1%} full, over its {seg.max_fill_ratio:.0%} "
                    f"limit: {seg.cables:,} cables, {seg.cable_area_mm2:,.0f} of "
                    f"{seg.usable_area_mm2:,} mm²; biggest: {_fill_text(seg)}; no other tray "
                    "path had room for them",
                    path=path,
                    severity=ERROR if rules.overfill == "error" else WARNING,
                    rule="fill",
                )
            )
        for a, b in seg.together:
            out.append(
                Problem.at(
                    t.source,
                    f"{where} carries {a} and {b} cables together, which tray_rules.separate "
                    "keeps apart: they have no separate tray path (give one of them its own "
                    "tray, or a tray with a divider)",
                    path=path,
                    rule="separation",
                )
            )
        for m in seg.unsized:
            unsized.setdefault(m, []).append(seg.name)
    for slug, names in sorted(unsized.items()):
        media = design.media.get(slug)
        if media is None:
            continue
        few = ", ".join(names[:3]) + ("…" if len(names) > 3 else "")
        out.append(
            Problem.at(
                media.source,
                f"media '{slug}' has no outer_diameter_mm: its cables on {few} are left out of "
                "tray fill",
                path=f"{media.source.path}.outer_diameter_mm" if media.source.path else "",
                severity=WARNING,
                rule="fill",
            )
        )
    return out


def fill_summary(plan: CablePlan) -> list[str]:
    """The plan summary's tray lines: the fullest segment, how many are over, diversions."""
    segs = plan.tray_segments
    if not segs:
        return []
    full = max(segs, key=lambda s: (s.fill_ratio, s.name))
    over = sum(1 for s in segs if s.over)
    lines = [
        f"trays: {len(segs):,} segments, fullest {full.name} at {full.fill_ratio:.1%} "
        f"(limit {full.max_fill_ratio:.0%}); {over:,} over the limit (trays.csv)"
    ]
    if plan.diversions:
        extra = [d.route_mm - d.shortest_mm for d in plan.diversions]
        worst = max(plan.diversions, key=lambda d: (d.route_mm - d.shortest_mm, d.cable_id))
        lines.append(
            f"trays: {len(plan.diversions):,} cable{'s' if len(plan.diversions) != 1 else ''} "
            "diverted off full segments, "
            f"+{sum(extra) / 1000:,.1f} m of route in all (longest detour +"
            f"{(worst.route_mm - worst.shortest_mm) / 1000:,.2f} m, {worst.cable_id})"
        )
    return lines
