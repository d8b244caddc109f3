"""The floor map of a work order: racks, trays, doors, staging, the walking path and numbered stops.

The map frames the work order's stops and path (with 2.5 m around them; the whole hall when
they spread over most of it) and draws, to scale: the hall outline, obstacles, racks (those
the work order visits shaded and named in bold), cable trays coloured by media class (or
shaded by fill when fill ratios are given), doors, staging areas and docks, the walking path,
and the stops numbered in walking order (the numbers of the step table's "Stop" column).

The map never computes a walking path: ``paths`` maps a step ID to the polyline (mm) walked to
reach that step's stops; steps without one are joined by dashed straight legs, and the
caption says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable

from fieldops.adapters.pdf.sheetlayout import build_stops, step_visits
from fieldops.adapters.pdf.text import fit, pdf_text

MM = 72 / 25.4
ROUTE = colors.Color(0.10, 0.20, 0.55)
STOP_BLUE = colors.Color(0.10, 0.35, 0.80)
STOP_GREEN = colors.Color(0.05, 0.55, 0.20)
RACK = colors.Color(0.92, 0.92, 0.92)
RACK_VISITED = colors.Color(1.0, 0.93, 0.62)
OBSTACLE = colors.Color(0.72, 0.72, 0.72)
TRAY_COLOURS = {  # by the media classes a tray carries
    "copper": colors.Color(0.16, 0.45, 0.85),
    "fibre": colors.Color(0.95, 0.55, 0.05),
    "copper+fibre": colors.Color(0.45, 0.30, 0.75),
    "power": colors.Color(0.85, 0.12, 0.12),
}
OTHER_TRAY = colors.Color(0.45, 0.45, 0.45)
WAYPOINT_COLOURS = {
    "door": colors.Color(0.45, 0.25, 0.05),
    "staging": colors.Color(0.05, 0.55, 0.20),
    "dock": colors.Color(0.35, 0.35, 0.35),
}
MAX_NUMBERED_STOPS = 400  # beyond this the stops are dotted, not numbered
FRAME_MARGIN_MM = 2500  # floor around the work order's stops and path
STOP_PT = 8.0  # stop numbers: bold, readable at arm's length
CAPTION_H = 36.0
INSET_H = 56.0  # the whole-hall overview beside the caption of a zoomed map


def fill_colour(ratio: float):
    """Tray shading by fill: white-red ramp up to 100 %, dark red beyond."""
    if ratio > 1.0:
        return colors.Color(0.55, 0.0, 0.0)
    f = max(0.0, ratio)
    return colors.Color(1.0, 1.0 - 0.85 * f, 1.0 - 0.85 * f)


def _fill_aspect(box, hall, aspect: float):
    """``box`` grown (within ``hall``) towards the width/height ratio ``aspect`` of the space
    the map gets, so the page shows more of the floor around the stops rather than margin."""
    x0, y0, x1, y1 = box
    hx0, hy0, hx1, hy1 = hall
    w, h = x1 - x0, y1 - y0
    if w / max(h, 1) < aspect:
        grow, lo, hi, a, b = aspect * h - w, hx0, hx1, x0, x1
    else:
        grow, lo, hi, a, b = w / aspect - h, hy0, hy1, y0, y1
    a, b = a - grow / 2, b + grow / 2
    if a < lo:
        a, b = lo, b + (lo - a)
    if b > hi:
        a, b = a - (b - hi), hi
    a = max(a, lo)
    if w / max(h, 1) < aspect:
        return a, y0, b, y1
    return x0, a, x1, b


def _tray_kind(tray) -> str:
    return "+".join(sorted(tray.media_classes)) or "copper"


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _bbox(points):
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


class FloorMap(Flowable):
    """A scaled plan view of the floor with a work order's walking path and numbered stops.

    ``paths``: step ID -> polyline (mm) walked to reach that step's stops (from the plan).
    ``tray_fill``: ``(tray name, segment index) -> fill ratio`` (segment ``i`` joins the tray's
    points ``i`` and ``i + 1``); trays are shaded by it when given, else coloured by class.
    """

    def __init__(
        self,
        design,
        steps: Sequence,
        *,
        paths: Mapping[str, Sequence] | None = None,
        tray_fill: Mapping[tuple[str, int], float] | None = None,
        width: float = 180 * MM,
        max_height: float = 160 * MM,
    ):
        super().__init__()
        self.design = design
        self.points, _ = build_stops(steps)
        self.tray_fill = dict(tray_fill or {})
        self.legs, self.straight = self._legs(steps, paths or {})
        self.visited = {s.location.rack for s in steps if s.location.rack}
        self.used_trays = {
            t
            for s in steps
            if s.kind == "run_cable" and isinstance(s.action, dict)
            for t in s.action.get("tray_path") or ()
        }
        for s in steps:
            if s.kind == "run_cable" and isinstance(s.action, dict):
                self.visited.update(
                    e.get("rack", "") for e in (s.action.get("a"), s.action.get("b")) if e
                )
        fp = design.floorplan
        hall = list(fp.outline) or [(0, 0), (1000, 1000)]
        hx0, hy0, hx1, hy1 = _bbox(hall)
        x0, y0, x1, y1 = hx0, hy0, hx1, hy1
        if self.points:  # the stops frame the map; the way there may leave it
            bx0, by0, bx1, by1 = _bbox(self.points)
            m = FRAME_MARGIN_MM
            bx0, by0, bx1, by1 = (
                max(hx0, bx0 - m),
                max(hy0, by0 - m),
                min(hx1, bx1 + m),
                min(hy1, by1 + m),
            )
            if (bx1 - bx0) * (by1 - by0) < 0.5 * (hx1 - hx0) * (hy1 - hy0):
                x0, y0, x1, y1 = _fill_aspect(
                    (bx0, by0, bx1, by1),
                    (hx0, hy0, hx1, hy1),
                    (width - 4) / max(max_height - CAPTION_H - INSET_H, 1),
                )
        self.x0, self.y0 = x0, y0
        self.span = (max(x1 - x0, 1), max(y1 - y0, 1))
        self.whole = (x0, y0, x1, y1) == (hx0, hy0, hx1, hy1)
        self.caption_h = CAPTION_H if self.whole else max(CAPTION_H, INSET_H + 6)
        self.scale = min(
            (width - 4) / self.span[0], (max_height - self.caption_h - 4) / self.span[1]
        )
        self.width = width
        self.map_h = self.span[1] * self.scale
        self.height = self.map_h + self.caption_h + 4
        self.hall_box = (hx0, hy0, hx1, hy1)
        self.name_boxes: list[tuple[float, float, float, float]] = []  # rack names drawn

    # ------------------------------------------------------------ geometry

    @staticmethod
    def _legs(steps, paths) -> tuple[list[list], list[list]]:
        """Walked polylines from ``paths`` (the plan's: a step without one is done where its
        walker stands); without any paths, dashed straight legs between the stops."""
        legs, straight = [], []
        prev = None
        for step in steps:
            path = paths.get(step.id)
            pts = [tuple(map(float, p[:2])) for p in path] if path else []
            if len(pts) >= 2:
                legs.append(pts)
            visits = [tuple(map(float, v)) for v in step_visits(step)]
            if not paths and visits:
                chain = ([prev] if prev is not None else []) + visits
                if len(set(chain)) >= 2:  # standing still needs no path
                    straight.append(chain)
            if visits:
                prev = visits[-1]
        return legs, straight

    def _pt(self, x, y):
        return (2 + (x - self.x0) * self.scale, self.caption_h + 2 + (y - self.y0) * self.scale)

    def _inside(self, x, y) -> bool:
        return self.x0 <= x <= self.x0 + self.span[0] and self.y0 <= y <= self.y0 + self.span[1]

    def wrap(self, avail_w, avail_h):
        return self.width, self.height

    def _poly(self, pts, *, fill=None, stroke=colors.black, width=0.5, close=True):
        if len(pts) < 2:
            return
        c = self.canv
        path = c.beginPath()
        path.moveTo(*self._pt(*pts[0]))
        for p in pts[1:]:
            path.lineTo(*self._pt(*p))
        if close:
            path.close()
        c.setLineWidth(width)
        c.setStrokeColor(stroke)
        if fill is not None:
            c.setFillColor(fill)
        c.drawPath(path, stroke=1, fill=1 if fill is not None else 0)

    # ------------------------------------------------------------ layers

    def _racks(self, *, names: bool):
        c = self.canv
        fp = self.design.floorplan
        for rack in fp.racks:
            rt = fp.rack_types.get(rack.rack_type)
            if rt is None:
                continue
            visited = rack.name in self.visited
            corners = rack.footprint(rt)
            if not names:
                self._poly(
                    corners,
                    fill=RACK_VISITED if visited else RACK,
                    stroke=colors.Color(0.2, 0.2, 0.2)
                    if visited
                    else colors.Color(0.45, 0.45, 0.45),
                    width=0.8 if visited else 0.3,
                )
                continue
            pts = [self._pt(*p) for p in corners]
            bw = max(p[0] for p in pts) - min(p[0] for p in pts)
            bh = max(p[1] for p in pts) - min(p[1] for p in pts)
            font = "Helvetica-Bold" if visited else "Helvetica"
            name = pdf_text(rack.name)
            w1 = stringWidth(name, font, 1) or 1
            size = min(9.0, (bw - 2) / w1, bh * 0.6)
            if size >= 4.5:
                x, y = self._pt(*rack.position)
                half = stringWidth(name, font, size) / 2
                self.name_boxes.append((x - half, y - size * 0.4, x + half, y + size * 0.7))
                c.setFont(font, size)
                c.setFillColor(colors.black if visited else colors.Color(0.3, 0.3, 0.3))
                c.drawCentredString(x, y - size * 0.35, name)

    def _rack_boxes(self) -> list[tuple[float, float, float, float]]:
        fp = self.design.floorplan
        out = []
        for rack in fp.racks:
            rt = fp.rack_types.get(rack.rack_type)
            if rt is not None:
                out.append(_bbox([self._pt(*p) for p in rack.footprint(rt)]))
        return out

    def _trays(self):
        c = self.canv
        fp = self.design.floorplan
        c.saveState()
        c.setLineCap(1)
        c.setLineJoin(1)
        for tray in fp.trays:
            base = TRAY_COLOURS.get(_tray_kind(tray), OTHER_TRAY)
            used = tray.name in self.used_trays
            w = max(2.2, tray.width_mm * self.scale)
            for i, (a, b) in enumerate(zip(tray.points, tray.points[1:], strict=False)):
                ratio = self.tray_fill.get((tray.name, i))
                if ratio is None and self.tray_fill:
                    colour, alpha = colors.Color(0.85, 0.85, 0.85), 0.9
                elif ratio is None:
                    colour, alpha = base, 0.75 if used else 0.3
                else:
                    colour, alpha = fill_colour(ratio), 1.0
                c.setStrokeColor(colour)
                c.setStrokeAlpha(alpha)
                c.setLineWidth(w)
                c.line(*self._pt(*a), *self._pt(*b))
                if ratio is not None:
                    c.setStrokeAlpha(1.0)
                    c.setStrokeColor(colors.Color(0.4, 0.0, 0.0))
                    c.setLineWidth(0.3)
                    c.line(*self._pt(*a), *self._pt(*b))
            c.setStrokeAlpha(1.0)
        c.restoreState()

    def _tray_name(self, tray):
        c = self.canv
        name = pdf_text(tray.name)
        tw = stringWidth(name, "Helvetica-Bold", 6) + 3
        racks = self._rack_boxes()
        best = None
        for a, b in sorted(
            zip(tray.points, tray.points[1:], strict=False),
            key=lambda ab: -math.dist(ab[0], ab[1]),
        ):
            (ax, ay), (bx, by) = self._pt(*a), self._pt(*b)
            if tw + 4 > math.hypot(bx - ax, by - ay):
                continue
            angle = math.degrees(math.atan2(by - ay, bx - ax))
            along = abs(math.cos(math.radians(angle)))  # the label's extent along x and y
            hw = (tw * along + 8 * (1 - along)) / 2
            hh = (tw * (1 - along) + 8 * along) / 2
            for k in range(21):
                f = 0.5 + (k + 1) // 2 * 0.045 * (1 if k % 2 else -1)
                mx, my = ax + (bx - ax) * f, ay + (by - ay) * f
                box = (mx - hw, my - hh, mx + hw, my + hh)
                if any(_overlap(box, n) for n in self.name_boxes):
                    continue
                score = sum(_overlap(box, r) for r in racks)  # off the racks is best
                if best is None or score < best[0]:
                    best = (score, mx, my, angle)
                if score == 0:
                    break
            if best is not None and best[0] == 0:
                break
        if best is None:
            return
        _, mx, my, angle = best
        if angle > 90 or angle < -90:
            angle += 180
        c.saveState()
        c.translate(mx, my)
        c.rotate(angle)
        c.setFillColor(colors.white)
        c.setFillAlpha(0.85)
        c.rect(-tw / 2, -3.2, tw, 7.4, stroke=0, fill=1)
        c.setFillAlpha(1.0)
        c.setFont("Helvetica-Bold", 6)
        c.setFillColor(colors.Color(0.1, 0.1, 0.1))
        c.drawCentredString(0, -1.9, name)
        c.restoreState()

    def _waypoints(self):
        c = self.canv
        for wp in self.design.floorplan.waypoints:
            x, y = self._pt(*wp.position)
            colour = WAYPOINT_COLOURS.get(wp.kind, colors.black)
            c.setFillColor(colour)
            c.setStrokeColor(colors.white)
            c.setLineWidth(0.8)
            if wp.kind == "door":
                c.rect(x - 4, y - 2.5, 8, 5, stroke=1, fill=1)
            elif wp.kind == "staging":
                c.rect(x - 4, y - 4, 8, 8, stroke=1, fill=1)
            else:
                path = c.beginPath()
                path.moveTo(x - 4.5, y - 3.5)
                path.lineTo(x + 4.5, y - 3.5)
                path.lineTo(x, y + 4.5)
                path.close()
                c.drawPath(path, stroke=1, fill=1)
            name = pdf_text(wp.name).upper()
            text = name if wp.kind.upper() in name else f"{wp.kind.upper()} {name}"
            c.setFont("Helvetica-Bold", 7)
            c.setFillColor(colour)
            if x + 6 + stringWidth(text, "Helvetica-Bold", 7) > self.width - 2:
                c.drawRightString(x - 6, y - 2.5, text)
            else:
                c.drawString(x + 6, y - 2.5, text)

    def _route(self):
        c = self.canv
        c.saveState()
        c.setLineCap(1)
        c.setLineJoin(1)
        c.setStrokeColor(ROUTE)
        c.setLineWidth(1.6)
        for leg in self.legs:
            self._poly(leg, stroke=ROUTE, width=1.6, close=False)
        if self.straight:
            c.setDash(3, 2)
            for leg in self.straight:
                self._poly(leg, stroke=ROUTE, width=1.2, close=False)
        c.restoreState()

    def _stops(self):
        c = self.canv
        if len(self.points) > MAX_NUMBERED_STOPS:
            for k, xy in enumerate(self.points, start=1):
                c.setFillColor(STOP_GREEN if k == 1 else STOP_BLUE)
                c.circle(*self._pt(*xy), 1.3, stroke=0, fill=1)
            return
        placed: list[tuple[float, float, float]] = []
        badges = []
        for k, xy in enumerate(self.points, start=1):
            label = str(k)
            r = max(5.8, stringWidth(label, "Helvetica-Bold", STOP_PT) / 2 + 2.4)
            px, py = self._pt(*xy)
            cx, cy = self._free_spot(px, py, r, placed)
            placed.append((cx, cy, r))
            badges.append((k, label, r, px, py, cx, cy))
        for _, _, _, px, py, cx, cy in badges:  # leaders under every badge
            if (cx, cy) != (px, py):
                c.setStrokeColor(ROUTE)
                c.setLineWidth(0.6)
                c.line(px, py, cx, cy)
                c.setFillColor(ROUTE)
                c.circle(px, py, 1.2, stroke=0, fill=1)
        for k, label, r, _, _, cx, cy in badges:
            c.setFillColor(STOP_GREEN if k == 1 else STOP_BLUE)
            c.setStrokeColor(colors.white)
            c.setLineWidth(0.8)
            c.circle(cx, cy, r, stroke=1, fill=1)
            c.setFillColor(colors.white)
            c.setFont("Helvetica-Bold", STOP_PT)
            c.drawCentredString(cx, cy - STOP_PT * 0.35, label)

    @staticmethod
    def _free_spot(px, py, r, placed):
        """The stop's own point, else the nearest of rings of spots around it that no
        placed badge overlaps (a leader line joins badge and point)."""
        for ring in range(0, 4):
            dist = ring * (2 * r + 1.5)
            spots = [(px, py)] if ring == 0 else []
            for k in range(8 * ring):
                a = 2 * math.pi * k / (8 * ring)
                spots.append((px + dist * math.cos(a), py + dist * math.sin(a)))
            for sx, sy in spots:
                if all(math.hypot(sx - qx, sy - qy) >= r + qr + 0.8 for qx, qy, qr in placed):
                    return sx, sy
        return px, py

    def _caption(self, room: float):
        c = self.canv
        fp = self.design.floorplan
        n = len(self.points)
        numbered = n <= MAX_NUMBERED_STOPS
        if self.legs and not self.straight:
            how = "the walking path from the plan"
        elif self.legs:
            how = "the walking path from the plan; dashed: straight where the plan gives none"
        else:
            how = "straight legs between stops (no walking paths given): walk the aisles"
        extra = "" if numbered else f" (stops not numbered: more than {MAX_NUMBERED_STOPS})"
        area = "the whole hall" if self.whole else "the work order's area (inset: the hall)"
        lines = [
            f"{pdf_text(fp.name)}, {area}: {n} stops, numbered in the order first reached, "
            f"1 (green) first{extra}",
            f"Route: {how}.",
        ]
        c.setFont("Helvetica", 7)
        c.setFillColor(colors.black)
        for k, line in enumerate(lines):
            c.drawString(2, self.caption_h - 9 - 9 * k, fit(line, "Helvetica", 7, room - 4))
        x = 2
        y = self.caption_h - 29
        if self.tray_fill:
            c.drawString(x, y, "tray fill, of its limit:")
            x += 4 + stringWidth("tray fill, of its limit:", "Helvetica", 7)
            for ratio, text in ((0.0, "0%"), (0.5, "50%"), (1.0, "100%"), (1.2, ">100%")):
                c.setFillColor(fill_colour(ratio))
                c.setStrokeColor(colors.Color(0.4, 0.0, 0.0))
                c.rect(x, y - 1, 12, 6, stroke=1, fill=1)
                c.setFillColor(colors.black)
                c.drawString(x + 14, y, text)
                x += 16 + stringWidth(text, "Helvetica", 7) + 6
        else:
            c.drawString(x, y, "trays:")
            x += 24
            kinds = sorted({_tray_kind(t) for t in fp.trays})
            for kind in kinds:
                c.setFillColor(TRAY_COLOURS.get(kind, OTHER_TRAY))
                c.rect(x, y, 14, 4, stroke=0, fill=1)
                c.setFillColor(colors.black)
                c.drawString(x + 16, y, kind)
                x += 20 + stringWidth(kind, "Helvetica", 7) + 8
            if self.used_trays:
                text = "(dark: this work order's cables run on it)"
                c.drawString(x, y, text)
                x += stringWidth(text, "Helvetica", 7) + 8
        c.setFillColor(RACK_VISITED)
        c.setStrokeColor(colors.Color(0.2, 0.2, 0.2))
        c.rect(x, y - 1, 10, 6, stroke=1, fill=1)
        c.setFillColor(colors.black)
        c.drawString(x + 13, y, "racks this work order visits")

    def _start(self):
        """Where the walk comes from when that is off the map: 'from STAGING' at the edge."""
        first = self.legs[0] if self.legs else None
        if not first or self._inside(*first[0]):
            return
        for a, b in zip(first, first[1:], strict=False):
            if self._inside(*b):
                lo, hi = 0.0, 1.0  # bisect to the crossing of the frame
                for _ in range(30):
                    mid = (lo + hi) / 2
                    if self._inside(a[0] + (b[0] - a[0]) * mid, a[1] + (b[1] - a[1]) * mid):
                        hi = mid
                    else:
                        lo = mid
                x, y = a[0] + (b[0] - a[0]) * hi, a[1] + (b[1] - a[1]) * hi
                break
        else:
            return
        near = min(
            self.design.floorplan.waypoints,
            key=lambda w: math.dist(w.position, first[0]),
            default=None,
        )
        what = "the start"
        if near is not None and math.dist(near.position, first[0]) < 1500:
            what = pdf_text(near.name).upper()
        c = self.canv
        px, py = self._pt(x, y)
        text = f"from {what}"
        tw = stringWidth(text, "Helvetica-Bold", 7)
        left, bottom = 2, self.caption_h + 2
        right, top = left + self.span[0] * self.scale, bottom + self.map_h
        tx = min(max(px - tw / 2, left + 2), right - tw - 2)
        ty = min(max(py + 4, bottom + 3), top - 9)
        c.setFillColor(colors.white)
        c.rect(tx - 1.5, ty - 2, tw + 3, 9, stroke=0, fill=1)
        c.setFillColor(ROUTE)
        c.setFont("Helvetica-Bold", 7)
        c.drawString(tx, ty, text)

    def _inset(self):
        """The whole hall, small, beside the caption, with this map's frame drawn on it."""
        c = self.canv
        fp = self.design.floorplan
        hx0, hy0, hx1, hy1 = self.hall_box
        s = min((INSET_H * 2.2) / max(hx1 - hx0, 1), INSET_H / max(hy1 - hy0, 1))
        w = (hx1 - hx0) * s
        ox, oy = self.width - w - 2, 2

        def pt(x, y):
            return ox + (x - hx0) * s, oy + (y - hy0) * s

        c.saveState()
        c.setLineWidth(0.5)
        c.setStrokeColor(colors.black)
        path = c.beginPath()
        for i, p in enumerate(fp.outline):
            (path.moveTo if i == 0 else path.lineTo)(*pt(*p))
        path.close()
        c.drawPath(path, stroke=1, fill=0)
        c.setFillColor(colors.Color(0.6, 0.6, 0.6))
        for rack in fp.racks:
            c.circle(*pt(*rack.position), 0.9, stroke=0, fill=1)
        c.setStrokeColor(STOP_BLUE)
        c.setLineWidth(1.0)
        fx, fy = pt(self.x0, self.y0)
        c.rect(fx, fy, self.span[0] * s, self.span[1] * s, stroke=1, fill=0)
        c.restoreState()
        return w

    def draw(self):
        c = self.canv
        fp = self.design.floorplan
        self.name_boxes = []
        c.saveState()
        clip = c.beginPath()
        clip.rect(2, self.caption_h + 2, self.span[0] * self.scale, self.map_h)
        c.clipPath(clip, stroke=0, fill=0)
        self._poly(fp.outline, width=1.4)
        for ob in fp.obstacles:
            self._poly(ob.polygon, fill=OBSTACLE, stroke=colors.Color(0.5, 0.5, 0.5))
        self._racks(names=False)
        self._trays()
        self._racks(names=True)
        for tray in fp.trays:  # a name per tray, on a segment, clear of rack names
            self._tray_name(tray)
        for ob in fp.obstacles:  # names over the trays
            x0, y0, x1, y1 = _bbox([self._pt(*p) for p in ob.polygon])
            name = pdf_text(ob.name)
            if stringWidth(name, "Helvetica", 6) < (x1 - x0) - 2 and (y1 - y0) > 8:
                c.setFont("Helvetica", 6)
                c.setFillColor(colors.Color(0.2, 0.2, 0.2))
                c.drawCentredString((x0 + x1) / 2, (y0 + y1) / 2 - 2, name)
        self._route()
        self._waypoints()
        self._stops()
        self._start()
        c.restoreState()
        c.setStrokeColor(colors.Color(0.3, 0.3, 0.3))
        c.setLineWidth(0.6)
        c.rect(2, self.caption_h + 2, self.span[0] * self.scale, self.map_h, stroke=1, fill=0)
        inset_w = 0 if self.whole else self._inset() + 6
        self._caption(self.width - inset_w)
