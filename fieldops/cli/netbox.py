"""fieldops netbox export|import: NetBox stays the system of record (CSV out, API or CSV in)."""

from __future__ import annotations

import sys
from pathlib import Path

from fieldops.cli._args import add_outdir


def register(sub) -> None:
    p = sub.add_parser(
        "netbox",
        help="export a design to NetBox (import files, REST API push) and import from NetBox",
        description="Round-trip a design with NetBox. 'export' writes a complete NetBox import set "
        "(sites, locations, racks, manufacturers, roles, device types, devices, cables, in import "
        "order) and the point-to-point workbook for cable validation; 'push' creates and updates "
        "the same objects through the REST API; 'import' reads a site (REST API or NetBox's CSV "
        "exports) into a fieldops design directory.",
    )
    nsub = p.add_subparsers(dest="netbox_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    e = nsub.add_parser(
        "export",
        help="write NetBox import files (in import order) and the P2P cable-validation workbook",
        description="Write a NetBox import set for the design into DIR (all or nothing): "
        "01-sites.csv ... 09-cables.csv with a README of the import order. Nothing is routed: "
        "cable lengths are the ordered lengths of a plan folder (--plan), else left empty.",
    )
    e.add_argument("design", help="design directory (holding design.yaml)")
    add_outdir(e, metavar="DIR")
    e.add_argument(
        "--site", default=None, help="NetBox site name for every row (default: the hall name)"
    )
    e.add_argument(
        "--plan",
        type=Path,
        default=None,
        metavar="PLAN_DIR",
        help="folder 'fieldops plan' wrote (cutsheet.csv or workorders.json): cables get their "
        "ordered length (default: lengths left empty, and the export says so)",
    )
    e.add_argument(
        "--asbuilt",
        type=Path,
        default=None,
        metavar="FILE",
        help="as-built record (see 'fieldops reconcile'): cables in place as designed get status "
        "'connected', the rest 'planned' (default: all planned)",
    )
    e.add_argument(
        "--p2p-include",
        default="",
        metavar="LIST",
        help="also put these cords on P2P sheets: 'power', 'console' or 'power,console' "
        "(default: data fabrics only: compute, storage, in-band, oob)",
    )
    e.add_argument(
        "--p2p-ports",
        choices=("numbers", "names"),
        default="numbers",
        help="P2P port column: NVIDIA's port numbers from the device type (swp59 -> 59, "
        "ib0 -> 1, P3.1 -> 4/2; default) or the device type's port names",
    )
    e.set_defaults(func=run_export)

    u = nsub.add_parser(
        "push",
        help="create and update the design's objects in NetBox through its REST API",
        description="Push a design to NetBox with pynetbox and bulk requests: creates the site, "
        "hall location, rack custom fields, manufacturers, roles, device types, racks, devices "
        "and cables NetBox lacks, updates what changed (matching devices by name or asset tag, "
        "cables by label or ports) and marks devices and cables the design no longer has "
        "'decommissioning'. A second push of the same design changes nothing. Exit 0 when "
        "everything was applied, 1 when some objects were blocked (listed), 2 on a problem.",
    )
    u.add_argument("design", help="design directory (holding design.yaml)")
    u.add_argument("--url", required=True, help="NetBox base URL, e.g. https://netbox.example.com")
    u.add_argument(
        "--token-file",
        type=Path,
        required=True,
        metavar="F",
        help="file holding the API token (never on the command line)",
    )
    u.add_argument(
        "--site", default=None, help="NetBox site name (default: the hall name; slug derived)"
    )
    u.add_argument(
        "--plan",
        type=Path,
        default=None,
        metavar="PLAN_DIR",
        help="folder 'fieldops plan' wrote: cables get their ordered length (default: "
        "lengths in NetBox are left as they are)",
    )
    u.add_argument(
        "--asbuilt",
        type=Path,
        default=None,
        metavar="FILE",
        help="as-built record: cables in place as designed are pushed 'connected'",
    )
    u.add_argument(
        "--dry-run",
        action="store_true",
        help="print the changes (the diff) and write nothing",
    )
    u.set_defaults(func=run_push)

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


def _asbuilt(args):
    """A reader of the --asbuilt record for the design's hall (None without the option)."""
    if args.asbuilt is None:
        return None
    from fieldops.services.reconcile import load_asbuilt

    return lambda hall: load_asbuilt(args.asbuilt, hall)


def run_export(args) -> int:
    from fieldops.services.netbox import export_netbox

    result = export_netbox(
        args.design,
        args.out,
        site=args.site,
        plan_dir=args.plan,
        asbuilt=_asbuilt(args),
        p2p_include=tuple(x.strip() for x in args.p2p_include.split(",") if x.strip()),
        p2p_ports=args.p2p_ports,
        force=args.force,
    )
    for note in result.notes:
        print(f"fieldops netbox export: note: {note}", file=sys.stderr)
    d = result.design
    print(
        f"{d.name}: {len(d.devices)} devices, {len(d.cables)} cables "
        f"({result.with_length} with an ordered length, {result.connected} connected); "
        f"wrote {args.out}/README.md and the import files it lists, and "
        f"{args.out}/p2p/cable-validation.xlsx ({result.p2p_links} links)"
    )
    return 0


def run_push(args) -> int:
    from fieldops.services.netbox import push_netbox

    result = push_netbox(
        args.design,
        url=args.url,
        token_file=args.token_file,
        site=args.site,
        plan_dir=args.plan,
        asbuilt=_asbuilt(args),
        dry_run=args.dry_run,
    )
    for note in result.notes:
        print(f"fieldops netbox push: note: {note}", file=sys.stderr)
    for change in result.changes:
        print(change.line())
    tally: dict[str, int] = {}
    for change in result.changes:
        tally[change.action] = tally.get(change.action, 0) + 1
    unchanged = sum(result.unchanged.values())
    summary = ", ".join(
        f"{tally.get(a, 0)} {future if result.dry_run else past}"
        for a, future, past in (
            ("create", "to create", "created"),
            ("update", "to update", "updated"),
            ("decommission", "to decommission", "decommissioned"),
            ("blocked", "blocked", "blocked"),
        )
    )
    tail = " (dry run: nothing written)" if result.dry_run else ""
    print(f"{result.design.name} -> {args.url}: {summary}, {unchanged} unchanged{tail}")
    return 1 if tally.get("blocked") else 0


def run_import(args) -> int:
    from fieldops.services.netbox import import_netbox

    data = import_netbox(
        args.out,
        floorplan=args.floorplan,
        url=args.url,
        token_file=args.token_file,
        site=args.site,
        devices_csv=args.devices_csv,
        cables_csv=args.cables_csv,
        device_types=args.device_types,
        name=args.name,
        force=args.force,
    )
    print(
        f"imported {len(data.devices)} devices and {len(data.cables)} cables from {data.source} into {args.out}"
    )
    return 0
