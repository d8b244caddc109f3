"""Reconcile: compare what the floor observed, the as-built record and the step confirmations
with the design; write drift.json, fixups.json, asbuilt.json (and drift.pdf) all or nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from fieldops.core.problems import DesignError, Problem


@dataclass(frozen=True)
class Reconciled:
    """The outcome of :func:`reconcile`: the design, its hall, the drift report, the fix-up
    steps and the names of the files written."""

    design: object
    hall: str
    report: object
    steps: list
    written: list[str]


def reconcile(
    design_dir,
    out: Path,
    *,
    observed: list[str] = (),
    ib_map: Path | None = None,
    asbuilt: Path | None = None,
    confirmations: Path | None = None,
    plan: Path | None = None,
    pdf: bool = False,
    force: bool = False,
) -> Reconciled:
    """Build the drift of ``design_dir`` from the observation files, the as-built record
    and/or the confirmations (with the ``plan`` folder they refer to) and write its files
    into ``out``; DesignError on invalid input (nothing written)."""
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
    from fieldops.outdir import staged_outdir
    from fieldops.services.planning import load_valid_design

    loaded = load_valid_design(design_dir)
    design = loaded.design
    hall = design.floorplan.name
    ib = load_ib_map(ib_map)
    obs = (
        load_observations(observed, design, ib_map=ib)
        if observed
        else Observations(hall, classes=PortClasses(design, ib))
    )
    record = ab.AsBuilt(hall)
    if asbuilt is not None:
        record = load_asbuilt(asbuilt, hall)
    if confirmations is not None:
        confirmed = load_confirmations(confirmations)
        steps = plan_steps(plan, hall)
        try:
            record = ab.build_from_confirmations(record, steps, confirmed)
        except ab.AsBuiltError as exc:
            raise DesignError([Problem(str(confirmations), 0, "", str(exc))]) from None
    recorded = asbuilt is not None or confirmations is not None
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
    with staged_outdir(out, force=force, command="reconcile") as stage:
        write_json(stage / "drift.json", report.to_dict(steps))
        write_json(stage / "fixups.json", workorders_document(design, steps))
        write_json(stage / "asbuilt.json", ab.to_dict(report.resolved))
        if pdf:
            from fieldops.adapters.pdf.drift import write_drift_pdf

            write_drift_pdf(stage / "drift.pdf", design, report, steps)
    written = ["drift.json", "fixups.json", "asbuilt.json"] + (["drift.pdf"] if pdf else [])
    return Reconciled(design, hall, report, steps, written)


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
