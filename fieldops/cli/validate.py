"""fieldops validate DESIGN: check a design and list every problem with its file and line."""

from __future__ import annotations

import argparse
import json
import sys

from fieldops.cli._args import add_team, robot_list
from fieldops.core.problems import ERROR, WARNING, one_line

MAX_CLEARANCE_MM = 10_000


def _clearance(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of millimetres") from None
    if not 0 <= value <= MAX_CLEARANCE_MM:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..{MAX_CLEARANCE_MM} mm")
    return value


def register(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="check a design: U overlaps, budgets, ports, cables, floor geometry, trays, the team",
        description="Check a design directory and list every problem as 'file:line: path: message' "
        "(file names relative to the design directory). Once the design's own rules pass, the "
        "cables are routed and what 'fieldops plan' would refuse for the team is checked too "
        "(tray fill and separation, reach, lifts, robot actions, walking paths), with plan's "
        "messages. Exit 0 when valid, 2 when it has errors (or warnings with --strict). The "
        "formats are described in docs/formats.md.",
    )
    p.add_argument(
        "design",
        metavar="DESIGN",
        help="design directory (holding design.yaml) or a design.yaml file",
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: one line per problem and a summary line; json: one object with a 'problems' "
        "list of {file, line, path, message, severity, rule} (default: text)",
    )
    p.add_argument(
        "--strict", action="store_true", help="treat warnings as errors (exit 2 when there are any)"
    )
    p.add_argument(
        "--clearance-mm",
        type=_clearance,
        default=None,
        metavar="MM",
        help="working clearance that must be free in front of and behind every rack (default 900; 0 turns the check off)",
    )
    p.add_argument(
        "--crew",
        type=int,
        default=None,
        metavar="N",
        help="number of technicians to check the plan for (default: the technician profile's count)",
    )
    add_team(p)
    p.add_argument(
        "--rules-only",
        action="store_true",
        help="only the design's own rules: no routing, no tray fill and no team checks (fast on "
        "big halls, but plan may still refuse what they would have found)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from fieldops import services  # not at import: every fieldops command imports this module

    if args.crew is not None and args.crew < 0:
        print("fieldops validate: --crew must be 0 or more", file=sys.stderr)
        return 2
    report = services.validate_design(
        args.design,
        clearance_mm=args.clearance_mm,
        crew=args.crew,
        robots=robot_list(args),
        profiles_dir=args.profiles,
        plan_checks=not args.rules_only,
    )
    errors = [p for p in report.problems if p.severity == ERROR]
    warnings = [p for p in report.problems if p.severity == WARNING]
    failed = bool(errors) or (args.strict and bool(warnings))
    if args.format == "json":
        doc = {
            "design": report.name,
            "valid": not failed,
            "strict": bool(args.strict),
            "summary": report.summary,
            "errors": len(errors),
            "warnings": len(warnings),
            "problems": [p.to_dict() for p in report.problems],
        }
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    else:
        lines = [str(problem) for problem in report.problems]
        s = report.summary
        lines.append(
            f"{one_line(report.name)}: {s.get('racks', 0)} racks, {s.get('devices', 0)} devices, {s.get('cables', 0)} cables, "
            f"{len(errors)} error(s), {len(warnings)} warning(s): {'INVALID' if failed else 'valid'}"
            + (" (--strict)" if args.strict and warnings and not errors else "")
        )
        sys.stdout.write("\n".join(lines) + "\n")
    return 2 if failed else 0
