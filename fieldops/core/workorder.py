"""Work orders and their steps: the shared vocabulary of planning, printing, robots and the web app.

A :class:`Step` is one located piece of work with a stable ID. Phases run in ``PHASES`` order.
Serialised as JSON by :func:`fieldops.core.workorder.step_to_dict` under the versioned schema
documented in ``docs/workorders.schema.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SCHEMA_VERSION = "1.0"

PHASES = ("rack", "stack", "power", "cable", "burnin", "verify", "fixup")

# Step kinds (what is done); a phase holds several kinds.
KINDS = (
    "place_rack",  # rack: place, level, bond
    "install_rails",  # stack
    "mount_device",  # stack
    "connect_power",  # power: one PDU cord
    "run_cable",  # cable: run along a tray path, plug both ends, verify labels
    "burnin_check",  # burn-in: power on, BMC, firmware, link-up, diagnostics
    "remediate",  # burn-in: spawned by a failed check
    "verify_rack",  # verify
    "fixup",  # as-built drift or design revision
)

# How a step is confirmed.
CONFIRM_SCAN_LABEL = "scan_label"  # scan the cable's QR label (both ends)
CONFIRM_SCAN_ASSET = "scan_asset"  # scan the device's asset tag
CONFIRM_MANUAL = "manual"  # tick the box
CONFIRM_ROBOT = "robot"  # the robot's action FINISHED
CONFIRM_ROBOT_AND_TECH = "robot+technician"  # robot FINISHED, then a technician confirms
CONFIRM_RULES = (
    CONFIRM_SCAN_LABEL,
    CONFIRM_SCAN_ASSET,
    CONFIRM_MANUAL,
    CONFIRM_ROBOT,
    CONFIRM_ROBOT_AND_TECH,
)

STATUSES = ("pending", "ready", "in_progress", "awaiting_confirmation", "done", "blocked", "failed")


@dataclass(frozen=True, slots=True)
class Location:
    """Where a step happens: a rack face and U, plus the floor stand-off pose (mm, degrees)."""

    rack: str = ""
    location_id: str = ""
    face: str = ""
    u: int | None = None
    x_mm: int = 0
    y_mm: int = 0
    theta_deg: float = 0.0


@dataclass(frozen=True, slots=True)
class Part:
    kind: str  # device | cable | rails | cord
    ref: str  # asset tag / device name / cable ID
    sku: str = ""
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class Step:
    id: str  # stable: derived from the design object, never from list positions
    phase: str
    kind: str
    title: str
    instruction: str
    location: Location
    confirm: str = CONFIRM_MANUAL
    expect_codes: tuple[str, ...] = ()  # codes a scan must match (cable ID, asset tag)
    parts: tuple[Part, ...] = ()
    depends_on: tuple[str, ...] = ()
    duration_s: float = 60.0
    action: dict = field(default_factory=dict, hash=False, compare=False)  # machine action
    required_actions: tuple[str, ...] = ()  # capabilities an assignee must declare
    weight_kg: float = 0.0
    crew_size: int = 1
    group: str = ""  # bundle / batch key
    assignee: str = ""
    start_s: float | None = None
    end_s: float | None = None
    status: str = "pending"


@dataclass(frozen=True, slots=True)
class WorkOrder:
    id: str
    title: str
    assignee: str
    shift: int
    area: str
    steps: tuple[str, ...]  # step IDs in execution order
    walking_m: float = 0.0


def step_to_dict(step: Step) -> dict:
    """A JSON-ready dict with deterministic content."""
    d = asdict(step)
    d["depends_on"] = list(step.depends_on)
    return d


@dataclass(frozen=True, slots=True)
class Assignee:
    """One member of the team: a technician or a robot (``profile`` names its RobotProfile)."""

    name: str  # e.g. technician-1, lift-robot-1
    profile: str
    kind: str  # technician | robot


@dataclass(frozen=True)
class WorkPlan:
    """Everything ``build_work_plan`` decides: steps in a valid global order, their work
    orders, the team, and the schedule figures."""

    steps: tuple[Step, ...]
    workorders: tuple[WorkOrder, ...]
    team: tuple[Assignee, ...]
    makespan_s: float = 0.0
    critical_path: tuple[str, ...] = ()
    walking_m: dict = field(default_factory=dict, hash=False, compare=False)  # assignee -> metres

    def step_index(self) -> dict[str, Step]:
        return {s.id: s for s in self.steps}

    def summary_lines(self) -> list[str]:
        from collections import Counter

        per_phase = Counter(s.phase for s in self.steps)
        lines = ["steps: " + ", ".join(f"{p} {per_phase[p]}" for p in PHASES if per_phase[p])]
        for who in sorted(self.walking_m):
            lines.append(f"  {who}: {self.walking_m[who]:,.0f} m walking")
        lines.append(f"makespan: {self.makespan_s / 3600:.1f} h ({len(self.workorders)} work orders)")
        return lines
