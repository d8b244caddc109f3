"""Planning use cases: validate a design, plan it in memory (build_plan) or into files (plan_design)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from fieldops.adapters.designfile import Loaded, load_design
from fieldops.core.problems import DesignError, Problem, errors, sort_key
from fieldops.core.validate import Context, validate


@dataclass
class ValidationReport:
    name: str
    problems: list[Problem] = field(default_factory=list)
    summary: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not errors(self.problems)


def validate_design(
    path: str | Path,
    *,
    clearance_mm: int | None = None,
    crew=None,
    robots=None,
    profiles_dir=None,
    plan_checks: bool = True,
) -> ValidationReport:
    """Load and check a design, and (when it validates, unless not ``plan_checks``) what plan
    would refuse for the team; load failures come back as problems, not exceptions."""
    try:
        loaded = load_design(path)
    except DesignError as exc:
        return ValidationReport(
            Path(path).name, exc.problems, {"racks": 0, "devices": 0, "cables": 0}
        )
    report = check_loaded(loaded, clearance_mm=clearance_mm)
    # then the plan's own checks, as plan runs them (fieldops.core.feasibility)
    if report.ok and plan_checks:
        from fieldops.core.feasibility import check_plan

        try:
            more = check_plan(loaded.design, load_team(profiles_dir, crew=crew, robots=robots))
        except DesignError as exc:
            more = exc.problems
        report.problems = sorted(set(report.problems) | set(more), key=sort_key)
    return report


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
class Plan:
    """A design's plan in memory: cables routed and sized, work orders (None: cables only)
    and the walking graph the work orders were ordered on."""

    loaded: Loaded
    cable_plan: object
    work: object | None
    walk: object | None


@dataclass
class PlanResult(Plan):
    files: list[Path] = field(default_factory=list)


def robot_profiles(folder: Path | None = None) -> dict:
    """Robot and crew profiles by name from a folder (default: the bundled robot_profiles/);
    DesignError when the folder is missing, holds no profile, or a profile has errors."""
    from fieldops.adapters.designfile import load_robot_profile
    from fieldops.bootstrap import robot_profiles_dir

    folder = Path(folder) if folder else robot_profiles_dir()
    if not folder.is_dir():
        raise DesignError([Problem(str(folder), 0, "", "robot profile folder not found")])
    paths = sorted(folder.glob("*.y*ml"))
    if not paths:
        raise DesignError(
            [Problem(str(folder), 0, "", "no robot or crew profiles (*.yaml) in this folder")]
        )
    profiles = {}
    for path in paths:
        p = load_robot_profile(path)
        profiles[p.name] = p
    return profiles


def fleet_counts(profiles: dict, robots: list[str] | None, where: str = "") -> dict[str, int]:
    """How many of each robot profile: ``robots`` items are ``name`` or ``name=count``
    (None: each robot profile's own count). DesignError names an unknown profile."""
    robot_names = sorted(n for n, p in profiles.items() if p.kind == "robot")
    if robots is None:
        return {n: profiles[n].count for n in robot_names}
    counts: dict[str, int] = {}
    for item in robots:
        name, _, count = item.partition("=")
        if name not in robot_names:
            known = ", ".join(robot_names) or "none"
            raise DesignError(
                [
                    Problem(
                        "--robots",
                        0,
                        name,
                        f"no robot profile '{name}'{where} (known: {known})",
                    )
                ]
            )
        if count and not (count.isdigit() and int(count) <= 1000):
            raise DesignError(
                [Problem("--robots", 0, name, f"count '{count}' is not a whole number 0..1000")]
            )
        counts[name] = int(count) if count else 1
    return counts


def load_team(profiles_dir: Path | None, *, crew: int | None, robots: list[str] | None) -> list:
    """Robot and crew profiles from a folder; ``crew`` overrides the technician count (crews
    such as the rigging crew come at their profile's count; ``crew=0``: no people at all) and
    ``robots`` (``name`` or ``name=count``) picks the fleet (default: every robot profile)."""
    profiles = robot_profiles(profiles_dir)
    counts = fleet_counts(profiles, robots, f" in {profiles_dir or 'robot_profiles/'}")
    team = []
    for name, p in sorted(profiles.items()):
        if p.kind == "technician":
            n = p.count if crew is None else crew
        elif p.kind == "robot":
            n = counts.get(name, 0)
        else:  # a crew (rigging) comes at its profile's count; a crew of 0 means no people
            n = 0 if crew == 0 else p.count
        if n > 0:
            team.append(replace(p, count=n))
    return team


def build_plan(
    loaded: Loaded,
    *,
    crew: int | None = None,
    robots: list[str] | None = None,
    profiles_dir: Path | None = None,
    cables_only: bool = False,
    progress=lambda msg: None,
) -> Plan:
    """Route and size a validated design's cables and (unless ``cables_only``) build its work
    orders for the team; nothing is written."""
    from fieldops.core.model import canonical
    from fieldops.core.routing import build_cable_plan

    loaded = replace(loaded, design=canonical(loaded.design))  # plans never depend on file order
    design = loaded.design
    team = None if cables_only else load_team(profiles_dir, crew=crew, robots=robots)
    progress(f"routing {len(design.cables):,} cables over {len(design.floorplan.trays)} trays")
    cable_plan = build_cable_plan(design, progress=progress)
    from fieldops.core.feasibility import check_plan
    from fieldops.core.trays import tray_problems

    if errors(tray_problems(design, cable_plan)):  # refused as validate refuses it
        raise DesignError(errors(check_plan(design, team, cable_plan)))
    if team is None:
        return Plan(loaded, cable_plan, None, None)
    from fieldops.core.walking import WalkGraph
    from fieldops.core.workplan import build_work_plan

    progress(f"building work orders for a team of {sum(p.count for p in team)}")
    walk = WalkGraph(design)
    work = build_work_plan(design, cable_plan, team, walk, progress=progress)
    return Plan(loaded, cable_plan, work, walk)


def plan_design(
    design_path: str | Path,
    outdir: str | Path,
    *,
    crew: int | None = None,
    robots: list[str] | None = None,
    profiles_dir: Path | None = None,
    cables_only: bool = False,
    pdf: bool = False,
    pagesize: str = "A4",
    force: bool = False,
    progress=lambda msg: None,
) -> PlanResult:
    """Validate, route and size cables, build work orders; write every output or none.
    OutdirError (before any work) when ``outdir`` holds files fieldops did not write, unless
    ``force``."""
    from fieldops.adapters.cablefiles import write_cable_files
    from fieldops.outdir import check_outdir, staged_outdir

    check_outdir(outdir, force=force)

    progress(f"loading {design_path}")
    loaded = load_valid_design(design_path)
    plan = build_plan(
        loaded,
        crew=crew,
        robots=robots,
        profiles_dir=profiles_dir,
        cables_only=cables_only,
        progress=progress,
    )
    design, cable_plan, work = plan.loaded.design, plan.cable_plan, plan.work
    files: list[Path] = []
    with staged_outdir(Path(outdir), force=force, command="plan") as stage:
        # written after the work plan, so the cut sheet names each cable's work order and step
        files += write_cable_files(design, cable_plan, stage, work=work)
        if work is not None:
            from fieldops.adapters.workfiles import write_work_files

            files += write_work_files(design, work, stage)
            if pdf:
                from fieldops.adapters.pdf import write_labels

                progress("printing cut sheets and labels")
                files.append(write_plan_cutsheets(stage, design, cable_plan, work, pagesize))
                files.append(
                    write_labels(
                        stage / "labels.pdf", design, cable_plan, pagesize=pagesize, warn=progress
                    )
                )
                from fieldops.adapters.pdf.looptests import write_loop_sheets

                loops = write_loop_sheets(  # liquid-cooled racks only
                    stage / "looptests.pdf", design.name, work, pagesize=pagesize
                )
                if loops is not None:
                    files.append(loops)
        files = [Path(outdir) / f.relative_to(stage) for f in files]
    return PlanResult(loaded, cable_plan, work, plan.walk, files)


def plan_summary(result: PlanResult) -> str:
    """The human summary printed after ``fieldops plan``."""
    cp = result.cable_plan
    lines = [
        f"{result.loaded.design.name}: {len(cp.runs):,} cables routed, {sum(r.ordered_mm for r in cp.runs) / 1000:,.1f} m ordered"
    ]
    for prob in cp.problems:
        lines.append(f"  reach: {prob.message}")
    from fieldops.core.trays import fill_summary

    lines.extend(fill_summary(cp))
    if result.work is not None and hasattr(result.work, "summary_lines"):
        lines.extend(result.work.summary_lines())
    lines.append("wrote " + ", ".join(str(f) for f in result.files))
    return "\n".join(lines)


def write_plan_cutsheets(stage: Path, design, cable_plan, work, pagesize: str) -> Path:
    """``cutsheets.pdf`` in ``stage``: the walks and tray fill the plan decided, as printed by
    ``plan --pdf`` and ``print`` alike."""
    from fieldops.adapters.pdf import write_cutsheets
    from fieldops.core.steppaths import carried_paths, tray_fill_of

    return write_cutsheets(
        stage / "cutsheets.pdf",
        design,
        cable_plan,
        work,
        pagesize=pagesize,
        paths=carried_paths(work),
        tray_fill=tray_fill_of(cable_plan),
    )
