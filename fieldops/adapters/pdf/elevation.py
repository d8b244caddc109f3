"""Rack elevation drawings: front and rear side by side, to scale, devices named, targets
highlighted, and the face where a cable end's ports are marked."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.platypus import Flowable

from fieldops.adapters.pdf.text import fit
from fieldops.core.model import FRONT, OVERHEAD, REAR, U_MM

MM = 72 / 25.4
HIGHLIGHT = colors.Color(1.0, 0.85, 0.2)
PORTS = colors.Color(0.55, 0.80, 1.0)  # a cable end's device, on the face its ports are on
FAR_SIDE = colors.Color(0.88, 0.88, 0.88)
DEVICE = colors.Color(0.80, 0.88, 0.97)


def rack_devices(design, rack_name: str) -> list:
    return sorted(
        (d for d in design.devices if d.rack == rack_name), key=lambda d: (d.position or 0, d.name)
    )


class RackElevation(Flowable):
    """Both faces of one rack drawn to scale (the rack's U pitch is 44.45 mm).

    ``targets`` names devices to highlight (stack steps' devices); ``ports`` maps a device to
    the rack face (or faces) its cabled ports are on (``core.routing.port_face``, as the cable steps name
    it): it is marked ``<< PORTS`` on that face. The scale is the largest that fits
    ``max_height`` points, so a 42U rack and a 48U rack print at their true ratio.
    Zero-U devices (PDUs on the side rails) are listed under the drawing.
    """

    def __init__(
        self,
        design,
        rack_name: str,
        *,
        targets=(),
        ports=None,
        max_width: float = 170 * MM,
        max_height: float = 200 * MM,
    ):
        super().__init__()
        self.design = design
        self.rack_name = rack_name
        self.targets = set(targets)
        self.ports = {  # device -> the faces its cabled ports are on
            name: {faces} if isinstance(faces, str) else set(faces)
            for name, faces in (ports or {}).items()
        }
        fp = design.floorplan
        rack = fp.rack(rack_name)
        rt = fp.rack_types.get(rack.rack_type) if rack else None
        self.u_height = max(1, int(rt.u_height)) if rt else 42
        self.devices = rack_devices(design, rack_name)
        self.zero_u = [d for d in self.devices if d.position is None]
        self.max_width = max_width
        self.max_height = max_height
        list_lines = min(len(self.zero_u), 6)
        self.list_h = (list_lines * 8 + 4) if self.zero_u else 0
        head = 14
        self.u_pt = max(
            1.5, min(U_MM * MM * 0.5, (max_height - head - self.list_h - 6) / self.u_height)
        )
        self.width = max_width
        self.height = head + self.u_height * self.u_pt + 6 + self.list_h

    def wrap(self, avail_w, avail_h):
        return self.width, self.height

    def _face_devices(self, face: str):
        """(device, far_side) pairs drawn on ``face``: its own devices, and full-depth ones (or
        ones whose cabled ports are on this face) seen from behind."""
        out = []
        for d in self.devices:
            if d.position is None:
                continue
            if d.face == face:
                out.append((d, False))
            else:
                dt = self.design.device_types.get(d.device_type)
                if dt is None or dt.is_full_depth or face in self.ports.get(d.name, ()):
                    out.append((d, True))
        return out

    def draw(self):
        c = self.canv
        gap = 16 * MM
        panel_w = min(70 * MM, (self.width - gap - 14) / 2)
        rack_h = self.u_height * self.u_pt
        base_y = self.list_h + 6
        num_size = max(3.0, min(6.0, self.u_pt * 0.8))
        step = 1 if self.u_pt >= 5 else 5
        for i, face in enumerate((FRONT, REAR)):
            x0 = 14 + i * (panel_w + gap)
            c.setFont("Helvetica-Bold", 8)
            c.setFillColor(colors.black)
            c.drawString(
                x0,
                base_y + rack_h + 4,
                fit(f"{self.rack_name} {face}", "Helvetica-Bold", 8, panel_w),
            )
            c.setStrokeColor(colors.black)
            c.setLineWidth(0.8)
            c.rect(x0, base_y, panel_w, rack_h, stroke=1, fill=0)
            c.setLineWidth(0.2)
            c.setStrokeColor(colors.Color(0.7, 0.7, 0.7))
            c.setFont("Helvetica", num_size)
            for u in range(1, self.u_height + 1):
                y = base_y + (u - 1) * self.u_pt
                c.line(x0, y, x0 + panel_w, y)
                if (u - 1) % step == 0 or u == self.u_height:
                    c.setFillColor(colors.black)
                    c.drawRightString(x0 - 2, y + self.u_pt * 0.2, str(u))
            for dev, far in self._face_devices(face):
                dt = self.design.device_types.get(dev.device_type)
                units = dt.units if dt else 1
                lo = max(1, dev.position)
                hi = min(self.u_height, dev.position + units - 1)
                if hi < lo:
                    continue
                y = base_y + (lo - 1) * self.u_pt
                h = (hi - lo + 1) * self.u_pt
                target = dev.name in self.targets and not far
                cabled = face in self.ports.get(dev.name, ())
                fill = HIGHLIGHT if target else PORTS if cabled else FAR_SIDE if far else DEVICE
                c.setFillColor(fill)
                c.setStrokeColor(colors.red if target else colors.black)
                c.setLineWidth(1.6 if target else 1.0 if cabled else 0.4)
                c.rect(x0 + 1, y + 0.3, panel_w - 2, h - 0.6, stroke=1, fill=1)
                size = max(3.0, min(7.0, h * 0.6))
                c.setFillColor(colors.black)
                c.setFont("Helvetica-Bold" if target or cabled else "Helvetica", size)
                text = (
                    f"{'(rear of) ' if far else ''}{dev.name}"
                    + (" << TARGET" if target else "")
                    + (" << PORTS" if cabled else "")
                )
                c.drawString(
                    x0 + 3,
                    y + (h - size) / 2 + size * 0.15,
                    fit(text, c._fontname, size, panel_w - 6),
                )
        if not [d for d in self.devices if d.position is not None]:
            c.setFont("Helvetica-Oblique", 8)
            c.setFillColor(colors.Color(0.4, 0.4, 0.4))
            c.drawString(14, base_y + rack_h / 2, "no devices racked")
        if self.zero_u:
            c.setFont("Helvetica", 7)
            c.setFillColor(colors.black)
            lines = [
                f"above: {d.name} (busway, {d.face}, {d.device_type})"
                if d.mounting == OVERHEAD
                else f"0U: {d.name} ({d.face}, {d.device_type})"
                for d in self.zero_u
            ]
            if len(lines) > 6:
                lines = lines[:5] + [f"... and {len(lines) - 5} more zero-U devices"]
            for k, line in enumerate(lines):
                c.drawString(
                    14, self.list_h - 8 * (k + 1), fit(line, "Helvetica", 7, self.width - 14)
                )
