"""NetBox use cases: export a design, import a site, push a design through the REST API.

None of them routes the design: cable IDs come from ``core.labels.assign_cable_ids`` and the
ordered lengths from a plan folder ``fieldops plan`` wrote; without one, lengths stay empty
and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fieldops.core.problems import DesignError, Problem


@dataclass
class ExportResult:
    design: object
    files: list[Path] = field(default_factory=list)
    connected: int = 0
    with_length: int = 0
    p2p_links: int = 0
    notes: list[str] = field(default_factory=list)  # what the user must know (stderr)


def _lengths(design, ids, plan_dir: Path | None, notes: list[str]) -> dict[str, int]:
    if plan_dir is None:
        notes.append(
            "no --plan given: cable lengths are left empty (give the folder 'fieldops plan' "
            "wrote to export the ordered lengths)"
        )
        return {}
    from fieldops.adapters.planlengths import read_plan_lengths

    lengths = read_plan_lengths(plan_dir, design, ids)
    if lengths.missing:
        shown = ", ".join(lengths.missing[:5]) + (" ..." if len(lengths.missing) > 5 else "")
        notes.append(
            f"{len(lengths.missing)} of {len(ids)} cables have no ordered length in "
            f"{lengths.source} ({shown}): their length is left empty; re-run 'fieldops plan' "
            "if the design changed"
        )
    return lengths.ordered_mm


def _connected(design, ids, record) -> set[str]:
    if record is None:
        return set()
    from fieldops.core.reconcile import build_drift

    report = build_drift(design, record, cable_ids=ids)
    return {d.cable for d in report.cables if d.status == "as_designed"}


def export_netbox(
    design_path: Path,
    outdir: Path,
    *,
    site: str | None = None,
    plan_dir: Path | None = None,
    asbuilt=None,
    p2p_include: tuple[str, ...] = (),
    p2p_ports: str = "numbers",
    force: bool = False,
) -> ExportResult:
    """Write the NetBox import set for a validated design into ``outdir`` (all or nothing),
    and the P2P cable-validation workbook under ``p2p/`` (``p2p_include``: ``power``,
    ``console`` sheets too; ``p2p_ports``: ``numbers`` or ``names``).

    ``asbuilt`` is a function of the hall name returning the as-built record (or None):
    cables in place as designed are exported ``connected``.
    """
    from fieldops import services
    from fieldops.adapters.netbox_export import write_netbox_files
    from fieldops.adapters.p2pfile import write_p2p_files
    from fieldops.core.labels import assign_cable_ids
    from fieldops.core.p2p import EXTRA_FABRICS, build_p2p
    from fieldops.outdir import check_outdir, staged_outdir

    unknown = [x for x in p2p_include if x not in EXTRA_FABRICS]
    if unknown:
        raise DesignError(
            [
                Problem(
                    "--p2p-include",
                    0,
                    "",
                    f"'{unknown[0]}' is not one of: {', '.join(EXTRA_FABRICS)}",
                )
            ]
        )
    check_outdir(outdir, force=force)  # before any work
    loaded = services.load_valid_design(design_path)
    design = loaded.design
    ids = assign_cable_ids(design.cables)[0]
    result = ExportResult(design)
    ordered = _lengths(design, ids, plan_dir, result.notes)
    connected = _connected(design, ids, asbuilt(design.floorplan.name) if asbuilt else None)
    with staged_outdir(Path(outdir), force=force, command="netbox export") as stage:
        files = write_netbox_files(
            design,
            stage,
            ids,
            site=site or design.floorplan.name,
            ordered_mm=ordered,
            connected=connected,
            base=loaded.base,
        )
        links = build_p2p(design, ids, ordered_mm=ordered, include=p2p_include, ports=p2p_ports)
        p2p_files, p2p_notes = write_p2p_files(stage / "p2p", links)
        result.notes += p2p_notes
        result.p2p_links = len(links)
        result.files = [Path(outdir) / f.relative_to(stage) for f in [*files, *p2p_files]]
    result.connected = len(connected)
    result.with_length = sum(1 for c in design.cables if ordered.get(ids[c.key]))
    return result


def read_token(path: Path) -> str:
    """The API token from a file (never the command line); DesignError when unusable."""
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise DesignError(
            [Problem(str(path), 0, "", f"cannot read the token file: {exc.strerror or exc}")]
        ) from None
    if not token or len(token) > 400 or any(c.isspace() for c in token):
        raise DesignError([Problem(str(path), 0, "", "expected one API token on one line")])
    return token


def import_netbox(
    outdir: Path,
    *,
    floorplan: Path,
    url: str | None = None,
    token_file: Path | None = None,
    site: str = "",
    devices_csv: Path | None = None,
    cables_csv: Path | None = None,
    device_types: list[Path] = (),
    name: str | None = None,
    force: bool = False,
):
    """Read a NetBox site (REST API or CSV files) into a design directory; the NetBoxData read."""
    from fieldops.adapters.netbox_api import fetch_api, read_csv_exports, write_design_dir
    from fieldops.outdir import check_outdir, staged_outdir

    check_outdir(outdir, force=force)  # before any work
    if devices_csv or cables_csv:
        if not (devices_csv and cables_csv):
            raise DesignError(
                [Problem("--devices-csv", 0, "", "give both --devices-csv and --cables-csv")]
            )
        data = read_csv_exports(devices_csv, cables_csv, site=site)
    else:
        if not (url and token_file and site):
            raise DesignError(
                [
                    Problem(
                        "--url",
                        0,
                        "",
                        "give --url, --token-file and --site (or --devices-csv and --cables-csv)",
                    )
                ]
            )
        data = fetch_api(url, read_token(token_file), site)
    if not Path(floorplan).is_file():
        raise DesignError([Problem(str(floorplan), 0, "", "floor plan not found")])
    with staged_outdir(Path(outdir), force=force, command="netbox import") as stage:
        write_design_dir(
            data,
            stage,
            name=name or site or "netbox",
            floorplan=floorplan,
            device_type_dirs=list(device_types),
        )
    return data


@dataclass
class PushResult:
    design: object
    changes: list = field(default_factory=list)
    unchanged: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)  # applied: create/update/decommission/blocked
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False


def push_netbox(
    design_path: Path,
    *,
    url: str,
    token_file: Path,
    site: str | None = None,
    plan_dir: Path | None = None,
    asbuilt=None,
    dry_run: bool = False,
) -> PushResult:
    """Create and update a validated design's objects in NetBox through its REST API
    (idempotent: a second push of the same design changes nothing)."""
    from fieldops import services
    from fieldops.adapters.netbox_client import connect, netbox_errors
    from fieldops.adapters.netbox_export import device_type_docs
    from fieldops.adapters.netbox_push import apply_changes, read_state
    from fieldops.adapters.netbox_sync import desired_state, plan_changes
    from fieldops.core.labels import assign_cable_ids

    token = read_token(token_file)
    loaded = services.load_valid_design(design_path)
    design = loaded.design
    ids = assign_cable_ids(design.cables)[0]
    result = PushResult(design, dry_run=dry_run)
    ordered = _lengths(design, ids, plan_dir, result.notes)
    if plan_dir is None:
        result.notes[-1] = "no --plan given: cable lengths in NetBox are left as they are"
    connected = _connected(design, ids, asbuilt(design.floorplan.name) if asbuilt else None)
    want = desired_state(
        design,
        ids,
        site=site or design.floorplan.name,
        ordered_mm=ordered,
        connected=connected,
        type_docs=device_type_docs(design, loaded.base),
    )
    api = connect(url, token)
    with netbox_errors(url, f"reading site '{want.site_slug}'"):
        state = read_state(api, want)
    result.changes, result.unchanged = plan_changes(want, state)
    if dry_run:
        return result
    with netbox_errors(url, "writing (what was written before stays; push again to carry on)"):
        result.counts = apply_changes(api, result.changes, want, state)
    return result
