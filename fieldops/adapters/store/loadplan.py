"""Read ``workorders.json`` (the shape in docs/architecture.md) into the store."""

from __future__ import annotations

import json
from pathlib import Path

from fieldops.core.problems import DesignError, Problem
from fieldops.core.workorder import Assignee, Location, Part, Step, WorkOrder, WorkPlan

MAX_PLAN_BYTES = 512 * 1024 * 1024
_STEP_FIELDS = set(Step.__slots__)
_LOC_FIELDS = set(Location.__slots__)


def _problem(file: str, path: str, message: str) -> DesignError:
    return DesignError([Problem(file, 0, path, message)])


def step_from_dict(d: dict, *, file: str = "workorders.json", path: str = "steps") -> Step:
    """The inverse of ``step_to_dict``; unknown fields are ignored, missing ones defaulted."""
    if not isinstance(d, dict):
        raise _problem(file, path, "a step must be an object")
    for key in ("id", "phase", "kind", "title", "instruction"):
        if not isinstance(d.get(key), str) or not d.get(key) and key == "id":
            raise _problem(file, f"{path}.{key}", "missing or not text")
    loc = d.get("location") or {}
    if not isinstance(loc, dict):
        raise _problem(file, f"{path}.location", "must be an object")
    try:
        location = Location(**{k: v for k, v in loc.items() if k in _LOC_FIELDS})
        parts = tuple(Part(**p) for p in d.get("parts") or ())
        kw = {k: v for k, v in d.items() if k in _STEP_FIELDS and k not in ("location", "parts")}
        for key in ("expect_codes", "depends_on", "required_actions"):
            if key in kw:
                kw[key] = tuple(kw[key] or ())
        return Step(location=location, parts=parts, **kw)
    except (TypeError, ValueError) as exc:
        raise _problem(file, path, f"not a valid step: {exc}") from None


def plan_from_dict(data: dict, *, file: str = "workorders.json") -> WorkPlan:
    if not isinstance(data, dict):
        raise _problem(file, "", "workorders.json must hold an object")
    schema = str(data.get("schema", ""))
    if schema and not schema.startswith("fieldops.workorders/1."):
        raise _problem(
            file,
            "schema",
            f"unsupported schema '{schema}' (this fieldops reads fieldops.workorders/1.x)",
        )
    steps_in = data.get("steps")
    if not isinstance(steps_in, list):
        raise _problem(file, "steps", "missing or not a list")
    steps = tuple(step_from_dict(s, file=file, path=f"steps[{i}]") for i, s in enumerate(steps_in))
    seen: set[str] = set()
    for i, s in enumerate(steps):
        if s.id in seen:
            raise _problem(file, f"steps[{i}].id", f"duplicate step ID '{s.id}'")
        seen.add(s.id)
    try:
        wos = tuple(
            WorkOrder(
                **{
                    **{k: v for k, v in w.items() if k in WorkOrder.__dataclass_fields__},
                    "steps": tuple(w.get("steps") or ()),
                }
            )
            for w in data.get("workorders") or ()
        )
        team = tuple(
            Assignee(**{k: t[k] for k in ("name", "profile", "kind")})
            for t in data.get("team") or ()
        )
    except (TypeError, KeyError) as exc:
        raise _problem(file, "workorders", f"not valid: {exc}") from None
    sched = data.get("schedule") or {}
    return WorkPlan(
        steps=steps,
        workorders=wos,
        team=team,
        makespan_s=float(sched.get("makespan_s", 0.0) or 0.0),
        critical_path=tuple(sched.get("critical_path") or ()),
    )


def read_plan_file(path: str | Path) -> dict:
    """The JSON of a plan directory's (or a file's) workorders.json, with clear errors."""
    p = Path(path)
    if p.is_dir():
        p = p / "workorders.json"
    if not p.is_file():
        raise _problem(
            str(p), "", "no workorders.json here (run 'fieldops plan DESIGN -o DIR' first)"
        )
    if p.stat().st_size > MAX_PLAN_BYTES:
        raise _problem(str(p), "", "the file is larger than 512 MB")
    try:
        reader = None
        from fieldops.adapters import workfiles  # type: ignore[attr-defined]

        reader = getattr(workfiles, "read_work_file", None)
    except ImportError:
        pass
    try:
        if reader is not None:
            data = reader(p)
            if not isinstance(data, dict):  # a WorkPlan-like object: fall back to the raw JSON
                data = json.loads(p.read_text(encoding="utf-8"))
        else:
            data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DesignError([Problem(str(p), exc.lineno, "", f"not valid JSON: {exc.msg}")]) from None
    except UnicodeDecodeError:
        raise _problem(str(p), "", "not UTF-8 text") from None
    return data


def read_plan(plan_path: str | Path) -> tuple[dict, WorkPlan]:
    """``(document, WorkPlan)`` from a plan folder or a workorders.json file.

    Uses ``fieldops.adapters.workfiles.read_work_file`` (the writer's own reader) when it is
    installed, else this module's reader; both raise DesignError naming the problem.
    """
    p = Path(plan_path)
    if p.is_dir():
        p = p / "workorders.json"
    if not p.is_file():
        raise _problem(
            str(p), "", "no workorders.json here (run 'fieldops plan DESIGN -o DIR' first)"
        )
    try:
        from fieldops.adapters.workfiles import read_work_file
    except ImportError:  # pragma: no cover - the writer's module is part of fieldops
        data = read_plan_file(p)
        return data, plan_from_dict(data, file=str(p))
    return read_work_file(p)


def load_plan(store, plan_path: str | Path, *, design_path: str | Path | None = None) -> dict:
    """Load ``PLAN_DIR/workorders.json`` into the store as the active revision.

    With ``design_path`` (the design directory), the floor map, rack elevations and walking
    paths come from the real design; otherwise from the steps' locations.
    """
    from fieldops.adapters.store.floor import build_floor, floor_from_steps, walker_for

    doc, plan = read_plan(plan_path)
    meta = doc.get("design") if isinstance(doc.get("design"), dict) else {}
    design = None
    if design_path is not None:
        from fieldops.adapters.designfile import load_design

        design = load_design(design_path).design
        floor = build_floor(design)
    else:
        floor = floor_from_steps(str(meta.get("hall", "")), plan.steps)
    paths = walking_paths(plan, floor, walker_for(design))
    hall = str(meta.get("hall") or floor.get("hall") or "")
    floor = {**floor, "hall": floor.get("hall") or hall}
    return store.load_plan(
        plan,
        design=str(meta.get("name", "")),
        revision=str(meta.get("revision", "")),
        hall=hall,
        floor=floor,
        paths=paths,
    )


def walking_paths(plan: WorkPlan, floor: dict, walk) -> dict[str, list[list[int]]]:
    """Each step's walking polyline from the previous step of the same assignee (the first
    from the staging area or door)."""
    from fieldops.adapters.store.floor import start_point

    start = start_point(floor)
    last: dict[str, tuple[int, int] | None] = {}
    order: list[Step] = []
    idx = plan.step_index()
    seen: set[str] = set()
    for wo in plan.workorders:
        for sid in wo.steps:
            if sid in idx and sid not in seen:
                order.append(idx[sid])
                seen.add(sid)
    order += [s for s in plan.steps if s.id not in seen]
    paths: dict[str, list[list[int]]] = {}
    cache: dict[tuple, list[list[int]]] = {}
    for s in order:
        here = (int(s.location.x_mm), int(s.location.y_mm))
        if here == (0, 0) and not s.location.rack:
            continue
        prev = last.get(s.assignee, start)
        if prev is not None and prev != here:
            key = (prev, here)
            if key not in cache:
                cache[key] = walk(prev, here)
            paths[s.id] = cache[key]
        last[s.assignee] = here
    return paths
