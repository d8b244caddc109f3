"""The use cases, one module per area; the CLI and the web app call these, never an adapter.

- :mod:`~fieldops.services.planning`: validate a design, plan it (in memory or into files);
- :mod:`~fieldops.services.floorwork`: the floor's work on a loaded plan: load a plan, next
  step, start, confirm, report and resolve problems, reassign, progress and exports;
- :mod:`~fieldops.services.accounts`: users, passwords, API tokens;
- :mod:`~fieldops.services.robots`: dispatch robot steps, simulate a robot, the fleet's ACLs;
- :mod:`~fieldops.services.printing`: cut sheets, rack sheets and labels as PDF;
- :mod:`~fieldops.services.blueprints`: list and expand blueprints into design directories;
- :mod:`~fieldops.services.reconcile`: drift and fix-ups from observations and the as-built record;
- :mod:`~fieldops.services.netbox`: NetBox export, import and push.

The planning functions are re-exported here (``services.plan_design(...)``), the floor's use
cases are objects built by the composition root (:func:`fieldops.bootstrap.bootstrap`).
The re-exports load on first use, so importing one service module (say, for a command's
``--help``) does not load the design loaders and validation with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fieldops.services.planning import (
        Plan,
        PlanResult,
        ValidationReport,
        build_plan,
        check_loaded,
        fleet_counts,
        load_team,
        load_valid_design,
        plan_design,
        plan_summary,
        robot_profiles,
        validate_design,
    )


__all__ = [
    "Plan",
    "PlanResult",
    "ValidationReport",
    "build_plan",
    "check_loaded",
    "fleet_counts",
    "load_team",
    "load_valid_design",
    "plan_design",
    "plan_summary",
    "robot_profiles",
    "validate_design",
]


def __getattr__(name: str):
    if name in __all__:
        from fieldops.services import planning

        return getattr(planning, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
