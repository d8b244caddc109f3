"""The JSON API: every action of the UI, for scripts and integrations (docs/openapi.yaml,
served at /api/openapi.yaml). Authenticate with ``Authorization: Bearer fo_...`` (tokens from
``POST /api/tokens`` or ``fieldops users token``) or with the browser session + CSRF header.
Errors are ``{"error": {"status": N, "message": "..."}}``."""

from __future__ import annotations

import json
import re

from flask import Blueprint, Response, abort, current_app, g, jsonify, request
from werkzeug.routing import PathConverter

from fieldops.bootstrap import PACKAGE_DIR, REPO_DIR
from fieldops.core.errors import Invalid, NotFound
from fieldops.core.problems import DesignError
from fieldops.web.security import CAN, accounts, crew_scope, floorwork, require

bp = Blueprint("api", __name__, url_prefix="/api")


class StepIdConverter(PathConverter):
    """A step ID (slashes allowed) that does not end in one of the step's actions, so
    ``/api/steps/X/confirm`` is only ever the confirm route: a GET there is 405 with
    ``Allow: POST``, not a lookup of a step called ``X/confirm``."""

    regex = r"[^/].*?(?<!/start)(?<!/confirm)(?<!/problems)(?<!/reassign)"


@bp.record_once
def _converters(state) -> None:
    state.app.url_map.converters["step"] = StepIdConverter


MAX_ID = 2**31 - 1  # ids are 32-bit integer columns on SQLite and PostgreSQL alike
MAX_DEPTH = 64  # JSON nesting a body may have; a workorders.json needs about 8


def body(*, optional: bool = False) -> dict:
    """The request's JSON object, or a 400/413/415 saying what is wrong with it; nesting
    deeper than MAX_DEPTH is refused before parsing. ``optional``: no body at all is ``{}``."""
    if optional and not request.content_length and not request.get_data(cache=True):
        return {}
    if not request.is_json:
        abort(415, description="send a JSON body with 'Content-Type: application/json'")
    raw = request.get_data(cache=True) or b"null"
    if json_depth_over(raw, MAX_DEPTH):
        abort(400, description=f"the body is nested deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        abort(400, description=f"the body is not valid JSON: {exc}")
    if not isinstance(data, dict):
        abort(400, description="the body must be a JSON object")
    return data


_WHOLE = re.compile(r"-?[0-9]+")
_PAIR = re.compile(rb"\[\]|\{\}")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth_over(raw: bytes, limit: int) -> bool:
    """Whether the JSON text ``raw`` nests arrays/objects deeper than ``limit``, decided
    without parsing, at C speed (a third of json.loads' time): escapes and strings dropped,
    then one innermost level of brackets per pass."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(unescaped.split(b'"')[::2]).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        shorter = _PAIR.sub(b"", brackets)
        if len(shorter) in (0, len(brackets)):
            return False  # all matched, or malformed (json.loads says how)
        brackets = shorter
    return _PAIR.search(brackets) is not None


def field(data: dict, name: str, kind=str, *, required: bool = False, default=None):
    value = data.get(name, default)
    if value is None:
        if required:
            raise Invalid(f"'{name}' is required")
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Invalid(
            f"'{name}' must be {kind.__name__ if not isinstance(kind, tuple) else ' or '.join(k.__name__ for k in kind)}"
        )
    return value


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _WHOLE.fullmatch(raw):  # ASCII digits only: int() also reads ' 5', '+5', '٥'
        raise Invalid(f"'{name}' must be a whole number")
    value = int(raw) if len(raw) <= 20 else high + 1  # int() refuses 4,300 digits and more
    if not low <= value <= high:
        raise Invalid(f"'{name}' must be between {low} and {high}")
    return value


def my_crew() -> str:
    if g.user["role"] == "technician":
        if not g.user["crew"]:
            abort(403, description="your account has no crew yet")
        return g.user["crew"]
    chosen = request.args.get("crew", "")
    if not chosen:
        raise Invalid("'crew' is required for a lead or admin (e.g. ?crew=technician-1)")
    return chosen


@bp.get("/openapi.yaml")
def openapi():
    """docs/openapi.yaml from a checkout, or fieldops/docs/ when a wheel ships it."""
    for base in (REPO_DIR / "docs", PACKAGE_DIR / "docs"):
        path = base / "openapi.yaml"
        if path.is_file():
            return Response(path.read_text(encoding="utf-8"), mimetype="application/yaml")
    abort(404, description="openapi.yaml is not part of this installation")


@bp.get("/me")
@require()
def me():
    u = g.user
    return jsonify(
        {
            "name": u["name"],
            "role": u["role"],
            "crew": u["crew"],
            "can": sorted(k for k, roles in CAN.items() if u["role"] in roles),
        }
    )


@bp.post("/tokens")
@require()
def create_token():
    data = body(optional=True)
    if "name" in data and data["name"] is None:
        raise Invalid("'name' must be text, not null (leave it out for 'script')")
    name = field(data, "name", default="script")
    token = accounts().create_token(g.user["name"], name)
    return jsonify({"token": token, "name": name, "user": g.user["name"]}), 201


@bp.get("/team")
@require()
def team():
    return jsonify({"team": floorwork().team()})


@bp.get("/next")
@require("work")
def next_step():
    step = floorwork().next_step(my_crew())
    return jsonify({"step": step})


@bp.get("/queue")
@require("work")
def queue():
    return jsonify({"steps": floorwork().queue(my_crew())})


@bp.get("/steps")
@require("watch")
def steps():
    a = request.args
    return jsonify(
        {
            "steps": floorwork().steps(
                status=a.get("status") or None,
                assignee=a.get("assignee"),
                phase=a.get("phase") or None,
                rack=a.get("rack") or None,
                limit=int_arg("limit", 500, 1, 5000),
                offset=int_arg("offset", 0, 0, 10_000_000),
            )
        }
    )


@bp.get("/steps/<step:step_id>")
@require()
def step(step_id: str):
    return jsonify({"step": floorwork().step(step_id, crew=crew_scope())})


@bp.post("/steps/<step:step_id>/start")
@require("work")
def start(step_id: str):
    return jsonify({"step": floorwork().start(step_id, actor=g.user["name"], crew=crew_scope())})


@bp.post("/steps/<step:step_id>/confirm")
@require("work")
def confirm(step_id: str):
    data = body()
    res = floorwork().confirm(
        step_id,
        client_id=field(data, "client_id", required=True),
        actor=g.user["name"],
        crew=crew_scope(),
        codes=field(data, "codes", list, default=[]),
        evidence=field(data, "evidence", dict, default={}),
    )
    return jsonify(
        {"confirmation": res.confirmation, "step": res.step, "duplicate": res.duplicate}
    ), (200 if res.duplicate else 201)


@bp.post("/steps/<step:step_id>/problems")
@require("work")
def report_problem(step_id: str):
    data = body()
    p = floorwork().report_problem(
        step_id,
        kind=field(data, "kind", required=True),
        note=field(data, "note", default=""),
        actor=g.user["name"],
        crew=crew_scope(),
    )
    return jsonify({"problem": p}), 201


@bp.post("/steps/<step:step_id>/reassign")
@require("direct")
def reassign(step_id: str):
    data = body()
    return jsonify(
        {
            "step": floorwork().reassign(
                step_id, field(data, "assignee", required=True), actor=g.user["name"]
            )
        }
    )


@bp.get("/problems")
@require("watch")
def problems():
    status = request.args.get("status", "open")
    return jsonify({"problems": floorwork().problems(status=None if status == "all" else status)})


@bp.post(f"/problems/<int(max={MAX_ID}):problem_id>/resolve")
@require("direct")
def resolve(problem_id: int):
    data = body(optional=True)
    return jsonify(
        {
            "result": floorwork().resolve_problem(
                problem_id, actor=g.user["name"], resolution=field(data, "resolution", default="")
            )
        }
    )


@bp.get("/progress")
@require("watch")
def progress():
    return jsonify(floorwork().progress())


@bp.get("/floor")
@require()
def floor():
    return jsonify(floorwork().floor())


@bp.get("/codes/<path:code>")
@require()
def where_is(code: str):
    """Where a scanned code belongs: the steps that expect it."""
    return jsonify(floorwork().where_is(code))


@bp.get("/events")
@require()
def events():
    """The event log after an ID; technicians see their crew's steps' events only
    (docs/webapp.md, "Who sees which events"), ``last_id`` says how far the log was read."""
    events, last_id, _ = floorwork().events_for(
        int_arg("after", 0, 0, MAX_ID), limit=int_arg("limit", 200, 1, 1000), crew=event_scope()
    )
    return jsonify({"events": events, "last_id": last_id})


def event_scope() -> str | None:
    """The crew whose events a user may see: a technician's own (403 without a crew), else
    None for the whole log."""
    if g.user["role"] != "technician":
        return None
    if not g.user["crew"]:
        abort(403, description="your account has no crew yet")
    return g.user["crew"]


@bp.get("/confirmations")
@require("watch")
def confirmations():
    """The as-built evidence, a page at a time: ``fieldops reconcile --confirmations`` reads
    the pages joined (``{"confirmations": [...]}``)."""
    limit = int_arg("limit", 1000, 1, 10000)
    page = floorwork().confirmations(after=int_arg("after", 0, 0, MAX_ID), limit=limit)
    return jsonify(
        {"confirmations": page, "next_after": page[-1]["id"] if len(page) == limit else None}
    )


MAX_DRIFT_BYTES = 64 * 1024 * 1024  # a 100,000-cable hall's drift.json lists every cable


@bp.get("/drift")
@require("watch")
def drift():
    """The latest drift report loaded for the active plan's hall (404 when none)."""
    report = floorwork().latest_drift()
    if report is None:
        raise NotFound("no drift report loaded for this hall (POST a drift.json to /api/drift)")
    return jsonify(report)


@bp.post("/drift")
@require("direct")
def load_drift():
    """Load the drift.json 'fieldops reconcile' wrote (the body) for the dashboard."""
    request.max_content_length = MAX_DRIFT_BYTES
    return jsonify(floorwork().load_drift(body(), actor=g.user["name"])), 201


@bp.post("/plans")
@require("plan")
def load_plan():
    """Load a workorders.json (the body) as the active plan."""
    request.max_content_length = current_app.config["MAX_PLAN_BYTES"]
    data = body()
    try:  # the same checks and rows as 'fieldops load'
        res = floorwork().load_plan_document(data, "workorders.json")
    except DesignError as exc:
        raise Invalid("; ".join(str(p) for p in exc.problems[:20])) from None
    return jsonify(res), (201 if res["new"] else 200)


@bp.get("/users")
@require("admin")
def users():
    return jsonify({"users": accounts().users()})


@bp.post("/users")
@require("admin")
def add_user():
    data = body()
    u = accounts().add_user(
        field(data, "name", required=True),
        field(data, "password", required=True),
        field(data, "role", required=True),
        crew=field(data, "crew", default=""),
    )
    return jsonify({"user": u}), 201
