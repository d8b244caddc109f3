"""fieldops reconcile DESIGN --observed FILE... [--ib-map FILE] [--asbuilt FILE]
[--confirmations FILE --plan DIR] [--pdf] -o OUTDIR: drift and fix-ups."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fieldops.cli._args import add_outdir

EXIT_NO_DRIFT, EXIT_DRIFT, EXIT_INVALID = 0, 1, 2


def register(sub) -> None:
    p = sub.add_parser(
        "reconcile",
        help="compare what the floor observed and the as-built record with the design; write fix-up work",
        description="Compare what was built (LLDP neighbours from 'lldpctl -f json', InfiniBand links "
        "from 'ibnetdiscover' or 'iblinkinfo', a PDU outlet report, a console-server port status, a "
        "neighbour CSV, and/or the as-built record and step confirmations) with the design. Each "
        "source looks only at the ports it can see (docs/reconcile.md, 'Observation scope'); the "
        "rest stay unobserved. Writes drift.json (per cable and device: as_designed, missing, "
        "swapped, wrong_port, unexpected, mislabelled, suspect, wrong_u, with counts, a summary "
        "per category and the items by severity and rack), fixups.json (the fix-up steps for real "
        "drift as work orders, same schema as workorders.json), asbuilt.json (the as-built record "
        "with every link identified) and, with --pdf, drift.pdf (one page per rack) into OUTDIR, "
        "all or nothing. Exit 0: no drift; 1: drift found (fix-ups written); 2: invalid input "
        "(nothing written). Formats: docs/reconcile.md.",
    )
    p.add_argument("design", help="design directory (holding design.yaml)")
    p.add_argument(
        "--observed",
        nargs="+",
        default=[],
        metavar="FILE",
        help="observation files, recognised by content: lldpctl JSON (name it DEVICE=FILE, or "
        "DEVICE.json), ibnetdiscover or iblinkinfo output, a PDU outlet CSV "
        "(pdu,outlet,state,current_a), a console-server port CSV (console_server,port,state) or a "
        "neighbour CSV (device,port,neighbour_device,neighbour_port)",
    )
    p.add_argument(
        "--ib-map",
        type=Path,
        default=None,
        metavar="FILE",
        help="InfiniBand map (YAML): switch port numbering per device type and HCA name -> port "
        "per host type, over the bundled fieldops/data/infiniband.yaml (docs/reconcile.md)",
    )
    p.add_argument(
        "--asbuilt",
        type=Path,
        default=None,
        metavar="FILE",
        help="as-built record (JSON snapshot or event log, docs/reconcile.md); with it every "
        "designed cable and device is checked, without it only the ports the observations looked at",
    )
    p.add_argument(
        "--confirmations",
        type=Path,
        default=None,
        metavar="FILE",
        help="step confirmations as the web app exports them (GET /api/confirmations), or a JSON "
        "list of {step_id, how, codes} objects; each confirmed mount, cable and power step (and "
        "robot FINISHED) is folded into the as-built record (on top of --asbuilt); with it every "
        "designed cable and device is checked; needs --plan",
    )
    p.add_argument(
        "--plan",
        type=Path,
        default=None,
        metavar="DIR",
        help="plan folder (or its workorders.json) that the confirmations refer to; required with "
        "--confirmations (the steps are read from it, never planned again)",
    )
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also write drift.pdf: one page per rack with drift, its items by severity and the "
        "fix-up steps with check boxes, for the technician who fixes it",
    )
    add_outdir(p)
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="summary on stdout (default: text)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from fieldops.outdir import check_outdir

    if not args.observed and args.asbuilt is None and args.confirmations is None:
        print(
            "fieldops reconcile: give --observed FILE..., --asbuilt FILE and/or --confirmations FILE",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if args.plan is not None and args.confirmations is None:
        print("fieldops reconcile: --plan is only used with --confirmations", file=sys.stderr)
        return EXIT_INVALID
    if args.confirmations is not None and args.plan is None:
        print(
            "fieldops reconcile: --confirmations needs --plan DIR: the plan folder (or its "
            "workorders.json) the confirmed steps belong to (the one loaded into the web app)",
            file=sys.stderr,
        )
        return EXIT_INVALID
    check_outdir(args.out, force=args.force)  # before any work
    from fieldops.services.reconcile import reconcile

    done = reconcile(
        args.design,
        args.out,
        observed=args.observed,
        ib_map=args.ib_map,
        asbuilt=args.asbuilt,
        confirmations=args.confirmations,
        plan=args.plan,
        pdf=args.pdf,
        force=args.force,
    )
    design, hall, report, steps = done.design, done.hall, done.report, done.steps
    if args.format == "json":
        print(
            json.dumps(
                {
                    "counts": report.counts,
                    "summary": report.summary(),
                    "fixup_steps": len(steps),
                },
                sort_keys=True,
            )
        )
    else:
        print(f"{design.name} (hall {hall}): {'DRIFT' if report.has_drift else 'as designed'}")
        for line in report.summary_lines():
            print(line)
        print(
            f"{len(steps)} fix-up step(s); wrote "
            + ", ".join(str(args.out / n) for n in done.written)
        )
    return EXIT_DRIFT if report.has_drift else EXIT_NO_DRIFT
