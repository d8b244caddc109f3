"""Work orders and their steps: the shared vocabulary of planning, printing, robots and the web app.

A :class:`Step` is one located piece of work with a stable ID. Phases run in ``PHASES`` order.
Serialised as JSON by :func:`fieldops.core.workorder.step_to_dict` under the versioned schema
documented in ``docs/workorders.schema.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

SCHEMA_VERSION = "2.0"  # 2.0: steps carry their order, work order and walking path


class Phase(StrEnum):
    """The phases of a build-out, in order."""

    RACK = "rack"
    STACK = "stack"
    POWER = "power"
    CABLE = "cable"
    COOLING = "cooling"  # liquid cooling: hoses, fill and bleed, pressure test, leak check
    BURNIN = "burnin"
    VERIFY = "verify"
    FIXUP = "fixup"


class StepKind(StrEnum):
    """What a step does; a phase holds several kinds."""

    PLACE_RACK = "place_rack"  # rack: place, level, bond
    INSTALL_RAILS = "install_rails"  # stack
    MOUNT_DEVICE = "mount_device"  # stack
    CONNECT_POWER = "connect_power"  # power: one PDU cord
    RUN_CABLE = "run_cable"  # cable: run along a tray path, plug both ends, verify labels
    CONNECT_HOSE = "connect_hose"  # cooling: one coolant hose, both quick disconnects, labels
    FILL_BLEED = "fill_bleed"  # cooling: fill a rack's loop and bleed the air
    PRESSURE_TEST = "pressure_test"  # cooling: hold a test pressure, record start/end readings
    LEAK_CHECK = "leak_check"  # cooling: every joint checked, wet joints recorded
    BURNIN_CHECK = "burnin_check"  # burn-in: power on, BMC, firmware, link-up, diagnostics
    REMEDIATE = "remediate"  # burn-in: spawned by a failed check
    VERIFY_RACK = "verify_rack"  # verify
    FIXUP = "fixup"  # as-built drift or design revision


class ConfirmRule(StrEnum):
    """How a step is confirmed."""

    SCAN_LABEL = "scan_label"  # scan the cable's QR label, at both ends
    SCAN_ASSET = "scan_asset"  # scan the device's asset tag
    MANUAL = "manual"  # tick the box
    ROBOT = "robot"  # the robot's action FINISHED
    ROBOT_AND_TECH = "robot+technician"  # robot FINISHED, then a technician confirms


class StepStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    IN_PROGRESS = "in_progress"
    AWAITING_CONFIRMATION = "awaiting_confirmation"  # a robot finished a robot+technician step
    DONE = "done"
    BLOCKED = "blocked"
    FAILED = "failed"


# The names the rest of fieldops (and its files) use; StrEnum members are their strings.
PHASES = tuple(Phase)
KINDS = tuple(StepKind)
# lays a cable, plugs a cord or connects a hose: a labelled thing with two ends to scan
CABLE_STEP_KINDS = (StepKind.RUN_CABLE, StepKind.CONNECT_POWER, StepKind.CONNECT_HOSE)
CONFIRM_SCAN_LABEL = ConfirmRule.SCAN_LABEL
CONFIRM_SCAN_ASSET = ConfirmRule.SCAN_ASSET
CONFIRM_MANUAL = ConfirmRule.MANUAL
CONFIRM_ROBOT = ConfirmRule.ROBOT
CONFIRM_ROBOT_AND_TECH = ConfirmRule.ROBOT_AND_TECH
CONFIRM_RULES = tuple(ConfirmRule)
STATUSES = tuple(StepStatus)


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
class Walk:
    """The walk to a step from where its assignee was before it, as the plan decided it:
    the polyline in floor millimetres (first point: where the walker came from) and its
    length. Carried in workorders.json; the tablet, the PDFs and the robots draw this path
    and never walk the floor again."""

    path_mm: tuple[tuple[int, int], ...]
    length_mm: int

    def to_dict(self) -> dict:
        return {"path_mm": [list(p) for p in self.path_mm], "length_mm": self.length_mm}

    @classmethod
    def from_dict(cls, d: dict) -> Walk:
        return cls(tuple((int(p[0]), int(p[1])) for p in d["path_mm"]), int(d["length_mm"]))


@dataclass(frozen=True, slots=True)
class Part:
    kind: str  # device | cable | rails | cord | hose | label (a reprinted cable label)
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
    helpers: tuple[str, ...] = ()  # further team members booked for the step (two-person lifts)
    # decided by the plan and carried to every consumer (tablet, PDFs, robots):
    order: int = -1  # position in the assignee's sequence (work orders in order, -1: none)
    workorder: str = ""  # the work order holding the step
    walk: Walk | None = None  # the assignee's walk to the step (None: no move)
    walk_on: Walk | None = None  # the walk on from the step's place, e.g. to a cable's far end


@dataclass(frozen=True, slots=True)
class WorkOrder:
    id: str
    title: str
    assignee: str
    shift: int
    area: str
    steps: tuple[str, ...]  # step IDs in execution order
    walking_m: float = 0.0


def step_to_dict(step: Step, *, copy_action: bool = True) -> dict:
    """A JSON-ready dict with deterministic content.

    Same content as ``dataclasses.asdict`` (with ``depends_on`` as a list), built by hand
    because ``asdict`` is ~10x slower and plans hold hundreds of thousands of steps.
    ``copy_action=False`` shares the step's action dict (for serialising straight away).
    """
    loc = step.location
    return {
        "id": step.id,
        "phase": step.phase,
        "kind": step.kind,
        "title": step.title,
        "instruction": step.instruction,
        "location": {
            "rack": loc.rack,
            "location_id": loc.location_id,
            "face": loc.face,
            "u": loc.u,
            "x_mm": loc.x_mm,
            "y_mm": loc.y_mm,
            "theta_deg": loc.theta_deg,
        },
        "confirm": step.confirm,
        "expect_codes": tuple(step.expect_codes),
        "parts": tuple(
            {"kind": p.kind, "ref": p.ref, "sku": p.sku, "quantity": p.quantity} for p in step.parts
        ),
        "depends_on": list(step.depends_on),
        "duration_s": step.duration_s,
        "action": _json_copy(step.action) if copy_action else step.action,
        "required_actions": tuple(step.required_actions),
        "weight_kg": step.weight_kg,
        "crew_size": step.crew_size,
        "group": step.group,
        "assignee": step.assignee,
        "start_s": step.start_s,
        "end_s": step.end_s,
        "status": step.status,
        "helpers": tuple(step.helpers),
        "order": step.order,
        "workorder": step.workorder,
        "walk": None if step.walk is None else step.walk.to_dict(),
        "walk_on": None if step.walk_on is None else step.walk_on.to_dict(),
    }


def _json_copy(value):
    """A deep copy of JSON-like data (dicts, lists, tuples, scalars); what ``asdict`` does."""
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_json_copy(v) for v in value)
    return value


def step_from_dict(d: dict) -> Step:
    """The inverse of :func:`step_to_dict` (JSON lists become tuples again).

    Raises KeyError/TypeError/ValueError on malformed input; adapters turn those into
    problems naming the step.
    """
    loc = d["location"]
    return Step(
        id=str(d["id"]),
        phase=str(d["phase"]),
        kind=str(d["kind"]),
        title=str(d["title"]),
        instruction=str(d["instruction"]),
        location=Location(
            rack=str(loc["rack"]),
            location_id=str(loc["location_id"]),
            face=str(loc["face"]),
            u=None if loc["u"] is None else int(loc["u"]),
            x_mm=int(loc["x_mm"]),
            y_mm=int(loc["y_mm"]),
            theta_deg=float(loc["theta_deg"]),
        ),
        confirm=str(d["confirm"]),
        expect_codes=tuple(str(c) for c in d["expect_codes"]),
        parts=tuple(
            Part(str(p["kind"]), str(p["ref"]), str(p["sku"]), int(p["quantity"]))
            for p in d["parts"]
        ),
        depends_on=tuple(str(x) for x in d["depends_on"]),
        duration_s=float(d["duration_s"]),
        action=dict(d["action"]),
        required_actions=tuple(str(a) for a in d["required_actions"]),
        weight_kg=float(d["weight_kg"]),
        crew_size=int(d["crew_size"]),
        group=str(d["group"]),
        assignee=str(d["assignee"]),
        start_s=None if d["start_s"] is None else float(d["start_s"]),
        end_s=None if d["end_s"] is None else float(d["end_s"]),
        status=str(d["status"]),
        helpers=tuple(str(h) for h in d.get("helpers", ())),
        order=int(d.get("order", -1)),
        workorder=str(d.get("workorder", "")),
        walk=None if d.get("walk") is None else Walk.from_dict(d["walk"]),
        walk_on=None if d.get("walk_on") is None else Walk.from_dict(d["walk_on"]),
    )


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
    # planner figures: critical_path_s, shift_s, order_walking_m, design_order_walking_m, ...
    stats: dict = field(default_factory=dict, hash=False, compare=False)

    def step_index(self) -> dict[str, Step]:
        return {s.id: s for s in self.steps}

    def summary_lines(self) -> list[str]:
        """Steps per phase, walking per team member, makespan and critical path."""
        from collections import Counter

        per_phase = Counter(s.phase for s in self.steps)
        lines = ["steps: " + ", ".join(f"{p} {per_phase[p]:,}" for p in PHASES if per_phase[p])]
        busy: Counter = Counter()
        for s in self.steps:
            if s.assignee and s.start_s is not None and s.end_s is not None:
                for who in (s.assignee, *s.helpers):
                    busy[who] += s.end_s - s.start_s
        for who in sorted(self.walking_m, key=natural_key):
            lines.append(
                f"  {who}: {self.walking_m[who]:,.0f} m walking, {busy[who] / 3600:,.1f} h of work"
            )
        st = self.stats or {}
        if "order_walking_m" in st and "design_order_walking_m" in st:
            lines.append(
                f"walking in plan order: {st['order_walking_m']:,.0f} m (design order: {st['design_order_walking_m']:,.0f} m)"
            )
        lines.append(
            f"makespan: {self.makespan_s / 3600:.1f} h ({len(self.workorders):,} work orders)"
        )
        if self.critical_path:
            cp_s = st.get("critical_path_s")
            length = f"{cp_s / 3600:.1f} h, " if cp_s is not None else ""
            lines.append(
                f"critical path: {length}{len(self.critical_path)} steps ({self.critical_path[0]} .. {self.critical_path[-1]})"
            )
        return lines


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key that puts technician-2 before technician-10."""
    return tuple(int(t) if t.isdigit() else t for t in _DIGITS.split(name))
