"""Print a design: validate the label stock, plan the design and write cutsheets.pdf,
racks.pdf and labels.pdf into an output folder, all three or none."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fieldops.adapters.pdf.labelstock import DEFAULT_STOCK, load_label_stocks

__all__ = ["DEFAULT_STOCK", "PrintError", "Printed", "describe_label_stocks", "print_design"]


class PrintError(ValueError):
    """A request the design cannot satisfy (e.g. a rack it does not have); nothing written."""


@dataclass(frozen=True)
class Printed:
    """What ``print_design`` wrote, for the summary line."""

    design: str
    workorders: int
    cables: int
    labels: int
    files: list[Path]


def describe_label_stocks() -> str:
    """The label stocks of the catalogue, ``name (description), ...``; the catalogue's
    problems are left for the command to report."""
    return ", ".join(f"{s.name} ({s.description})" for s in load_label_stocks().values())


def print_design(
    design_dir,
    out: Path,
    *,
    force: bool = False,
    pagesize: str = "A4",
    stock: str = DEFAULT_STOCK,
    racks: list[str] | None = None,
    crew: int | None = None,
    robots=None,
    profiles_dir: Path | None = None,
    say: Callable[[str], None] = lambda msg: None,
    warn: Callable[[str], None] = lambda msg: None,
) -> Printed:
    """Validate and plan ``design_dir`` (as ``fieldops plan`` does) and write the three PDFs
    into ``out``. An unknown stock fails before any work; an unknown rack in ``racks`` raises
    :class:`PrintError` before planning."""
    from fieldops.adapters.pdf import write_labels, write_rack_sheets
    from fieldops.adapters.pdf.labelstock import get_stock
    from fieldops.outdir import staged_outdir
    from fieldops.services.planning import build_plan, load_valid_design, write_plan_cutsheets

    get_stock(stock, pagesize=pagesize)  # an unknown stock fails before any work
    say(f"loading {design_dir}")
    loaded = load_valid_design(design_dir)
    design = loaded.design
    if racks:
        known = {r.name for r in design.floorplan.racks}
        missing = [r for r in racks if r not in known]
        if missing:
            raise PrintError(f"no rack {', '.join(repr(m) for m in missing)} in {design.name}")
    plan = build_plan(loaded, crew=crew, robots=robots, profiles_dir=profiles_dir, progress=say)
    cable_plan, work = plan.cable_plan, plan.work
    files = []
    with staged_outdir(Path(out), force=force, command="print") as stage:
        say("printing cutsheets.pdf")
        files.append(write_plan_cutsheets(stage, design, cable_plan, work, pagesize))
        say("printing racks.pdf")
        files.append(
            write_rack_sheets(
                stage / "racks.pdf", design, cable_plan, pagesize=pagesize, racks=racks
            )
        )
        say(f"printing labels.pdf on {stock} ({pagesize})")
        files.append(
            write_labels(
                stage / "labels.pdf", design, cable_plan, stock=stock, pagesize=pagesize, warn=warn
            )
        )
        files = [Path(out) / f.relative_to(stage) for f in files]
    return Printed(
        design=design.name,
        workorders=len(work.workorders),
        cables=len(cable_plan.runs),
        labels=2 * len(cable_plan.runs) + len(design.devices) + len(design.floorplan.racks),
        files=files,
    )
