"""fieldops reconcile DESIGN --observed FILE... [--asbuilt FILE] [--confirmations FILE [--plan DIR]]
-o OUTDIR: drift and fix-ups."""

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
        help="compare observed links and the as-built record with the design; write fix-up work",
        description="Compare what was built (LLDP neighbours from 'lldpctl -f json', a neighbour CSV, "
        "and/or the as-built record) with the design. Writes drift.json (per cable and device: "
        "as_designed, missing, swapped, wrong_port, unexpected, wrong_u, with counts), fixups.json "
        "(the fix-up steps as work orders, same schema as workorders.json) and asbuilt.json (the "
        "as-built record with every link identified) into OUTDIR, all or nothing. "
        "Exit 0: no drift; 1: drift found (fix-ups written); 2: invalid input (nothing written). "
        "Formats: docs/reconcile.md.",
    )
    p.add_argument("design", help="design directory (holding design.yaml)")
    p.add_argument(
        "--observed",
        nargs="+",
        default=[],
        metavar="FILE",
        help="neighbour observations: lldpctl JSON (name it DEVICE=FILE, or DEVICE.json) or CSV "
        "with device,port,neighbour_device,neighbour_port",
    )
    p.add_argument(
        "--asbuilt",
        type=Path,
        default=None,
        metavar="FILE",
        help="as-built record (JSON snapshot or event log, docs/reconcile.md); with it every "
        "designed cable and device is checked, without it only the reporting devices' ports",
    )
    p.add_argument(
        "--confirmations",
        type=Path,
        default=None,
        metavar="FILE",
        help="step confirmations as the web app exports them (GET /api/confirmations), or a JSON "
        "list of {step_id, how, codes} objects; each confirmed mount, cable and power step (and "
        "robot FINISHED) is folded into the as-built record (on top of --asbuilt); with it every "
        "designed cable and device is checked",
    )
    p.add_argument(
        "--plan",
        type=Path,
        default=None,
        metavar="DIR",
        help="plan folder (or its workorders.json) the confirmations refer to (default: plan the "
        "design now with the default team; step IDs do not depend on the team)",
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

    check_outdir(args.out, force=args.force)  # before any work
    from fieldops import services
    from fieldops.adapters.observed import load_observations
    from fieldops.core import asbuilt as ab
    from fieldops.core.labels import assign_cable_ids
    from fieldops.core.reconcile import (
        Observations,
        build_drift,
        build_fixups,
        merge_observed,
        workorders_document,
    )

    if not args.observed and args.asbuilt is None and args.confirmations is None:
        print(
            "fieldops reconcile: give --observed FILE..., --asbuilt FILE and/or --confirmations FILE",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if args.plan is not None and args.confirmations is None:
        print("fieldops reconcile: --plan is only used with --confirmations", file=sys.stderr)
        return EXIT_INVALID
    loaded = services.load_valid_design(args.design)
    design = loaded.design
    hall = design.floorplan.name
    obs = load_observations(args.observed, design) if args.observed else Observations(hall)
    record = ab.AsBuilt(hall)
    cable_plan = None  # routed only when the plan's steps are planned here
    if args.asbuilt is not None:
        record = load_asbuilt(args.asbuilt, hall)
    if args.confirmations is not None:
        confirmations = load_confirmations(args.confirmations)
        steps, cable_plan = plan_steps(args.plan, loaded, hall)
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
        scope=None if recorded else obs.reporters,
        devices_recorded=recorded,
        cable_ids=ids,
    )
    steps = build_fixups(design, report)
    with staged_outdir(args.out, force=args.force, command="reconcile") as stage:
        write_json(stage / "drift.json", report.to_dict())
        write_json(stage / "fixups.json", workorders_document(design, steps))
        write_json(stage / "asbuilt.json", ab.to_dict(report.resolved))
    if args.format == "json":
        print(json.dumps({"counts": report.counts, "fixup_steps": len(steps)}, sort_keys=True))
    else:
        print(f"{design.name} (hall {hall}): {'DRIFT' if report.has_drift else 'as designed'}")
        for line in report.summary_lines():
            print(line)
        print(
            f"{len(steps)} fix-up step(s); wrote {args.out / 'drift.json'}, {args.out / 'fixups.json'}, {args.out / 'asbuilt.json'}"
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
        from fieldops.adapters.observed import looks_truncated

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


def plan_steps(plan: Path | None, loaded, hall: str) -> tuple[list, object | None]:
    """The plan's steps: from ``plan`` (a folder or its workorders.json), or planned now from
    the loaded design (then with its cable plan, else None)."""
    if plan is not None:
        from fieldops.adapters.workfiles import read_work_file

        work_file = plan if plan.is_file() else plan / "workorders.json"
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
        return list(wp.steps), None
    from fieldops import services

    planned = services.build_plan(loaded)
    return list(planned.work.steps), planned.cable_plan


def write_json(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return path
