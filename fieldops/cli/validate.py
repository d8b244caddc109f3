"""fieldops validate DESIGN: check a design and list every problem with its file and line."""

from __future__ import annotations

import json
import sys

from fieldops import services
from fieldops.core.problems import ERROR, WARNING


def register(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="check a design: U overlaps, budgets, ports, cables, floor geometry",
        description="Check a design directory and list every problem as file:line: path: message. "
        "Exit 0 when valid, 2 when it has errors (or warnings with --strict).",
    )
    p.add_argument("design", help="design directory (holding design.yaml) or a design.yaml file")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--clearance-mm", type=int, default=None, help="working clearance in front of rack faces (default 900)")
    p.set_defaults(func=run)


def run(args) -> int:
    report = services.validate_design(args.design, clearance_mm=args.clearance_mm)
    errors = [p for p in report.problems if p.severity == ERROR]
    warnings = [p for p in report.problems if p.severity == WARNING]
    failed = bool(errors) or (args.strict and bool(warnings))
    if args.format == "json":
        json.dump(
            {
                "design": report.name,
                "valid": not failed,
                "summary": report.summary,
                "errors": len(errors),
                "warnings": len(warnings),
                "problems": [p.to_dict() for p in report.problems],
            },
            sys.stdout,
            indent=2,
            sort_keys=True,
        )
        print()
    else:
        for problem in report.problems:
            print(problem, file=sys.stderr if problem.severity == ERROR else sys.stdout)
        s = report.summary
        print(
            f"{report.name}: {s['racks']} racks, {s['devices']} devices, {s['cables']} cables, "
            f"{len(errors)} error(s), {len(warnings)} warning(s): {'INVALID' if failed else 'valid'}"
        )
    return 2 if failed else 0
