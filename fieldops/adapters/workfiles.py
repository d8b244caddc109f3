"""Work-order files: ``workorders.json`` (schema ``fieldops.workorders/1.0``) and ``schedule.csv``.

The JSON shape is documented in ``docs/workorders.md`` and checked by
``docs/workorders.schema.json``; keys are sorted so the same plan gives the same bytes.
:func:`read_work_file` loads it back for the store, the robot bridge and the PDFs.
"""

from __future__ import annotations

import csv
import gc
import heapq
import io
import json
from dataclasses import asdict
from operator import itemgetter
from pathlib import Path

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


def _head(design: Design, work: WorkPlan) -> dict:
    """Everything but the steps."""
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
        "design": {"name": design.name, "revision": design.revision, "hall": design.floorplan.name},
        "team": [asdict(a) for a in work.team],
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


def parse_work_document(doc, where: str = "<workorders>") -> tuple[dict, WorkPlan]:
    """Check and convert a decoded ``workorders.json`` document."""
    if not isinstance(doc, dict):
        raise DesignError([Problem(where, 0, "", "expected a JSON object at the top")])
    schema = doc.get("schema")
    if not isinstance(schema, str) or not schema.startswith("fieldops.workorders/"):
        raise DesignError(
            [Problem(where, 0, "schema", f"not a fieldops work-order file (schema {schema!r})")]
        )
    major = schema.rsplit("/", 1)[1].split(".")[0]
    if major != SCHEMA_VERSION.split(".")[0]:
        raise DesignError(
            [
                Problem(
                    where,
                    0,
                    "schema",
                    f"unsupported schema version {schema!r}; this fieldops reads {SCHEMA}",
                )
            ]
        )
    problems: list[Problem] = []
    for key, kind in (
        ("design", dict),
        ("team", list),
        ("steps", list),
        ("workorders", list),
        ("schedule", dict),
    ):
        if not isinstance(doc.get(key), kind):
            problems.append(
                Problem(
                    where, 0, key, f"missing or not a JSON {'object' if kind is dict else 'array'}"
                )
            )
    if problems:
        raise DesignError(problems)
    steps = []
    for i, d in enumerate(doc["steps"]):
        try:
            steps.append(step_from_dict(d))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            sid = d.get("id") if isinstance(d, dict) else None
            problems.append(
                Problem(
                    where,
                    0,
                    f"steps[{i}]" + (f" ({sid})" if sid else ""),
                    f"malformed step: {_why(exc)}",
                )
            )
            if len(problems) >= 20:
                break
    team, workorders = [], []
    for i, a in enumerate(doc["team"]):
        try:
            team.append(Assignee(str(a["name"]), str(a["profile"]), str(a["kind"])))
        except (KeyError, TypeError) as exc:
            problems.append(Problem(where, 0, f"team[{i}]", f"malformed team member: {_why(exc)}"))
    for i, w in enumerate(doc["workorders"]):
        try:
            workorders.append(
                WorkOrder(
                    id=str(w["id"]),
                    title=str(w["title"]),
                    assignee=str(w["assignee"]),
                    shift=int(w["shift"]),
                    area=str(w["area"]),
                    steps=tuple(str(s) for s in w["steps"]),
                    walking_m=float(w["walking_m"]),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(
                Problem(where, 0, f"workorders[{i}]", f"malformed work order: {_why(exc)}")
            )
    sched = doc["schedule"]
    try:
        makespan = float(sched["makespan_s"])
        critical = tuple(str(s) for s in sched["critical_path"])
        walking = {str(k): float(v) for k, v in dict(sched.get("walking_m", {})).items()}
    except (KeyError, TypeError, ValueError) as exc:
        problems.append(Problem(where, 0, "schedule", f"malformed schedule: {_why(exc)}"))
        makespan, critical, walking = 0.0, (), {}
    ids = {s.id for s in steps}
    known = ids if not problems else None  # with malformed steps, unknown IDs say nothing
    confirmations = _parse_confirmations(sched.get(CONFIRMATIONS, []), known, where, problems)
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
    meta = {k: doc[k] for k in ("schema", "design", "team", "schedule")}
    return meta, plan


def _parse_confirmations(
    raw, ids: set[str] | None, where: str, problems: list[Problem]
) -> list[dict]:
    """``schedule.confirmations`` as ``{"step", "technician", "start_s", "end_s"}`` dicts;
    problems (not a list, a missing or mistyped field, an unknown step, an end before the
    start) are added to ``problems``, naming the entry."""
    if not isinstance(raw, list):
        problems.append(Problem(where, 0, f"schedule.{CONFIRMATIONS}", "not a JSON array"))
        return []
    out = []
    for i, c in enumerate(raw):
        path = f"schedule.{CONFIRMATIONS}[{i}]"
        try:
            if not isinstance(c, dict):
                raise TypeError("not a JSON object")
            step, who = c["step"], c["technician"]
            t0, t1 = c["start_s"], c["end_s"]
            if not isinstance(step, str) or not isinstance(who, str):
                raise TypeError("step and technician must be strings")
            if not all(isinstance(t, int) and not isinstance(t, bool) for t in (t0, t1)):
                raise TypeError("start_s and end_s must be whole seconds")
            if not 0 <= t0 <= t1:
                raise ValueError(f"end_s {t1} is before start_s {t0}, or start_s is negative")
            if ids is not None and step not in ids:
                raise ValueError(f"confirms unknown step '{step}'")
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(Problem(where, 0, path, f"malformed confirmation: {_why(exc)}"))
            if len(problems) >= 20:
                break
            continue
        out.append({"step": step, "technician": who, "start_s": t0, "end_s": t1})
    return out


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"field {exc.args[0]!r} is missing"
    return str(exc) or type(exc).__name__
