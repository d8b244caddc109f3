"""Read ``workorders.json`` into the store: the plan as it decided it (order, walks, floor)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import DataError

from fieldops.adapters.workfiles import parse_work_document, read_work_file
from fieldops.core.problems import DesignError, Problem
from fieldops.core.workorder import WorkPlan


def read_plan(plan_path: str | Path) -> tuple[dict, WorkPlan]:
    """``(document meta, WorkPlan)`` from a plan folder or a workorders.json file.

    Read by ``fieldops.adapters.workfiles.read_work_file``, the writer's own reader; a bad
    file is a DesignError naming the problem.
    """
    p = Path(plan_path)
    if p.is_dir():
        p = p / "workorders.json"
    if not p.is_file():
        raise DesignError(
            [
                Problem(
                    str(p),
                    0,
                    "",
                    "no workorders.json here (run 'fieldops plan DESIGN -o DIR' first)",
                )
            ]
        )
    return read_work_file(p)


def load_plan(store, plan_path: str | Path) -> dict:
    """Load ``PLAN_DIR/workorders.json`` into the store as the active revision."""
    return load_document(store, *read_plan(plan_path))


def load_plan_document(store, doc, where: str = "<request body>") -> dict:
    """Load a decoded workorders.json document (``POST /api/plans``): the same checks and
    the same rows as loading the file."""
    return load_document(store, *parse_work_document(doc, where))


def load_document(store, meta: dict, plan: WorkPlan) -> dict:
    """Load a parsed plan; a whole number past the store's 32-bit columns (an ``order`` of
    2**31) is a problem with the plan, not a server error, on SQLite and PostgreSQL alike."""
    design = meta["design"]
    try:
        return store.load_plan(
            plan,
            design=design["name"],
            revision=design["revision"],
            hall=design["hall"],
            floor=meta["floor"],
        )
    except (OverflowError, DataError):  # SQLite: past 64 bits; PostgreSQL: past 32
        raise DesignError(
            [Problem("workorders.json", 0, "", "a whole number is larger than 2147483647")]
        ) from None
