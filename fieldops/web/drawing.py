"""SVG drawings for the tablet and the dashboard: the floor map (outline, obstacles, racks,
walking path) and a rack elevation with the target U highlighted. Strings in, escaped markup
out; no scripts, no inline styles (the CSP forbids them): colours come from CSS classes."""

from __future__ import annotations

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


def floor_map(
    floor: dict,
    *,
    path: list | None = None,
    target: str = "",
    target_point=None,
    rack_states: dict | None = None,
    title: str = "Floor map",
) -> Markup:
    """The hall seen from above (y up, as in the floor frame). ``rack_states`` colours racks
    by state (dashboard); ``target`` highlights one rack; ``path`` is the walking polyline."""
    x0, y0, x1, y1 = _bounds(floor)
    pad = 300
    w, h = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad

    def X(x):
        return int(x - x0 + pad)

    def Y(y):
        return int(y1 - y + pad)  # flip: the floor frame's y grows up the screen

    def pts(poly):
        return " ".join(f"{X(p[0])},{Y(p[1])}" for p in poly)

    out = [
        f'<svg class="floormap" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if floor.get("outline"):
        out.append(f'<polygon class="hall" points="{pts(floor["outline"])}"/>')
    for o in floor.get("obstacles", []):
        out.append(
            f'<polygon class="obstacle obstacle-{escape(o["kind"])}" points="{pts(o["polygon"])}"><title>{escape(o["name"])}</title></polygon>'
        )
    font = max(120, min(w, h) // 40)
    for r in floor.get("racks", []):
        classes = ["rack"]
        if rack_states is not None:
            state = rack_states.get(r["name"], "none")
            classes.append(f"state-{state}" if state in STATE_CLASSES else "state-none")
        if r["name"] == target:
            classes.append("target")
        label = escape(r["name"])
        out.append(
            f'<g class="{" ".join(classes)}" data-rack="{label}"><polygon points="{pts(r["footprint"])}"><title>{label} {escape(r.get("location_id", ""))}</title></polygon>'
        )
        cx, cy = r["position"]
        out.append(
            f'<text x="{X(cx)}" y="{Y(cy) + font // 3}" font-size="{font}" text-anchor="middle">{label}</text></g>'
        )
    for wp in floor.get("waypoints", []):
        px, py = wp["position"]
        out.append(
            f'<g class="waypoint"><rect x="{X(px) - 150}" y="{Y(py) - 150}" width="300" height="300"/><text x="{X(px)}" y="{Y(py) - 220}" font-size="{font}" text-anchor="middle">{escape(wp["name"])}</text></g>'
        )
    if path and len(path) >= 2:
        out.append(f'<polyline class="walk" points="{pts(path)}"/>')
        sx, sy = path[0]
        out.append(
            f'<circle class="you" cx="{X(sx)}" cy="{Y(sy)}" r="220"><title>you are here</title></circle>'
        )
    if target_point is not None:
        tx, ty = target_point
        out.append(
            f'<circle class="goal" cx="{X(tx)}" cy="{Y(ty)}" r="260"><title>step location</title></circle>'
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
