"""Use cases: validate, plan, publish, confirm, reconcile. Adapters in, core in the middle."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fieldops.adapters.designfile import Loaded, load_design
from fieldops.core.problems import DesignError, Problem, errors
from fieldops.core.validate import Context, validate


@dataclass
class ValidationReport:
    name: str
    problems: list[Problem] = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not errors(self.problems)


def validate_design(path: str | Path, *, clearance_mm: int | None = None) -> ValidationReport:
    """Load and check a design; load failures come back as problems, not exceptions."""
    try:
        loaded = load_design(path)
    except DesignError as exc:
        return ValidationReport(Path(path).name, exc.problems, {"racks": 0, "devices": 0, "cables": 0})
    return check_loaded(loaded, clearance_mm=clearance_mm)


def check_loaded(loaded: Loaded, *, clearance_mm: int | None = None) -> ValidationReport:
    ctx = Context() if clearance_mm is None else Context(clearance_mm=clearance_mm)
    d = loaded.design
    problems = sorted(set(loaded.problems) | set(validate(d, ctx)), key=lambda p: (p.file, p.line, p.path, p.message))
    summary = {"racks": len(d.floorplan.racks), "devices": len(d.devices), "cables": len(d.cables)}
    return ValidationReport(d.name, problems, summary)


def load_valid_design(path: str | Path, *, clearance_mm: int | None = None) -> Loaded:
    """Load a design and raise DesignError (errors only) unless it validates."""
    loaded = load_design(path)
    report = check_loaded(loaded, clearance_mm=clearance_mm)
    if not report.ok:
        raise DesignError(errors(report.problems))
    return loaded
