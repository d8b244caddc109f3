"""Technician views: my next step (instruction, floor map with the walking path, rack
elevation, parts), scan to confirm, report a problem, my queue."""

from __future__ import annotations

import re
import uuid

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from fieldops.core.errors import StoreError
from fieldops.core.floorrules import AWAITING
from fieldops.services.floorwork import PROBLEM_KINDS
from fieldops.web.drawing import DrawingCache
from fieldops.web.security import crew_scope, floorwork, require

bp = Blueprint("tech", __name__, url_prefix="/tech")

PROBLEM_LABELS = {
    "wrong_length": "Wrong cable length",
    "damaged_port": "Damaged port",
    "missing_part": "Part missing",
    "other": "Other",
}
_SPLIT = re.compile(r"[\s,;]+")


def crew() -> str:
    """The crew whose work is shown: a technician's own; leads and admins pick with ?crew=."""
    if g.user["role"] == "technician":
        if not g.user["crew"]:
            abort(403, description="your account has no crew yet; ask the lead to set one")
        return g.user["crew"]
    chosen = request.values.get("crew", "")
    names = [t["name"] for t in floorwork().team()]
    if chosen not in names:
        return names[0] if names else ""
    return chosen


def walker_of(step: dict, who: str) -> str:
    """Whose walk leads to a step: a technician's own (their step, or a robot's work they
    check); for a lead looking on, the step's assignee."""
    return who if g.user["role"] == "technician" else step["assignee"] or who


def drawings() -> DrawingCache:
    return current_app.extensions["fieldops_drawings"]


def planned_walk(step: dict, who: str) -> tuple[list, str]:
    """The plan's walk to a step for ``who`` and where it starts: their own step's walk, or
    their check of a robot's step. A step handed to someone the plan did not book has no
    planned walk (the plan never walked it for them): none is drawn, the rack is."""
    if who == step["assignee"] and who == step["planned_assignee"]:
        return step["path"] or [], ""
    if step.get("checker") == who and step["status"] == AWAITING:
        return step.get("check_path") or [], ""
    if who == step["assignee"]:
        return [], "reassigned to you: the plan has no walk for you here; go to the rack shown"
    return step["path"] or [], ""


def step_view(step: dict, who: str) -> dict:
    """What the step page draws: the map with the plan's walk to the step, the rack(s).

    The floor map and the rack elevations are drawn once per plan revision (DrawingCache);
    the walk is the one the plan decided and the printed work order shows. A cable's page
    shows both ends: both racks on the map (the near one where the step starts, the far one),
    the trays it runs along, and each end's rack elevation with its U marked.
    """
    st = floorwork()
    rev = st.active_revision() or {"id": 0, "floor": {}}
    floor = rev["floor"] or {}
    cache = drawings()
    drawing = cache.floor(rev["id"], floor)
    here = (step["x_mm"], step["y_mm"])
    path, note = planned_walk(step, who)
    cable = step.get("cable") or None
    ends = sorted((cable or {}).get("ends", {}).items())
    near = next((e for _, e in ends if e.get("rack") == step["rack"]), None)
    far = next((e for _, e in ends if e is not near), None) if near else None
    far_rack = far["rack"] if far and far.get("rack") != step["rack"] else ""
    places = [(f"End {letter}", e) for letter, e in ends] or (
        [("", {"rack": step["rack"], "u": step["u"], "face": step["face"]})] if step["rack"] else []
    )
    elevations = []
    for caption, e in places:
        if not e.get("rack"):
            continue
        rack = drawing.racks.get(e["rack"])
        svg = cache.elevation(
            rev["id"], rack, target_u=e.get("u"), face=e.get("face") or "front", rack_name=e["rack"]
        )
        u = f", target U{e['u']}" if e.get("u") is not None else ""
        elevations.append((f"{caption + ': ' if caption else ''}rack {e['rack']}{u}", svg))
    return {
        "map": drawing.render(
            path=path,
            target=step["rack"],
            target_point=here,
            far=far_rack,
            far_point=(far["x_mm"], far["y_mm"])
            if far_rack and far.get("x_mm") is not None
            else None,
            trays=(cable or {}).get("tray_path", ()),
            title=f"Walk to {step['rack'] or 'the step'}",
        ),
        "elevations": elevations,
        "walk_m": round(polyline_mm(path) / 1000, 1) if path else 0.0,
        "walk_note": note,
        "ends": ends,
    }


def polyline_mm(path) -> float:
    return sum(
        ((b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2) ** 0.5
        for a, b in zip(path, path[1:], strict=False)
    )


def render_step(
    step: dict, who: str, *, error: str | None = None, status: int = 200, codes: str = ""
):
    return (
        render_template(
            "step.html",
            step=step,
            view=step_view(step, who),
            crew=who,
            error=error,
            codes=codes,
            client_id=uuid.uuid4().hex,
            problem_kinds=[(k, PROBLEM_LABELS[k]) for k in PROBLEM_KINDS],
        ),
        status,
    )


@bp.get("/")
@require("work")
def next_step():
    who = crew()
    step = floorwork().next_step(who) if who else None
    if step is None:
        queue = floorwork().queue(who) if who else []
        blocker = floorwork().first_blocker(who) if queue else None
        return render_template("done.html", crew=who, queue=queue, blocker=blocker)
    # the next step is one whose dependencies are done: nothing blocks it
    return render_step({**step, "blocking": []}, who)


@bp.get("/queue")
@require("work")
def queue():
    who = crew()
    return render_template("queue.html", crew=who, queue=floorwork().queue(who) if who else [])


@bp.get("/step/<path:step_id>")
@require("work")
def step(step_id: str):
    s = floorwork().step(step_id, crew=crew_scope())
    who = crew()
    return render_step(s, walker_of(s, who))


@bp.post("/step/<path:step_id>/start")
@require("work")
def start(step_id: str):
    floorwork().start(step_id, actor=g.user["name"], crew=crew_scope())
    return redirect(url_for("tech.step", step_id=step_id))


@bp.post("/step/<path:step_id>/confirm")
@require("work")
def confirm(step_id: str):
    raw = request.form.get("codes", "")
    client_id = request.form.get("client_id") or uuid.uuid4().hex
    note = request.form.get("note", "")
    try:
        res = floorwork().confirm(
            step_id,
            client_id=client_id,
            actor=g.user["name"],
            crew=crew_scope(),
            codes=raw,
            evidence=_evidence(note),
        )
    except StoreError as exc:
        if exc.status in (403, 404):
            raise
        s = floorwork().step(step_id)
        return render_step(s, walker_of(s, crew()), error=exc.message, status=exc.status, codes=raw)
    scanned = res.confirmation.get("codes") or []
    detail = f" (scanned {' + '.join(scanned)})" if scanned else ""
    flash(
        f"✓ Confirmed: {res.step['title']}{detail}"
        + (" (already recorded)" if res.duplicate else ""),
        "done",
    )
    return redirect(
        url_for("tech.next_step", crew=request.args.get("crew"))
        if g.user["role"] != "technician"
        else url_for("tech.next_step")
    )


def _evidence(note: str) -> dict:
    """A note and a loop test's readings (``reading-<name>`` fields) as the confirmation's evidence."""
    evidence: dict = {"note": note.strip()[:500]} if note.strip() else {}
    readings = {
        k.removeprefix("reading-")[:40]: v.strip()[:40]
        for k, v in list(request.form.items())[:50]
        if k.startswith("reading-") and v.strip()
    }
    if readings:
        evidence["readings"] = readings
    return evidence


@bp.route("/step/<path:step_id>/problem", methods=["GET", "POST"])
@require("work")
def problem(step_id: str):
    s = floorwork().step(step_id, crew=crew_scope())
    error = None
    if request.method == "POST":
        try:
            floorwork().report_problem(
                step_id,
                kind=request.form.get("kind", ""),
                note=request.form.get("note", ""),
                actor=g.user["name"],
                crew=crew_scope(),
            )
        except StoreError as exc:
            if exc.status in (403, 404):
                raise
            error = exc.message
        else:
            flash(f"Problem reported on {s['title']}; the lead has been alerted.")
            return redirect(url_for("tech.next_step"))
    return render_template(
        "problem.html",
        step=s,
        error=error,
        problem_kinds=[(k, PROBLEM_LABELS[k]) for k in PROBLEM_KINDS],
    ), (400 if error else 200)
