"""fieldops netbox export|import: NetBox stays the system of record (CSV out, API or CSV in)."""

from __future__ import annotations

import sys
from pathlib import Path

from fieldops.cli._args import add_outdir


def register(sub) -> None:
    p = sub.add_parser(
        "netbox",
        help="export devices and cables to NetBox CSV (and a point-to-point list); import from NetBox",
        description="Round-trip a design with NetBox. 'export' writes NetBox bulk-import CSV "
        "(devices.csv, cables.csv with label, color, length, length_unit, status) and p2p.csv "
        "(A/Z node, port, rack, U, for cabling validation tools). 'import' reads a site's devices "
        "and cables from the NetBox REST API (or NetBox CSV files) into a fieldops design directory.",
    )
    nsub = p.add_subparsers(dest="netbox_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    e = nsub.add_parser(
        "export",
        help="write devices.csv, cables.csv and p2p.csv for NetBox and cabling validation tools",
        description="Write NetBox bulk-import CSV for a design's devices and cables, and a point-to-point "
        "cable list, into DIR (all or nothing). Cable lengths are the ordered lengths of the cable plan.",
    )
    e.add_argument("design", help="design directory (holding design.yaml)")
    add_outdir(e, metavar="DIR")
    e.add_argument(
        "--site", default=None, help="NetBox site name for every row (default: the hall name)"
    )
    e.add_argument(
        "--asbuilt",
        type=Path,
        default=None,
        metavar="FILE",
        help="as-built record (see 'fieldops reconcile'): cables in place as designed get status "
        "'connected', the rest 'planned' (default: all planned)",
    )
    e.set_defaults(func=run_export)

    i = nsub.add_parser(
        "import",
        help="read a NetBox site (REST API or CSV) into a fieldops design directory",
        description="Read devices, cables and racks of one NetBox site through its REST API (pynetbox) "
        "or from NetBox CSV files, and write a design directory (design.yaml, elevations.yaml, "
        "connections.yaml, the given floor plan and device types). Exit 2 with nothing written on "
        "any problem (unknown device type, rack not on the floor plan, HTTP error).",
    )
    i.add_argument("--url", default=None, help="NetBox base URL, e.g. https://netbox.example.com")
    i.add_argument(
        "--token-file",
        type=Path,
        default=None,
        metavar="F",
        help="file holding the API token (never on the command line)",
    )
    i.add_argument("--site", default="", metavar="S", help="NetBox site slug to import")
    i.add_argument(
        "--devices-csv",
        type=Path,
        default=None,
        metavar="F",
        help="import from a NetBox devices CSV instead of the API",
    )
    i.add_argument(
        "--cables-csv", type=Path, default=None, metavar="F", help="the matching NetBox cables CSV"
    )
    i.add_argument(
        "--floorplan",
        type=Path,
        required=True,
        metavar="F",
        help="the hall's fieldops floorplan.yaml (NetBox has no floor geometry)",
    )
    i.add_argument(
        "--device-types",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="devicetype-library files for types not in the bundled library (repeatable)",
    )
    i.add_argument("--name", default=None, help="design name (default: the site)")
    add_outdir(i, metavar="DESIGN_DIR", help="design directory to write")
    i.set_defaults(func=run_import)


def run_export(args) -> int:
    from fieldops.outdir import check_outdir, staged_outdir

    check_outdir(args.out, force=args.force)  # before any work
    from fieldops import services
    from fieldops.adapters.netbox_export import write_netbox_files
    from fieldops.cli.reconcile import load_asbuilt
    from fieldops.core.labels import assign_cable_ids

    design = services.load_valid_design(args.design).design
    site = args.site or design.floorplan.name
    ordered, plan = {}, None
    try:
        from fieldops.core.routing import build_cable_plan

        plan = build_cable_plan(design)
        ordered = {r.id: r.ordered_mm for r in plan.runs}
    except Exception as exc:  # lengths are optional in NetBox; the export still goes out
        print(
            f"fieldops netbox export: warning: no cable lengths ({type(exc).__name__}: {exc})",
            file=sys.stderr,
        )
    ids = assign_cable_ids(design.cables)[0]
    connected: set[str] = set()
    if args.asbuilt is not None:
        from fieldops.core.reconcile import build_drift

        record = load_asbuilt(args.asbuilt, design.floorplan.name)
        report = build_drift(design, record, cable_ids=ids)
        connected = {d.cable for d in report.cables if d.status == "as_designed"}
    with staged_outdir(args.out, force=args.force, command="netbox export") as stage:
        files = write_netbox_files(
            design, stage, ids, site=site, ordered_mm=ordered, connected=connected
        )
        names = [f.name for f in files]
    print(
        f"{design.name}: {len(design.devices)} devices, {len(design.cables)} cables ({len(connected)} connected); wrote "
        + ", ".join(str(args.out / n) for n in names)
    )
    return 0


def run_import(args) -> int:
    from fieldops.outdir import check_outdir, staged_outdir

    check_outdir(args.out, force=args.force)  # before any work
    from fieldops.adapters.netbox_api import fetch_api, read_csv_exports, write_design_dir
    from fieldops.core.problems import DesignError, Problem

    if args.devices_csv or args.cables_csv:
        if not (args.devices_csv and args.cables_csv):
            print(
                "fieldops netbox import: give both --devices-csv and --cables-csv", file=sys.stderr
            )
            return 2
        data = read_csv_exports(args.devices_csv, args.cables_csv, site=args.site)
    else:
        if not (args.url and args.token_file and args.site):
            print(
                "fieldops netbox import: give --url, --token-file and --site (or --devices-csv and --cables-csv)",
                file=sys.stderr,
            )
            return 2
        try:
            token = args.token_file.read_text().strip()
        except OSError as exc:
            raise DesignError(
                [
                    Problem(
                        str(args.token_file),
                        0,
                        "",
                        f"cannot read the token file: {exc.strerror or exc}",
                    )
                ]
            ) from None
        if not token or len(token) > 400 or any(c.isspace() for c in token):
            raise DesignError(
                [Problem(str(args.token_file), 0, "", "expected one API token on one line")]
            )
        data = fetch_api(args.url, token, args.site)
    if not args.floorplan.is_file():
        raise DesignError([Problem(str(args.floorplan), 0, "", "floor plan not found")])
    with staged_outdir(args.out, force=args.force, command="netbox import") as stage:
        write_design_dir(
            data,
            stage,
            name=args.name or args.site or "netbox",
            floorplan=args.floorplan,
            device_type_dirs=args.device_types,
        )
    print(
        f"imported {len(data.devices)} devices and {len(data.cables)} cables from {data.source} into {args.out}"
    )
    return 0
