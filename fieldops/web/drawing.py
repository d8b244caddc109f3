"""SVG drawings for the tablet and the dashboard: the floor map (outline, obstacles, racks,
walking path) and a rack elevation with the target U highlighted. Strings in, escaped markup
out; no scripts, no inline styles (the CSP forbids them): colours come from CSS classes."""

from __future__ import annotations

import threading
from collections import OrderedDict

from markupsafe import Markup, escape

STATE_CLASSES = (
    "pending",
    "ready",
    "in_progress",
    "awaiting_confirmation",
    "done",
    "blocked",
    "failed",
)


def _bounds(floor: dict) -> tuple[int, int, int, int]:
    pts = list(floor.get("outline") or [])
    for r in floor.get("racks", []):
        pts += r["footprint"]
    if not pts:
        return (0, 0, 1000, 1000)
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return (min(xs), min(ys), max(xs), max(ys))


class FloorDrawing:
    """The floor map of one plan revision, prepared once: hall, obstacles, rack outlines and
    waypoints are markup already; :meth:`render` adds what changes per request (the target
    rack, rack colours, the walking path, the goal) by joining strings.

    The hall seen from above (y up, as in the floor frame).
    """

    def __init__(self, floor: dict):
        x0, y0, x1, y1 = _bounds(floor)
        pad = 300
        self.w, self.h = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
        self._x0, self._y1, self._pad = x0, y1, pad
        font = max(120, min(self.w, self.h) // 40)
        base = []
        if floor.get("outline"):
            base.append(f'<polygon class="hall" points="{self.points(floor["outline"])}"/>')
        for o in floor.get("obstacles", []):
            base.append(
                f'<polygon class="obstacle obstacle-{escape(o["kind"])}" points="{self.points(o["polygon"])}"><title>{escape(o["name"])}</title></polygon>'
            )
        self._base = "".join(base)
        # trays: drawn thin on every map; the ones a cable follows are drawn again, thick
        self._trays = {
            t["name"]: self.points(t["points"])
            for t in floor.get("trays", [])
            if len(t["points"]) >= 2
        }
        self._tray_base = "".join(
            f'<polyline class="tray" points="{pts}"><title>tray {escape(name)}</title></polyline>'
            for name, pts in self._trays.items()
        )
        # per rack: its name and the markup inside its <g> (classes vary per request)
        self._racks: list[tuple[str, str]] = []
        for r in floor.get("racks", []):
            label = escape(r["name"])
            cx, cy = r["position"]
            self._racks.append(
                (
                    r["name"],
                    f' data-rack="{label}"><polygon points="{self.points(r["footprint"])}"><title>{label} {escape(r.get("location_id", ""))}</title></polygon>'
                    f'<text x="{self.X(cx)}" y="{self.Y(cy) + font // 3}" font-size="{font}" text-anchor="middle">{label}</text></g>',
                )
            )
        tail = []
        for wp in floor.get("waypoints", []):
            px, py = wp["position"]
            tail.append(
                f'<g class="waypoint"><rect x="{self.X(px) - 150}" y="{self.Y(py) - 150}" width="300" height="300"/><text x="{self.X(px)}" y="{self.Y(py) - 220}" font-size="{font}" text-anchor="middle">{escape(wp["name"])}</text></g>'
            )
        self._waypoints = "".join(tail)
        self._plain_racks = "".join(f'<g class="rack"{inner}' for _, inner in self._racks)
        self.racks = {r["name"]: r for r in floor.get("racks", [])}

    def X(self, x) -> int:
        return int(x - self._x0 + self._pad)

    def Y(self, y) -> int:
        return int(self._y1 - y + self._pad)  # flip: the floor frame's y grows up the screen

    def points(self, poly) -> str:
        return " ".join(f"{self.X(p[0])},{self.Y(p[1])}" for p in poly)

    def render(
        self,
        *,
        path: list | None = None,
        target: str = "",
        target_point=None,
        rack_states: dict | None = None,
        title: str = "Floor map",
        far: str = "",
        far_point=None,
        trays: tuple[str, ...] | list[str] = (),
    ) -> Markup:
        """``rack_states`` colours racks by state (dashboard); ``target`` highlights one rack;
        ``path`` is the walking polyline; ``target_point`` the step's stand-off point; for a
        cable, ``far`` is the other end's rack (``far_point`` its stand-off point) and
        ``trays`` the trays the cable runs along."""
        t = escape(title)
        out = [
            f'<svg class="floormap" viewBox="0 0 {self.w} {self.h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg">',
            f"<title>{t}</title>",
            self._base,
        ]
        if rack_states is None and not target and not far:
            out.append(self._plain_racks)
        else:
            for name, inner in self._racks:
                classes = "rack"
                if rack_states is not None:
                    state = rack_states.get(name, "none")
                    classes += f" state-{state}" if state in STATE_CLASSES else " state-none"
                if name == target:
                    classes += " target"
                elif name == far:
                    classes += " target far"
                out.append(f'<g class="{classes}"{inner}')
        # trays run overhead: drawn over the racks, the cable's own ones thick
        out.append(self._tray_base)
        for name in trays:
            if name in self._trays:
                out.append(
                    f'<polyline class="tray route" points="{self._trays[name]}"><title>cable runs along tray {escape(name)}</title></polyline>'
                )
        out.append(self._waypoints)
        if path and len(path) >= 2:
            out.append(f'<polyline class="walk" points="{self.points(path)}"/>')
            sx, sy = path[0]
            out.append(
                f'<circle class="you" cx="{self.X(sx)}" cy="{self.Y(sy)}" r="220"><title>you are here</title></circle>'
            )
        if target_point is not None:
            tx, ty = target_point
            out.append(
                f'<circle class="goal" cx="{self.X(tx)}" cy="{self.Y(ty)}" r="260"><title>step location</title></circle>'
            )
        if far_point is not None:
            fx, fy = far_point
            out.append(
                f'<circle class="goal far" cx="{self.X(fx)}" cy="{self.Y(fy)}" r="260"><title>the far end</title></circle>'
            )
        out.append("</svg>")
        return Markup("".join(out))


def rack_elevation(
    rack: dict | None,
    *,
    target_u: int | None,
    face: str = "front",
    rack_name: str = "",
    u_height: int = 1,
) -> Markup:
    """One rack face, U1 at the bottom; devices drawn, the target U range highlighted."""
    units = int((rack or {}).get("u_height") or 42)
    uh, w, left = 16, 240, 36
    top = 24
    height = units * uh
    name = escape((rack or {}).get("name") or rack_name or "rack")
    out = [
        f'<svg class="elevation" viewBox="0 0 {left + w + 12} {height + top + 12}" role="img" aria-label="Rack {name} {escape(face)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>Rack {name}, {escape(face)}</title>",
    ]
    out.append(
        f'<text x="{left}" y="16" font-size="14" class="elev-title">{name} \u00b7 {escape(face)}</text>'
    )
    out.append(f'<rect class="frame" x="{left}" y="{top}" width="{w}" height="{height}"/>')

    def ytop(u, n=1):
        return top + (units - (u + n - 1)) * uh

    for u in range(1, units + 1):
        if u % 5 == 0 or u == 1:
            out.append(
                f'<text x="{left - 4}" y="{ytop(u) + 12}" font-size="10" text-anchor="end" class="u-label">{u}</text>'
            )
    for d in (rack or {}).get("devices", []):
        if d.get("position") is None:
            continue
        n = max(1, int(d.get("u_height") or 1))
        cls = (
            "device"
            if d.get("face", "front") == face or d.get("full_depth")
            else "device other-face"
        )
        out.append(
            f'<rect class="{cls}" x="{left + 2}" y="{ytop(d["position"], n) + 1}" width="{w - 4}" height="{n * uh - 2}"><title>{escape(d["name"])} U{d["position"]}</title></rect>'
        )
        out.append(
            f'<text x="{left + 8}" y="{ytop(d["position"], n) + 12}" font-size="11" class="device-label">{escape(d["name"])}</text>'
        )
    if target_u is not None and 1 <= target_u <= units:
        n = max(1, u_height)
        out.append(
            f'<rect class="target-u" x="{left - 2}" y="{ytop(target_u, n)}" width="{w + 4}" height="{n * uh}"><title>target U{target_u}</title></rect>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def device_height_at(rack: dict | None, u: int | None) -> int:
    for d in (rack or {}).get("devices", []):
        if d.get("position") == u:
            return max(1, int(d.get("u_height") or 1))
    return 1


class DrawingCache:
    """Drawings of the active plan revision, made once per process: the prepared floor map,
    rack elevations (a revision's floor never changes; a new revision has a new ID). Walking
    paths are the plan's own: nothing here walks the floor."""

    def __init__(self, max_elevations: int = 2048):
        self._lock = threading.Lock()
        self._floors: dict[int, FloorDrawing] = {}
        self._elevations: OrderedDict[tuple, Markup] = OrderedDict()
        self.max_elevations = max_elevations

    def floor(self, revision_id: int, floor: dict) -> FloorDrawing:
        d = self._floors.get(revision_id)
        if d is None:
            d = FloorDrawing(floor)
            with self._lock:
                if len(self._floors) >= 4:  # old revisions are not drawn again
                    self._floors.clear()
                self._floors[revision_id] = d
        return d

    def elevation(
        self,
        revision_id: int,
        rack: dict | None,
        *,
        target_u: int | None,
        face: str,
        rack_name: str,
    ) -> Markup:
        key = (revision_id, rack_name, face, target_u)
        with self._lock:
            hit = self._elevations.get(key)
            if hit is not None:
                self._elevations.move_to_end(key)
                return hit
        svg = rack_elevation(
            rack,
            target_u=target_u,
            face=face,
            rack_name=rack_name,
            u_height=device_height_at(rack, target_u),
        )
        with self._lock:
            self._elevations[key] = svg
            while len(self._elevations) > self.max_elevations:
                self._elevations.popitem(last=False)
        return svg
