"""The floor map on a work order's cover: hall, obstacles, racks, the walking route and numbered stops."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable

from fieldops.adapters.pdf.text import fit, pdf_text

MM = 72 / 25.4
ROUTE = colors.Color(0.1, 0.35, 0.8)
MAX_NUMBERED_STOPS = 400  # beyond this the route is drawn but stops are only dotted


def route_stops(steps) -> list[tuple[tuple[float, float], list[int]]]:
    """Consecutive steps at the same floor point share one stop: ``[(xy, [step numbers])]``.

    Steps without a floor pose (x = y = 0) do not add a stop.
    """
    stops: list[tuple[tuple[float, float], list[int]]] = []
    for n, step in enumerate(steps, start=1):
        loc = step.location
        if loc.x_mm == 0 and loc.y_mm == 0:
            continue
        xy = (float(loc.x_mm), float(loc.y_mm))
        if stops and stops[-1][0] == xy:
            stops[-1][1].append(n)
        else:
            stops.append((xy, [n]))
    return stops


def route_polyline(points, walk=None) -> list[tuple[float, float]]:
    """The walking route through ``points``: legs from ``walk.walk`` when a walk graph is
    given (straight legs where it has no path), else straight legs."""
    out: list[tuple[float, float]] = []
    for a, b in zip(points, points[1:], strict=False):
        leg = [a, b]
        if walk is not None:
            try:
                leg = [tuple(p) for p in walk.walk(a, b)[0]]
            except Exception:  # noqa: BLE001 - an unreachable leg is drawn straight
                leg = [a, b]
        out.extend(leg if not out else leg[1:])
    return out or list(points)


class FloorMap(Flowable):
    """Scaled plan view; the route is drawn over racks and obstacles with numbered stops."""

    def __init__(
        self, design, steps, *, walk=None, width: float = 180 * MM, max_height: float = 120 * MM
    ):
        super().__init__()
        self.design = design
        self.stops = route_stops(steps)
        self.route = route_polyline([xy for xy, _ in self.stops], walk)
        self.walked = walk is not None
        fp = design.floorplan
        xs = [p[0] for p in fp.outline] or [0, 1000]
        ys = [p[1] for p in fp.outline] or [0, 1000]
        self.x0, self.y0 = min(xs), min(ys)
        span_x, span_y = max(max(xs) - self.x0, 1), max(max(ys) - self.y0, 1)
        self.scale = min((width - 4) / span_x, (max_height - 16) / span_y)
        self.width = width
        self.height = span_y * self.scale + 16

    def wrap(self, avail_w, avail_h):
        return self.width, self.height

    def _pt(self, x, y):
        return (2 + (x - self.x0) * self.scale, 14 + (y - self.y0) * self.scale)

    def _poly(self, pts, *, fill=None, stroke=colors.black, width=0.5):
        if len(pts) < 2:
            return
        c = self.canv
        path = c.beginPath()
        path.moveTo(*self._pt(*pts[0]))
        for p in pts[1:]:
            path.lineTo(*self._pt(*p))
        path.close()
        c.setLineWidth(width)
        c.setStrokeColor(stroke)
        if fill is not None:
            c.setFillColor(fill)
        c.drawPath(path, stroke=1, fill=1 if fill is not None else 0)

    def draw(self):
        c = self.canv
        fp = self.design.floorplan
        self._poly(fp.outline, width=1.2)
        for ob in fp.obstacles:
            self._poly(
                ob.polygon, fill=colors.Color(0.75, 0.75, 0.75), stroke=colors.Color(0.5, 0.5, 0.5)
            )
        show_names = self.scale * 600 > 14
        for rack in fp.racks:
            rt = fp.rack_types.get(rack.rack_type)
            if rt is None:
                continue
            self._poly(
                rack.footprint(rt),
                fill=colors.Color(0.93, 0.93, 0.93),
                stroke=colors.Color(0.4, 0.4, 0.4),
                width=0.3,
            )
            if show_names:
                x, y = self._pt(*rack.position)
                c.setFont("Helvetica", 4.5)
                c.setFillColor(colors.Color(0.3, 0.3, 0.3))
                c.drawCentredString(x, y - 1.5, fit(rack.name, "Helvetica", 4.5, 600 * self.scale))
        if len(self.route) >= 2:
            c.setStrokeColor(ROUTE)
            c.setLineWidth(1.0)
            path = c.beginPath()
            path.moveTo(*self._pt(*self.route[0]))
            for p in self.route[1:]:
                path.lineTo(*self._pt(*p))
            c.drawPath(path, stroke=1, fill=0)
        numbered = len(self.stops) <= MAX_NUMBERED_STOPS
        places: dict[tuple[float, float], list[int]] = {}
        for k, (xy, _) in enumerate(self.stops, start=1):
            places.setdefault(xy, []).append(k)  # a place visited twice shows both stop numbers
        for xy, ks in places.items():
            x, y = self._pt(*xy)
            c.setFillColor(colors.green if ks[0] == 1 else ROUTE)
            if numbered:
                label = ",".join(map(str, ks[:3])) + (",…" if len(ks) > 3 else "")
                size = 4.5 if len(label) < 3 else 3.6
                r = max(4.2, stringWidth(label, "Helvetica-Bold", size) / 2 + 1.2)
                c.circle(x, y, r, stroke=0, fill=1)
                c.setFillColor(colors.white)
                c.setFont("Helvetica-Bold", size)
                c.drawCentredString(x, y - size * 0.35, label)
            else:
                c.circle(x, y, 1.2, stroke=0, fill=1)
        c.setFont("Helvetica", 7)
        c.setFillColor(colors.black)
        how = "walking path" if self.walked else "straight legs between stops; walk the aisles"
        extra = "" if numbered else f" (stops not numbered: more than {MAX_NUMBERED_STOPS})"
        c.drawString(
            2,
            2,
            f"{pdf_text(fp.name)}: {len(self.stops)} stops, green = first; route: {how}{extra}",
        )
