"""fieldops blueprint NAME|FILE --param k=v ... -o DESIGN_DIR: expand a reference design."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from fieldops.core.problems import DesignError, Problem, errors


def register(sub) -> None:
    p = sub.add_parser(
        "blueprint",
        help="expand a reference design (blueprint) into a complete design directory",
        description="Expand a blueprint (a parameterised reference design: racks in rows, devices by "
        "role, connection rules, floor layout) into a design directory with design.yaml, floorplan.yaml, "
        "elevations.yaml, connections.yaml and the blueprint's own device types. The design is "
        "validated before anything is written; nothing is written when it has errors. "
        "Format: docs/blueprints.md.",
        epilog="Examples: fieldops blueprint --list;  fieldops blueprint dgx-h100-superpod --param su_count=4 -o out/spod4",
    )
    p.add_argument(
        "blueprint",
        nargs="?",
        metavar="NAME|FILE",
        help="a built-in blueprint name (see --list), or a blueprint YAML file or folder",
    )
    p.add_argument(
        "--list",
        action="store_true",
        help="list the built-in blueprints and their parameters, then exit",
    )
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="set a parameter, e.g. --param su_count=4 (repeatable)",
    )
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        metavar="DESIGN_DIR",
        help="design directory to write (created; must be empty unless --force)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the design files in an existing, non-empty DESIGN_DIR",
    )
    p.add_argument(
        "--no-validate",
        action="store_true",
        help="write without validating first (faster for very large expansions)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from fieldops import services
    from fieldops.adapters.blueprintfile import load_blueprint, write_design
    from fieldops.core.blueprint import expand_blueprint, resolve_params

    if args.list:
        print(describe_builtins())
        return 0
    if not args.blueprint or args.out is None:
        print(
            "fieldops blueprint: give a blueprint NAME|FILE and -o DESIGN_DIR (or --list)",
            file=sys.stderr,
        )
        return 2
    overrides = parse_params(args.param)
    t0 = time.perf_counter()
    lb = load_blueprint(args.blueprint)
    params = resolve_params(lb.blueprint, overrides)
    exp = expand_blueprint(lb.blueprint, params, lb.device_types)
    warnings: list[Problem] = []

    def check(stage: Path) -> None:
        # the design's own rules; the team (and so what plan refuses for it) is chosen at plan time
        report = services.validate_design(stage, plan_checks=False)
        if not report.ok:
            where = Problem(
                str(lb.path),
                0,
                "",
                f"the expansion with these parameters does not validate ({len(errors(report.problems))} error(s) above, in the design files it would write); nothing was written",
            )
            raise DesignError(errors(report.problems) + [where])
        warnings.extend(report.problems)

    write_design(lb, exp, args.out, force=args.force, check=None if args.no_validate else check)
    s = exp.summary()
    print(
        f"{lb.blueprint.name} ({', '.join(f'{k}={v}' for k, v in sorted(params.items()))}): {s['racks']:,} racks, {s['devices']:,} devices, {s['cables']:,} cables"
    )
    print("  devices by role: " + ", ".join(f"{k} {v:,}" for k, v in s["roles"].items()))
    print("  cables by rule:  " + ", ".join(f"{k} {v:,}" for k, v in s["links"].items()))
    state = (
        "not validated (--no-validate)"
        if args.no_validate
        else f"valid, {len(warnings)} warning(s) (run 'fieldops validate {args.out}' to list them)"
    )
    print(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s: {state}")
    return 0


def parse_params(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    problems = []
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            problems.append(Problem("--param", 0, item, f"expected NAME=VALUE, got '{item}'"))
        elif name in out:
            problems.append(Problem("--param", 0, name, f"parameter '{name}' is given twice"))
        else:
            out[name] = value.strip()
    if problems:
        raise DesignError(problems)
    return out


def describe_builtins() -> str:
    from fieldops.adapters.blueprintfile import list_blueprints, load_blueprint

    lines = []
    for path in list_blueprints():
        try:
            bp = load_blueprint(path).blueprint
        except DesignError as exc:
            lines.append(f"{path.parent.name}: cannot be loaded: {exc.problems[0]}")
            continue
        lines.append(f"{bp.name}: {bp.title}")
        for p in bp.parameters:
            rng = (
                f" one of {', '.join(p.choices)}"
                if p.choices
                else f" {p.low}..{p.high}"
                if p.low is not None or p.high is not None
                else ""
            )
            lines.append(
                f"    --param {p.name}={p.default}   {p.help}{' (' + rng.strip() + ')' if rng else ''}"
            )
    return "\n".join(lines) if lines else "no built-in blueprints"
