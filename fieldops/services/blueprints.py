"""Blueprints: list the built-in reference designs and expand one into a design directory,
validated before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fieldops.core.problems import DesignError, Problem, errors


@dataclass(frozen=True)
class BuiltinBlueprint:
    """A built-in blueprint: ``blueprint`` when it loads, else the first ``problem``."""

    path: Path
    blueprint: object | None = None
    problem: Problem | None = None


@dataclass
class Expanded:
    """What ``expand_to_design`` wrote: the blueprint's name, the parameters it used, the
    expansion's summary (racks, devices, cables, roles, links) and the design's warnings."""

    name: str
    params: dict
    summary: dict
    warnings: list[Problem] = field(default_factory=list)


def builtin_blueprints() -> list[BuiltinBlueprint]:
    """Every built-in blueprint, sorted by name, loaded (or why it cannot be)."""
    from fieldops.adapters.blueprintfile import list_blueprints, load_blueprint

    found = []
    for path in list_blueprints():
        try:
            found.append(BuiltinBlueprint(path, blueprint=load_blueprint(path).blueprint))
        except DesignError as exc:
            found.append(BuiltinBlueprint(path, problem=exc.problems[0]))
    return found


def expand_to_design(
    ref, overrides: dict[str, str], out: Path, *, force: bool = False, validate: bool = True
) -> Expanded:
    """Expand blueprint ``ref`` (built-in name, file or folder) with ``overrides`` into the
    design directory ``out``, all files or none; with ``validate`` the design's own rules are
    checked first and nothing is written when it has errors (DesignError)."""
    from fieldops.adapters.blueprintfile import load_blueprint, write_design
    from fieldops.core.blueprint import expand_blueprint, resolve_params
    from fieldops.services.planning import validate_design

    lb = load_blueprint(ref)
    params = resolve_params(lb.blueprint, overrides)
    exp = expand_blueprint(lb.blueprint, params, lb.device_types)
    warnings: list[Problem] = []

    def check(stage: Path) -> None:
        # the design's own rules; the team (and so what plan refuses for it) is chosen at plan time
        report = validate_design(stage, plan_checks=False)
        if not report.ok:
            where = Problem(
                str(lb.path),
                0,
                "",
                f"the expansion with these parameters does not validate ({len(errors(report.problems))} error(s) above, in the design files it would write); nothing was written",
            )
            raise DesignError(errors(report.problems) + [where])
        warnings.extend(report.problems)

    write_design(lb, exp, out, force=force, check=check if validate else None)
    return Expanded(lb.blueprint.name, params, exp.summary(), warnings)
