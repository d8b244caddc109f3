"""Lead dashboard: progress by phase and by rack (floor map coloured by state), blockers with
their reports, crews and robots with their current step, reassign, time to completion."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from fieldops.core.errors import StoreError
from fieldops.web.security import floorwork, require

bp = Blueprint("lead", __name__, url_prefix="/lead")


def hms(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m = rem // 60
    return f"{h} h {m:02d} min" if h else f"{m} min"


def dashboard_context() -> dict:
    st = floorwork()
    progress = st.progress()
    states = {r["rack"]: r["state"] for r in progress["racks"]}
    rev = st.active_revision()
    floor = (rev or {}).get("floor") or {}
    problems = st.problems()
    drawing = current_app.extensions["fieldops_drawings"].floor(rev["id"], floor) if floor else None
    return {
        "progress": progress,
        "map": drawing.render(rack_states=states, title="Racks by state") if drawing else None,
        "problems": problems,
        "team": [t["name"] for t in st.team()],
        "open_steps": st.steps(open_only=True, limit=300),
        "hms": hms,
        "last_event": st.last_event_id(),
        "drift": st.latest_drift(),
    }


@bp.get("/")
@require("watch")
def dashboard():
    return render_template("dashboard.html", **dashboard_context())


@bp.get("/panel")
@require("watch")
def panel():
    """The dashboard body alone: the page swaps it in on every live event."""
    return render_template("_panel.html", **dashboard_context())


@bp.post("/reassign")
@require("direct")
def reassign_form():
    return reassign(request.form.get("step", ""))


@bp.post("/step/<path:step_id>/reassign")
@require("direct")
def reassign(step_id: str):
    try:
        s = floorwork().reassign(step_id, request.form.get("assignee", ""), actor=g.user["name"])
    except StoreError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    else:
        flash(f"{s['title']} is now assigned to {s['assignee']}.")
    return redirect(url_for("lead.dashboard"))


@bp.post("/problem/<int:problem_id>/resolve")
@require("direct")
def resolve(problem_id: int):
    try:
        res = floorwork().resolve_problem(
            problem_id, actor=g.user["name"], resolution=request.form.get("resolution", "")
        )
    except StoreError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    else:
        flash(f"Problem #{problem_id} resolved; step {res['step_id']} is {res['step_status']}.")
    return redirect(url_for("lead.dashboard"))
