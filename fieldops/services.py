"""Use cases: validate, plan, publish, confirm, reconcile. Adapters in, core in the middle."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fieldops.adapters.designfile import Loaded, load_design
from fieldops.core.problems import DesignError, Problem, errors
from fieldops.core.validate import Context, validate


@dataclass
class ValidationReport:
    name: str
    problems: list[Problem] = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not errors(self.problems)


def validate_design(path: str | Path, *, clearance_mm: int | None = None) -> ValidationReport:
    """Load and check a design; load failures come back as problems, not exceptions."""
    try:
        loaded = load_design(path)
    except DesignError as exc:
        return ValidationReport(
            Path(path).name, exc.problems, {"racks": 0, "devices": 0, "cables": 0}
        )
    return check_loaded(loaded, clearance_mm=clearance_mm)


def check_loaded(loaded: Loaded, *, clearance_mm: int | None = None) -> ValidationReport:
    ctx = Context() if clearance_mm is None else Context(clearance_mm=clearance_mm)
    d = loaded.design
    problems = sorted(
        set(loaded.problems) | set(validate(d, ctx)),
        key=lambda p: (p.file, p.line, p.path, p.message),
    )
    summary = {"racks": len(d.floorplan.racks), "devices": len(d.devices), "cables": len(d.cables)}
    return ValidationReport(d.name, problems, summary)


def load_valid_design(path: str | Path, *, clearance_mm: int | None = None) -> Loaded:
    """Load a design and raise DesignError (errors only) unless it validates."""
    loaded = load_design(path)
    report = check_loaded(loaded, clearance_mm=clearance_mm)
    if not report.ok:
        raise DesignError(errors(report.problems))
    return loaded


# ---------------------------------------------------------------- plan


@dataclass
class PlanResult:
    loaded: Loaded
    cable_plan: object
    work: object | None
    files: list[Path]


def load_team(profiles_dir: Path | None, *, crew: int | None, robots: list[str] | None) -> list:
    """Robot and crew profiles from a folder; ``crew`` overrides the technician count and
    ``robots`` (``name`` or ``name=count``) picks the fleet (default: every robot profile)."""
    from fieldops.adapters.designfile import load_robot_profile
    from fieldops.bootstrap import robot_profiles_dir

    folder = Path(profiles_dir) if profiles_dir else robot_profiles_dir()
    profiles = {}
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.y*ml")):
        try:
            p = load_robot_profile(path, problems)
            profiles[p.name] = p
        except DesignError as exc:
            raise DesignError(exc.problems) from None
    team = []
    wanted: dict[str, int] | None = None
    if robots is not None:
        wanted = {}
        for item in robots:
            name, _, count = item.partition("=")
            if name not in profiles or profiles[name].kind != "robot":
                known = (
                    ", ".join(sorted(n for n, p in profiles.items() if p.kind == "robot")) or "none"
                )
                raise DesignError(
                    [
                        Problem(
                            "--robots",
                            0,
                            name,
                            f"no robot profile '{name}' in {folder} (known: {known})",
                        )
                    ]
                )
            if count and not (count.isdigit() and 0 <= int(count) <= 1000):
                raise DesignError(
                    [Problem("--robots", 0, name, f"count '{count}' is not a whole number 0..1000")]
                )
            wanted[name] = int(count) if count else 1
    from dataclasses import replace

    for name, p in sorted(profiles.items()):
        if p.kind == "technician":
            n = p.count if crew is None else crew
        else:
            n = p.count if wanted is None else wanted.get(name, 0)
        if n > 0:
            team.append(replace(p, count=n))
    return team


def plan_design(
    design_path: str | Path,
    outdir: str | Path,
    *,
    crew: int | None = None,
    robots: list[str] | None = None,
    profiles_dir: Path | None = None,
    cables_only: bool = False,
    pdf: bool = False,
    progress=lambda msg: None,
) -> PlanResult:
    """Validate, route and size cables, build work orders; write every output or none."""
    from fieldops.adapters.cablefiles import write_cable_files
    from fieldops.core.routing import build_cable_plan
    from fieldops.outdir import staged_outdir

    progress(f"loading {design_path}")
    loaded = load_valid_design(design_path)
    design = loaded.design
    progress(f"routing {len(design.cables):,} cables over {len(design.floorplan.trays)} trays")
    cable_plan = build_cable_plan(design, progress=progress)
    work = None
    files: list[Path] = []
    with staged_outdir(Path(outdir)) as stage:
        if not cables_only:
            from fieldops.core.walking import WalkGraph
            from fieldops.core.workplan import build_work_plan

            team = load_team(profiles_dir, crew=crew, robots=robots)
            progress(f"building work orders for a team of {sum(p.count for p in team)}")
            walk = WalkGraph(design)
            work = build_work_plan(design, cable_plan, team, walk, progress=progress)
        # written after the work plan, so the cut sheet names each cable's work order and step
        files += write_cable_files(design, cable_plan, stage, work=work)
        if work is not None:
            from fieldops.adapters.workfiles import write_work_files

            files += write_work_files(design, work, stage)
            if pdf:
                from fieldops.adapters.pdf import write_cutsheets, write_labels

                progress("printing cut sheets and labels")
                files.append(
                    write_cutsheets(stage / "cutsheets.pdf", design, cable_plan, work, walk=walk)
                )
                files.append(write_labels(stage / "labels.pdf", design, cable_plan))
        files = [Path(outdir) / f.relative_to(stage) for f in files]
    return PlanResult(loaded, cable_plan, work, files)


def plan_summary(result: PlanResult) -> str:
    """The human summary printed after ``fieldops plan``."""
    cp = result.cable_plan
    lines = [
        f"{result.loaded.design.name}: {len(cp.runs):,} cables routed, {sum(r.ordered_mm for r in cp.runs) / 1000:,.1f} m ordered"
    ]
    for prob in cp.problems:
        lines.append(f"  reach: {prob.message}")
    if result.work is not None and hasattr(result.work, "summary_lines"):
        lines.extend(result.work.summary_lines())
    lines.append("wrote " + ", ".join(str(f) for f in result.files))
    return "\n".join(lines)
