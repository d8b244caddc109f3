"""fieldops print DESIGN -o OUTDIR: cut sheets, rack sheets and QR label sheets as PDF."""

from __future__ import annotations

import sys
from pathlib import Path

from fieldops.cli._args import add_outdir, add_team, robot_list
from fieldops.services.printing import DEFAULT_STOCK, describe_label_stocks


def register(sub) -> None:
    # Importing this module binds the name ``print`` in the fieldops.cli package namespace,
    # which shadows the builtin that fieldops/cli/__init__.py uses to report problems. The
    # command must be called ``print``, so undo that binding (the module stays importable).
    sys.modules["fieldops.cli"].__dict__.pop("print", None)
    try:
        stocks = describe_label_stocks()
    except Exception:  # noqa: BLE001 - a broken catalogue is reported when the command runs
        stocks = "see fieldops/data/labelstock.yaml"
    p = sub.add_parser(
        "print",
        help="print cut sheets, rack sheets and QR cable labels as PDF",
        description="Validate a design, build its cable plan and work orders (as 'fieldops plan' does) and "
        "write into OUTDIR: cutsheets.pdf (per work order: cover with floor map and parts, steps with "
        "check boxes and step QR codes, rack elevations, cable tables), racks.pdf (per rack: elevation "
        "and every cable touching it) and labels.pdf (a QR label for each cable end, then device asset "
        "and rack labels). All three files are written or none. See docs/printing.md.",
        epilog=f"Label stocks: {stocks}.",
    )
    p.add_argument("design", help="design directory (holding design.yaml)")
    add_outdir(p)
    p.add_argument(
        "--pagesize",
        default="A4",
        choices=("A4", "letter"),
        help="paper for cutsheets.pdf, racks.pdf and the label sheets of labels.pdf "
        "(default: A4; roll stocks print one label per page whatever the paper)",
    )
    p.add_argument(
        "--stock",
        default=DEFAULT_STOCK,
        metavar="NAME",
        help=f"label stock for labels.pdf (default: {DEFAULT_STOCK}; see the list below)",
    )
    p.add_argument(
        "--rack",
        action="append",
        default=None,
        metavar="NAME",
        help="only this rack in racks.pdf (repeat for several; default: every rack)",
    )
    p.add_argument(
        "--crew",
        type=int,
        default=None,
        metavar="N",
        help="number of technicians for the work orders (default: the technician profile's count)",
    )
    add_team(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args) -> int:
    from fieldops.outdir import check_outdir

    check_outdir(args.out, force=args.force)  # before any work
    from fieldops.services.printing import PrintError, print_design

    if args.crew is not None and args.crew < 0:
        print("fieldops print: --crew must be 0 or more", file=sys.stderr)
        return 2
    say = (
        (lambda msg: None)
        if args.quiet
        else (lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
    )
    try:
        printed = print_design(
            args.design,
            Path(args.out),
            force=args.force,
            pagesize=args.pagesize,
            stock=args.stock,
            racks=args.rack,
            crew=args.crew,
            robots=robot_list(args),
            profiles_dir=args.profiles,
            say=say,
            warn=lambda msg: print(f"fieldops print: warning: {msg}", file=sys.stderr),
        )
    except PrintError as exc:
        print(f"fieldops print: {exc}", file=sys.stderr)
        return 2
    print(
        f"{printed.design}: {printed.workorders} work orders, {printed.cables:,} cables, "
        f"{printed.labels:,} labels; wrote " + ", ".join(str(f) for f in printed.files)
    )
    return 0
