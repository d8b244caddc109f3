"""Read ``workorders.json`` (the shape in docs/architecture.md) into the store."""

from __future__ import annotations

from pathlib import Path

from fieldops.adapters.workfiles import read_work_file
from fieldops.core.problems import DesignError, Problem
from fieldops.core.workorder import Step, WorkPlan


def _problem(file: str, path: str, message: str) -> DesignError:
    return DesignError([Problem(file, 0, path, message)])


def read_plan(plan_path: str | Path) -> tuple[dict, WorkPlan]:
    """``(document, WorkPlan)`` from a plan folder or a workorders.json file.

    Read by ``fieldops.adapters.workfiles.read_work_file``, the writer's own reader; a bad
    file is a DesignError naming the problem.
    """
    p = Path(plan_path)
    if p.is_dir():
        p = p / "workorders.json"
    if not p.is_file():
        raise _problem(
            str(p), "", "no workorders.json here (run 'fieldops plan DESIGN -o DIR' first)"
        )
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
