"""fieldops reconcile DESIGN --observed FILE... [--ib-map FILE] [--asbuilt FILE]
[--confirmations FILE --plan DIR] [--pdf] -o OUTDIR: drift and fix-ups."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fieldops.cli._args import add_outdir
from fieldops.core.problems import DesignError, Problem

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
    from fieldops.outdir import check_outdir, staged_outdir

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
    from fieldops import services
    from fieldops.adapters.observed import load_ib_map, load_observations
    from fieldops.core import asbuilt as ab
    from fieldops.core.labels import assign_cable_ids
    from fieldops.core.observation import Observations, PortClasses
    from fieldops.core.reconcile import (
        build_drift,
        build_fixups,
        merge_observed,
        workorders_document,
    )

    loaded = services.load_valid_design(args.design)
    design = loaded.design
    hall = design.floorplan.name
    ib_map = load_ib_map(args.ib_map)
    obs = (
        load_observations(args.observed, design, ib_map=ib_map)
        if args.observed
        else Observations(hall, classes=PortClasses(design, ib_map))
    )
    record = ab.AsBuilt(hall)
    if args.asbuilt is not None:
        record = load_asbuilt(args.asbuilt, hall)
    if args.confirmations is not None:
        confirmations = load_confirmations(args.confirmations)
        steps = plan_steps(args.plan, hall)
        try:
            record = ab.build_from_confirmations(record, steps, confirmations)
        except ab.AsBuiltError as exc:
            raise DesignError([Problem(str(args.confirmations), 0, "", str(exc))]) from None
    recorded = args.asbuilt is not None or args.confirmations is not None
    ids = assign_cable_ids(design.cables)[0]  # decided once; nothing routed for them
    merged = merge_observed(record, obs)
    report = build_drift(
        design,
        merged,
        scope=None if recorded else obs,
        devices_recorded=recorded,
        cable_ids=ids,
        observed=obs,
    )
    steps = build_fixups(design, report)
    with staged_outdir(args.out, force=args.force, command="reconcile") as stage:
        write_json(stage / "drift.json", report.to_dict(steps))
        write_json(stage / "fixups.json", workorders_document(design, steps))
        write_json(stage / "asbuilt.json", ab.to_dict(report.resolved))
        if args.pdf:
            from fieldops.adapters.pdf.drift import write_drift_pdf

            write_drift_pdf(stage / "drift.pdf", design, report, steps)
    written = ["drift.json", "fixups.json", "asbuilt.json"] + (["drift.pdf"] if args.pdf else [])
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
            f"{len(steps)} fix-up step(s); wrote " + ", ".join(str(args.out / n) for n in written)
        )
    return EXIT_DRIFT if report.has_drift else EXIT_NO_DRIFT


def load_asbuilt(path: Path, hall: str):
    """Read an as-built record (JSON) and check it is this hall's; DesignError otherwise."""
    from fieldops.core import asbuilt as ab

    label = str(path)
    data = _read_json(path, 200 * 1024 * 1024)
    try:
        record = ab.from_dict(data)
    except ab.AsBuiltError as exc:
        raise DesignError([Problem(label, 0, "", str(exc))]) from None
    if record.hall and record.hall != hall:
        raise DesignError(
            [
                Problem(
                    label,
                    0,
                    "hall",
                    f"as-built record is for hall '{record.hall}', the design is hall '{hall}'",
                )
            ]
        )
    return ab.AsBuilt(hall, record.devices, record.cables)


def _read_json(path: Path, max_bytes: int):
    from fieldops.adapters.yamlfile import read_text

    label = str(path)
    text = read_text(path, label, max_bytes=max_bytes)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        from fieldops.adapters.observed.common import looks_truncated

        what = "truncated JSON" if looks_truncated(text) else f"invalid JSON: {exc.msg}"
        raise DesignError(
            [Problem(label, exc.lineno, "", f"{what} at line {exc.lineno} column {exc.colno}")]
        ) from None
    except RecursionError:
        raise DesignError([Problem(label, 0, "", "JSON nested too deeply")]) from None


def load_confirmations(path: Path) -> list:
    """``[(step_id, Evidence)]`` from an exported confirmations file; DesignError otherwise."""
    from fieldops.core import asbuilt as ab

    data = _read_json(path, 200 * 1024 * 1024)
    try:
        return ab.confirmations_from_json(data)
    except ab.AsBuiltError as exc:
        raise DesignError([Problem(str(path), 0, "", str(exc))]) from None


def plan_steps(plan: Path, hall: str) -> list:
    """The steps of the plan the confirmations refer to (a plan folder or its workorders.json);
    the design is never planned again here."""
    from fieldops.adapters.workfiles import read_work_file

    work_file = plan if plan.is_file() else plan / "workorders.json"
    if not work_file.exists():
        raise DesignError(
            [
                Problem(
                    str(plan),
                    0,
                    "",
                    "no workorders.json here: --plan takes the folder 'fieldops plan' wrote (or its "
                    "workorders.json) for the steps the confirmations belong to",
                )
            ]
        )
    meta, wp = read_work_file(work_file)
    info = meta.get("design") if isinstance(meta, dict) else None
    plan_hall = info.get("hall") if isinstance(info, dict) else None
    if plan_hall and plan_hall != hall:
        raise DesignError(
            [
                Problem(
                    str(work_file),
                    0,
                    "design.hall",
                    f"the plan is for hall '{plan_hall}', the design is hall '{hall}'",
                )
            ]
        )
    return list(wp.steps)


def write_json(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return path
