"""fieldops plan DESIGN -o OUTDIR: cable plan, BOM, work orders and schedule (and PDFs)."""

from __future__ import annotations

import sys

from fieldops.cli._args import add_outdir, add_team, robot_list


def register(sub) -> None:
    p = sub.add_parser(
        "plan",
        help="route and size cables, build work orders and the schedule",
        description="Validate a design, route every cable over the trays, size it to an orderable "
        "length, and build step-ordered work orders for a crew and its robots. Writes cutsheet.csv, "
        "bom.csv, routes.json, trays.csv, workorders.json and schedule.csv into OUTDIR (all or "
        "nothing). Refuses, with validate's messages, what validate refuses.",
    )
    p.add_argument("design", help="design directory (holding design.yaml)")
    add_outdir(p)
    p.add_argument(
        "--crew",
        type=int,
        default=None,
        metavar="N",
        help="number of technicians (default: the technician profile's count)",
    )
    add_team(p)
    p.add_argument(
        "--cables-only",
        action="store_true",
        help="only the cable outputs (cutsheet.csv, bom.csv, routes.json, trays.csv)",
    )
    p.add_argument("--pdf", action="store_true", help="also print cutsheets.pdf and labels.pdf")
    p.add_argument(
        "--pagesize",
        default="A4",
        choices=("A4", "letter"),
        help="paper for --pdf: cut sheets and label sheets alike (default: A4)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args) -> int:
    from fieldops import services  # not at import: every fieldops command imports this module

    if args.crew is not None and args.crew < 0:
        print("fieldops plan: --crew must be 0 or more", file=sys.stderr)
        return 2
    say = (
        (lambda msg: None)
        if args.quiet
        else (lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
    )
    result = services.plan_design(
        args.design,
        args.out,
        crew=args.crew,
        robots=robot_list(args),
        profiles_dir=args.profiles,
        cables_only=args.cables_only,
        pdf=args.pdf,
        pagesize=args.pagesize,
        force=args.force,
        progress=say,
    )
    print(services.plan_summary(result))
    return 0
