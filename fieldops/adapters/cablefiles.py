"""Write a cable plan as files: ``cutsheet.csv``, ``bom.csv``, ``routes.json``, ``trays.csv``.

Columns and the spares policy are documented in docs/cables.md. Given the work plan, the cut
sheet also names the work order and step that runs each cable or plugs each cord. Every file is written to a
temporary name and renamed into place, so a failure never leaves half a file (the plan
command also stages the whole output folder).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from pathlib import Path

from fieldops.core.cableplan import CablePlan, CableRun
from fieldops.core.model import Design
from fieldops.core.workorder import CABLE_STEP_KINDS, WorkPlan
from fieldops.outdir import atomic_write

SCHEMA = "fieldops.routes/1.0"
SPARES_RATE = 0.02  # 2 % spares per SKU, rounded up ...
SPARES_MIN = 1  # ... and at least one spare of every SKU ordered

CUTSHEET_COLUMNS = (
    "cable_id",
    "a_location",
    "a_rack",
    "a_u",
    "a_device",
    "a_port",
    "a_face",
    "b_location",
    "b_rack",
    "b_u",
    "b_device",
    "b_port",
    "b_face",
    "media",
    "media_class",
    "route_mm",
    "bends",
    "length_mm",
    "ordered_mm",
    "sku",
    "a_label",
    "b_label",
    "tray_path",
    "problem",
)

# with a work plan: the step that runs the cable (run_cable) or plugs the cord (connect_power)
WORK_COLUMNS = ("work_order", "step")

BOM_COLUMNS = ("sku", "media", "media_class", "length_mm", "quantity", "spares", "order_quantity")

TRAY_COLUMNS = (
    "tray",
    "segment",
    "x0_mm",
    "y0_mm",
    "x1_mm",
    "y1_mm",
    "elevation_mm",
    "length_mm",
    "media_classes",
    "cables",
    "cable_area_mm2",
    "usable_area_mm2",
    "fill_ratio",
    "max_fill_ratio",
    "over",
    "biggest",
    "together",
)


def spares_for(quantity: int) -> int:
    """Spares ordered with ``quantity`` cables of one SKU: 2 %, rounded up, at least 1."""
    return max(SPARES_MIN, math.ceil(quantity * SPARES_RATE - 1e-9)) if quantity > 0 else 0


def cable_steps(work: WorkPlan) -> dict[str, tuple[str, str]]:
    """cable ID -> (work order ID, step ID) of the step that runs or plugs it.

    The step is the first ``run_cable`` / ``connect_power`` step whose parts name the cable;
    the work order is the one listing that step (``""`` for a step no work order holds).
    """
    order_of = {sid: wo.id for wo in work.workorders for sid in wo.steps}
    out: dict[str, tuple[str, str]] = {}
    for step in work.steps:
        if step.kind not in CABLE_STEP_KINDS:
            continue
        for part in step.parts:
            if part.kind in ("cable", "cord") and part.ref not in out:
                out[part.ref] = (order_of.get(step.id, ""), step.id)
    return out


def cutsheet_columns(work: WorkPlan | None = None) -> tuple[str, ...]:
    """The cut sheet's columns: with a work plan, ``work_order`` and ``step`` at the end."""
    return CUTSHEET_COLUMNS + (WORK_COLUMNS if work is not None else ())


def cutsheet_rows(plan: CablePlan, work: WorkPlan | None = None) -> list[dict]:
    """One row per cable, sorted by A-end rack, device and port (then cable ID); with a work
    plan, each row also names its work order and step (empty when no step runs the cable)."""
    problem = {p.cable_id: p.message for p in plan.problems}
    steps = cable_steps(work) if work is not None else None
    rows = []
    for r in sorted(plan.runs, key=lambda r: (r.a.rack, r.a.device, r.a.port, r.id)):
        rows.append(
            {
                "cable_id": r.id,
                "a_location": r.a.location_id,
                "a_rack": r.a.rack,
                "a_u": "" if r.a.u is None else r.a.u,
                "a_device": r.a.device,
                "a_port": r.a.port,
                "a_face": r.a.face,
                "b_location": r.b.location_id,
                "b_rack": r.b.rack,
                "b_u": "" if r.b.u is None else r.b.u,
                "b_device": r.b.device,
                "b_port": r.b.port,
                "b_face": r.b.face,
                "media": r.media,
                "media_class": r.media_class,
                "route_mm": _num(r.route_mm),
                "bends": r.bends,
                "length_mm": _num(r.length_mm),
                "ordered_mm": r.ordered_mm,
                "sku": r.sku,
                "a_label": r.a.label,
                "b_label": r.b.label,
                "tray_path": " > ".join(r.tray_path),
                "problem": problem.get(r.id, ""),
            }
        )
        if steps is not None:
            order, step = steps.get(r.id, ("", ""))
            rows[-1]["work_order"] = order
            rows[-1]["step"] = step
    return rows


def bom_rows(design: Design, plan: CablePlan) -> list[dict]:
    """Per SKU (media x ordered length): quantity, spares and what to order. Unorderable
    cables (ordered length 0) are left out; they are listed as problems."""
    counts: dict[tuple[str, int, str], int] = defaultdict(int)
    for r in plan.runs:
        if r.ordered_mm and r.sku:
            counts[(r.media, r.ordered_mm, r.sku)] += 1
    rows = []
    for (media, length, sku), qty in sorted(counts.items()):
        m = design.media.get(media)
        spares = spares_for(qty)
        rows.append(
            {
                "sku": sku,
                "media": media,
                "media_class": m.media_class if m else "",
                "length_mm": length,
                "quantity": qty,
                "spares": spares,
                "order_quantity": qty + spares,
            }
        )
    return rows


def tray_rows(plan: CablePlan) -> list[dict]:
    """One row per tray segment (floor-plan order): its fill at the fullest cross-section."""
    rows = []
    for s in plan.tray_segments:
        rows.append(
            {
                "tray": s.tray,
                "segment": s.segment,
                "x0_mm": s.start[0],
                "y0_mm": s.start[1],
                "x1_mm": s.end[0],
                "y1_mm": s.end[1],
                "elevation_mm": s.elevation_mm,
                "length_mm": _num(s.length_mm),
                "media_classes": "+".join(s.media_classes),
                "cables": s.cables,
                "cable_area_mm2": _num(round(s.cable_area_mm2, 1)),
                "usable_area_mm2": s.usable_area_mm2,
                "fill_ratio": f"{s.fill_ratio:.4f}",
                "max_fill_ratio": f"{s.max_fill_ratio:g}",
                "over": "yes" if s.over else "",
                "biggest": " ".join(f"{m}x{n}" for m, n, _ in s.contributors[:3]),
                "together": " ".join(f"{a}+{b}" for a, b in s.together),
            }
        )
    return rows


def routes_document(design: Design, plan: CablePlan) -> dict:
    """The routes.json document: per cable its 3-D polyline (mm, A end to B end)."""
    return {
        "schema": SCHEMA,
        "design": {"name": design.name, "revision": design.revision, "hall": design.floorplan.name},
        "units": "mm",
        "cables": [_route(r) for r in sorted(plan.runs, key=lambda r: r.id)],
        "problems": [
            {
                "cable_id": p.cable_id,
                "media": p.media,
                "length_mm": p.length_mm,
                "reach_mm": p.reach_mm,
                "suggestion": p.suggestion,
                "message": p.message,
            }
            for p in plan.problems
        ],
        "warnings": list(plan.warnings),
    }


def _route(r: CableRun) -> dict:
    return {
        "id": r.id,
        "a": f"{r.a.device}:{r.a.port}",
        "b": f"{r.b.device}:{r.b.port}",
        "media": r.media,
        "media_class": r.media_class,
        "route_mm": _num(r.route_mm),
        "length_mm": _num(r.length_mm),
        "ordered_mm": r.ordered_mm,
        "bends": r.bends,
        "tray_path": list(r.tray_path),
        "polyline": [[_num(v) for v in p] for p in r.polyline],
    }


def _num(x: float):
    """Whole numbers as int (so CSV/JSON read ``1200``, not ``1200.0``)."""
    return int(x) if float(x).is_integer() else round(float(x), 1)


def _csv_text(columns, rows) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def write_cable_files(
    design: Design, plan: CablePlan, outdir: str | Path, work: WorkPlan | None = None
) -> list[Path]:
    """Write cutsheet.csv, bom.csv, routes.json and trays.csv into ``outdir``; return their
    paths.

    With ``work`` (the plan's :class:`~fieldops.core.workorder.WorkPlan`), cutsheet.csv gets
    the ``work_order`` and ``step`` columns.
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    cut = _csv_text(cutsheet_columns(work), cutsheet_rows(plan, work))
    bom = _csv_text(BOM_COLUMNS, bom_rows(design, plan))
    routes = (
        json.dumps(
            routes_document(design, plan), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        + "\n"
    )
    return [
        atomic_write(out / "cutsheet.csv", cut),
        atomic_write(out / "bom.csv", bom),
        atomic_write(out / "routes.json", routes),
        atomic_write(out / "trays.csv", _csv_text(TRAY_COLUMNS, tray_rows(plan))),
    ]
