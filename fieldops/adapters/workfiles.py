"""Work-order files: ``workorders.json`` (schema ``fieldops.workorders/2.0``) and ``schedule.csv``.

The JSON shape is documented in ``docs/workorders.md``; the JSON Schema
``fieldops/data/workorders.schema.json`` is the contract, checked on every read. Keys are
sorted so the same plan gives the same bytes. :func:`read_work_file` loads it back for the
store, the robot bridge and the PDFs: everything the plan decided (order, walking paths, cable
IDs, the floor drawing) is read, never recomputed.
"""

from __future__ import annotations

import csv
import gc
import heapq
import io
import json
from dataclasses import asdict
from functools import cache
from operator import itemgetter
from pathlib import Path

import jsonschema_rs

from fieldops.core.floor import build_floor
from fieldops.core.model import Design
from fieldops.core.problems import DesignError, Problem
from fieldops.core.workorder import (
    SCHEMA_VERSION,
    Assignee,
    WorkOrder,
    WorkPlan,
    step_from_dict,
    step_to_dict,
)
from fieldops.outdir import atomic_write

SCHEMA = f"fieldops.workorders/{SCHEMA_VERSION}"
WORKORDERS_JSON = "workorders.json"
SCHEDULE_CSV = "schedule.csv"
SCHEDULE_COLUMNS = (
    "assignee",
    "start_s",
    "end_s",
    "step",
    "phase",
    "kind",
    "rack",
    "location_id",
    "face",
    "u",
    "helpers",
    "workorder",
    "shift",
)
MAX_FILE_BYTES = 2 * 1024**3
CONFIRMATIONS = "confirmations"  # schedule key: technicians' confirmations of robot steps
CONFIRM_KIND = "confirm"  # schedule.csv kind of a confirmation row


def work_document(design: Design, work: WorkPlan) -> dict:
    """The ``workorders.json`` content as plain data."""
    doc = _head(design, work)
    doc["steps"] = [step_to_dict(s) for s in work.steps]
    return doc


def plan_document(work: WorkPlan, *, design: dict, floor: dict) -> dict:
    """A ``workorders.json`` document for a plan built without a Design at hand (tests,
    tools): ``design`` is ``{name, revision, hall}``, ``floor`` as :func:`build_floor` makes
    it."""
    doc = _head_of(design, floor, work)
    doc["steps"] = [step_to_dict(s) for s in work.steps]
    return doc


def _head(design: Design, work: WorkPlan) -> dict:
    """Everything but the steps."""
    meta = {"name": design.name, "revision": design.revision, "hall": design.floorplan.name}
    return _head_of(meta, build_floor(design), work)


def _head_of(design: dict, floor: dict, work: WorkPlan) -> dict:
    stats = dict(work.stats or {})
    schedule = {
        "makespan_s": float(work.makespan_s),
        "critical_path": list(work.critical_path),
        "critical_path_s": float(stats.pop("critical_path_s", 0.0)),
        "walking_m": {k: float(v) for k, v in sorted(work.walking_m.items())},
    }
    schedule.update(stats)
    return {
        "schema": SCHEMA,
        "design": dict(design),
        "team": [asdict(a) for a in work.team],
        "floor": floor,
        "workorders": [asdict(w) for w in work.workorders],
        "schedule": schedule,
    }


def iter_work_json(design: Design, work: WorkPlan):
    """``workorders.json`` as text chunks: sorted keys, one line per top-level key and one per
    element of the ``team``, ``steps`` and ``workorders`` arrays (readable diffs; and the C
    encoder does the work: an indented dump is ~10x slower), final newline. Steps are encoded
    one at a time, so a 100k-cable plan never holds its whole document in memory."""
    head = _head(design, work)
    enc = json.JSONEncoder(
        sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode
    keys = sorted([*head, "steps"])
    yield "{\n"
    for k, key in enumerate(keys):
        yield f"{enc(key)}:"
        if key == "steps":
            items = (step_to_dict(s, copy_action=False) for s in work.steps)
            empty = not work.steps
        else:
            value = head[key]
            items = iter(value) if isinstance(value, list) else None
            empty = isinstance(value, list) and not value
        if key == "schedule":
            yield from _schedule_json(head[key], enc)
        elif items is None:
            yield enc(head[key])
        elif empty:
            yield "[]"
        else:
            yield "[\n"
            first = True
            for item in items:
                yield enc(item) if first else ",\n" + enc(item)
                first = False
            yield "\n]"
        yield ",\n" if k < len(keys) - 1 else "\n"
    yield "}\n"


def _schedule_json(schedule: dict, enc):
    """The schedule object, sorted keys, each of its ``confirmations`` on a line of its own."""
    yield "{"
    for k, key in enumerate(sorted(schedule)):
        yield ("," if k else "") + f"{enc(key)}:"
        value = schedule[key]
        if key == CONFIRMATIONS and isinstance(value, list) and value:
            yield "[\n" + ",\n".join(enc(c) for c in value) + "\n]"
        else:
            yield enc(value)
    yield "}"


def render_work_json(design: Design, work: WorkPlan) -> bytes:
    """``workorders.json`` bytes (see :func:`iter_work_json`)."""
    return "".join(iter_work_json(design, work)).encode("utf-8")


def render_schedule_csv(work: WorkPlan) -> bytes:
    """``schedule.csv`` bytes: one row per step, and one of kind ``confirm`` per technician's
    confirmation of a robot+technician step (the technician's row, at the step's place, in the
    robot's work order); by start time, then assignee, step ID and kind."""
    wo_of: dict[tuple[str, str], str] = {}
    for wo in work.workorders:
        for sid in wo.steps:
            wo_of[(wo.assignee, sid)] = wo.id
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SCHEDULE_COLUMNS)
    shift_s = int((work.stats or {}).get("shift_s", 0) or 0)
    steps = sorted(
        work.steps, key=lambda s: (s.start_s if s.start_s is not None else -1.0, s.assignee, s.id)
    )
    confirmations = (work.stats or {}).get(CONFIRMATIONS) or ()
    by_id = work.step_index() if confirmations else {}
    confirms = sorted(
        ((c["start_s"], c["technician"], c["step"], c["end_s"]) for c in confirmations),
        key=lambda c: c[:3],
    )

    def step_row(s):
        loc = s.location
        shift = int(s.start_s // shift_s) + 1 if shift_s and s.start_s is not None else ""
        return (
            (s.start_s if s.start_s is not None else -1.0, s.assignee, s.id, s.kind),
            (
                s.assignee,
                _num(s.start_s),
                _num(s.end_s),
                s.id,
                s.phase,
                s.kind,
                loc.rack,
                loc.location_id,
                loc.face,
                "" if loc.u is None else loc.u,
                "+".join(s.helpers),
                wo_of.get((s.assignee, s.id), ""),
                shift,
            ),
        )

    def confirm_row(c):
        start, who, sid, end = c
        s = by_id[sid]
        loc = s.location
        return (
            (start, who, sid, CONFIRM_KIND),
            (
                who,
                _num(start),
                _num(end),
                sid,
                s.phase,
                CONFIRM_KIND,
                loc.rack,
                loc.location_id,
                loc.face,
                "" if loc.u is None else loc.u,
                "",
                wo_of.get((s.assignee, sid), ""),
                int(start // shift_s) + 1 if shift_s else "",
            ),
        )

    rows = heapq.merge(map(step_row, steps), map(confirm_row, confirms), key=itemgetter(0))
    w.writerows(row for _, row in rows)
    return buf.getvalue().encode("utf-8")


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def write_work_files(design: Design, work: WorkPlan, outdir: str | Path) -> list[Path]:
    """Write ``workorders.json`` and ``schedule.csv`` into ``outdir``; each file appears whole
    or not at all."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    was = gc.isenabled()
    gc.disable()  # millions of short-lived acyclic dicts: the cyclic GC only costs time here
    try:
        atomic_write(outdir / WORKORDERS_JSON, iter_work_json(design, work))
        atomic_write(outdir / SCHEDULE_CSV, render_schedule_csv(work).decode("utf-8"))
    finally:
        if was:
            gc.enable()
    return [outdir / WORKORDERS_JSON, outdir / SCHEDULE_CSV]


def read_work_file(path: str | Path) -> tuple[dict, WorkPlan]:
    """Load ``workorders.json``: ``(meta, WorkPlan)`` where meta holds ``schema``, ``design``,
    ``team`` and ``schedule`` as written. Raises DesignError naming what is wrong."""
    path = Path(path)
    where = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DesignError(
                [
                    Problem(
                        where,
                        0,
                        "",
                        f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit",
                    )
                ]
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise DesignError(
            [Problem(where, 0, "", f"cannot read work-order file: {exc.strerror or exc}")]
        ) from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise DesignError(
            [Problem(where, 0, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
        ) from None
    except json.JSONDecodeError as exc:
        raise DesignError(
            [Problem(where, exc.lineno, "", f"not valid JSON: {exc.msg} (column {exc.colno})")]
        ) from None
    return parse_work_document(doc, where)


SCHEMA_FILE = Path(__file__).resolve().parent.parent / "data" / "workorders.schema.json"


MAX_SCHEMA_PROBLEMS = 20


@cache
def _validator():
    return jsonschema_rs.validator_for(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def parse_work_document(doc, where: str = "<workorders>") -> tuple[dict, WorkPlan]:
    """Check a decoded ``workorders.json`` document against the JSON Schema, then convert it;
    what the schema cannot say (steps depending on unknown steps) is checked after."""
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if not (isinstance(schema, str) and schema.startswith("fieldops.workorders/")):
        raise DesignError(
            [Problem(where, 0, "schema", f"not a fieldops work-order file (schema {schema!r})")]
        )
    if isinstance(schema, str) and schema.startswith("fieldops.workorders/") and schema != SCHEMA:
        older = schema.rsplit("/", 1)[1].split(".")[0] < SCHEMA_VERSION.split(".")[0]
        hint = (
            ": it was written by an older fieldops without the walking paths and floor the "
            "app reads now; run 'fieldops plan' again"
            if older
            else ""
        )
        raise DesignError(
            [
                Problem(
                    where,
                    0,
                    "schema",
                    f"unsupported schema version {schema!r}; this fieldops reads {SCHEMA}{hint}",
                )
            ]
        )
    errors = []
    for err in _validator().iter_errors(doc):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.instance_path)
        errors.append(Problem(where, 0, path.lstrip(".") or "<root>", err.message))
        if len(errors) >= MAX_SCHEMA_PROBLEMS:
            break
    if errors:
        raise DesignError(errors)
    problems: list[Problem] = []
    steps = [step_from_dict(d) for d in doc["steps"]]
    team = [Assignee(str(a["name"]), str(a["profile"]), str(a["kind"])) for a in doc["team"]]
    workorders = [
        WorkOrder(
            id=w["id"],
            title=w["title"],
            assignee=w["assignee"],
            shift=int(w["shift"]),
            area=w["area"],
            steps=tuple(w["steps"]),
            walking_m=float(w["walking_m"]),
        )
        for w in doc["workorders"]
    ]
    sched = doc["schedule"]
    makespan = float(sched["makespan_s"])
    critical = tuple(sched["critical_path"])
    walking = {k: float(v) for k, v in sched["walking_m"].items()}
    ids = {s.id for s in steps}
    confirmations = _check_confirmations(sched.get(CONFIRMATIONS, []), ids, where, problems)
    if not problems:
        for s in steps:
            for dep in s.depends_on:
                if dep not in ids:
                    problems.append(
                        Problem(where, 0, f"steps ({s.id})", f"depends on unknown step '{dep}'")
                    )
            if len(problems) >= 20:
                break
    if problems:
        raise DesignError(problems)
    stats = {
        k: v for k, v in sched.items() if k not in ("makespan_s", "critical_path", "walking_m")
    }
    if CONFIRMATIONS in sched:
        stats[CONFIRMATIONS] = confirmations
    plan = WorkPlan(
        steps=tuple(steps),
        workorders=tuple(workorders),
        team=tuple(team),
        makespan_s=makespan,
        critical_path=critical,
        walking_m=walking,
        stats=stats,
    )
    meta = {k: doc[k] for k in ("schema", "design", "team", "floor", "schedule")}
    return meta, plan


def _check_confirmations(
    raw: list, ids: set[str], where: str, problems: list[Problem]
) -> list[dict]:
    """``schedule.confirmations`` (shape checked by the schema); an unknown step or an end
    before the start is added to ``problems``, naming the entry."""
    for i, c in enumerate(raw):
        if c["step"] not in ids:
            why = f"confirms unknown step '{c['step']}'"
        elif c["end_s"] < c["start_s"]:
            why = f"end_s {c['end_s']} is before start_s {c['start_s']}"
        else:
            continue
        problems.append(
            Problem(where, 0, f"schedule.{CONFIRMATIONS}[{i}]", f"malformed confirmation: {why}")
        )
        if len(problems) >= 20:
            break
    return list(raw)
