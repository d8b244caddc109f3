"""Helpers for the PDF tests: hand-built cable plans and work plans, page rendering, QR decoding.

Cable plans and work plans are built here by hand (not by the routing and planning code) so
the PDF tests state exactly what they print. Rendering uses pypdfium2; decoding uses
zxing-cpp's reader, independent of how the symbols were drawn.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import zxingcpp

from fieldops.adapters.designfile import load_design
from fieldops.core.cableplan import CableEnd, CablePlan, CableRun
from fieldops.core.workorder import (
    CONFIRM_MANUAL,
    CONFIRM_SCAN_ASSET,
    CONFIRM_SCAN_LABEL,
    Assignee,
    Location,
    Part,
    Step,
    WorkOrder,
    WorkPlan,
)
from tests.samples import write_design


def tiny(tmp_path: Path, **kw):
    """The canonical tiny design (tests/samples.py), loaded."""
    return load_design(write_design(tmp_path / "tiny", **kw)).design


def cable_id(key: str) -> str:
    """A stable-looking cable ID (upper-case alphanumerics) derived from the cable's ends."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    n = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    out = ""
    for _ in range(7):
        n, r = divmod(n, len(alphabet))
        out += alphabet[r]
    return "C-" + out


def _end(design, term) -> CableEnd:
    dev = design.device(term.device)
    rack = design.floorplan.rack(dev.rack)
    loc = design.floorplan.grid.location_id(*rack.position)
    return CableEnd(
        dev.name,
        term.port,
        dev.rack,
        loc,
        dev.position,
        dev.face,
        f"{loc} {dev.name}:{term.port}".upper(),
    )


def make_plan(design) -> CablePlan:
    runs = []
    for cable in design.cables:
        media = design.media[cable.media]
        cid = cable_id("|".join(cable.key))
        runs.append(
            CableRun(
                cid,
                _end(design, cable.a),
                _end(design, cable.b),
                cable.media,
                media.media_class,
                2400.0,
                3100.0,
                media.lengths_mm[-1],
                media.sku_for(media.lengths_mm[-1]),
                qr_payload=f"{cid}/A",
            )
        )
    return CablePlan(tuple(runs))


def _loc(design, rack_name, face="front", u=None) -> Location:
    rack = design.floorplan.rack(rack_name)
    rt = design.floorplan.rack_types[rack.rack_type]
    x, y = rack.face_point(rt, face, 600)
    return Location(
        rack_name, design.floorplan.grid.location_id(*rack.position), face, u, round(x), round(y)
    )


def make_work(design, plan: CablePlan, *, assignee: str = "technician-1") -> WorkPlan:
    steps = []
    for rack in sorted(design.floorplan.racks, key=lambda r: r.name):
        steps.append(
            Step(
                f"RACK-{rack.name}",
                "rack",
                "place_rack",
                f"Place rack {rack.name}",
                f"Place, level and bond rack {rack.name}.",
                _loc(design, rack.name),
                CONFIRM_MANUAL,
            )
        )
    for dev in sorted(design.devices, key=lambda d: (d.rack, d.position or 0, d.name)):
        steps.append(
            Step(
                f"STACK-{dev.name}".upper(),
                "stack",
                "mount_device",
                f"Mount {dev.name}",
                f"Mount {dev.name} ({dev.device_type}) at U{dev.position} on the {dev.face}.",
                _loc(design, dev.rack, dev.face, dev.position),
                CONFIRM_SCAN_ASSET,
                (dev.asset_tag or dev.name,),
                (Part("device", dev.name, dev.device_type),),
            )
        )
    for run in plan.runs:
        steps.append(
            Step(
                f"CABLE-{run.id}",
                "cable",
                "run_cable",
                f"Run {run.id}",
                f"Run {run.id} from {run.a.device}:{run.a.port} to {run.b.device}:{run.b.port}; plug both ends.",
                _loc(design, run.a.rack, run.a.face, run.a.u),
                CONFIRM_SCAN_LABEL,
                (run.id,),
                (Part("cable", run.id, run.sku),),
            )
        )
    wo = WorkOrder(
        "WO-1",
        "Tiny hall build",
        assignee,
        1,
        design.floorplan.name,
        tuple(s.id for s in steps),
        42.0,
    )
    return WorkPlan(tuple(steps), (wo,), (Assignee(assignee, "technician", "technician"),))


def render(path: Path, dpi: int = 300):
    """Every page of a PDF as a greyscale PIL image."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        return [pdf[i].render(scale=dpi / 72, grayscale=True).to_pil() for i in range(len(pdf))]
    finally:
        pdf.close()


@dataclass(frozen=True)
class Word:
    """A word printed on a PDF page: its text, bounding box (PDF points, origin bottom-left)
    and font size (points), as pypdfium2 reads them back."""

    page: int
    text: str
    left: float
    bottom: float
    right: float
    top: float
    size: float

    @property
    def x(self) -> float:
        return (self.left + self.right) / 2

    @property
    def y(self) -> float:
        return (self.bottom + self.top) / 2


def words(path: Path) -> list[Word]:
    """Every whitespace-separated word of every page, in reading order."""
    out: list[Word] = []
    pdf = pdfium.PdfDocument(str(path))
    try:
        for n in range(len(pdf)):
            tp = pdf[n].get_textpage()
            count = tp.count_chars()
            text = tp.get_text_range(0, count)
            if len(text) != count:  # pdfium adds no characters for plain text; be safe
                text = "".join(tp.get_text_range(i, 1) for i in range(count))
            start = None
            for i in range(count + 1):
                blank = i == count or text[i].isspace()
                if not blank and start is None:
                    start = i
                if blank and start is not None:
                    boxes = [tp.get_charbox(k) for k in range(start, i)]
                    out.append(
                        Word(
                            n,
                            text[start:i],
                            min(b[0] for b in boxes),
                            min(b[1] for b in boxes),
                            max(b[2] for b in boxes),
                            max(b[3] for b in boxes),
                            pdfium_c.FPDFText_GetFontSize(tp.raw, start),
                        )
                    )
                    start = None
        return out
    finally:
        pdf.close()


def page_sizes(path) -> set[tuple[int, int]]:
    """The distinct page sizes of a PDF in whole points."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        return {tuple(round(v) for v in pdf[i].get_size()) for i in range(len(pdf))}
    finally:
        pdf.close()


def decode(image) -> list[str]:
    """The text of every QR code zxing-cpp finds in an image."""
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_decoder_finds_a_qrcode_package_symbol():
    """The decode helper itself works: a symbol made by the qrcode package reads back."""
    import qrcode

    img = qrcode.make("C-TEST123/A", box_size=6, border=4).get_image().convert("L")
    assert decode(img) == ["C-TEST123/A"]


def test_cable_ids_are_alphanumeric_and_stable():
    assert cable_id("a|b") == cable_id("a|b")
    assert cable_id("a|b") != cable_id("a|c")
    cid = cable_id("srv1:eth0|sw1:swp1")
    assert len(cid) == 9 and cid.startswith("C-") and cid[2:].isalnum() and cid.upper() == cid
