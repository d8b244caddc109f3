"""Robots: on the active plan, dispatch each robot's steps over VDA 5050 and record what the
robots report in the store, as the one writer of robot orders; and the ``fieldops robots``
use cases: dispatch a plan folder or design without a store, simulate a robot, write the
fleet's broker ACL files."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from fieldops.core.problems import DesignError, Problem

log = logging.getLogger("fieldops.robots")


def start_robot_bridge(parts, *, client_id: str = "fieldops-bridge", profiles: dict | None = None):
    """Start dispatching the active plan's robot steps (None when no robot has a step).

    The bridge hears this process's events (the store's listeners) and other processes'
    (the hub, over MQTT): a technician's confirmation may release a waiting robot, a step the
    lead hands to someone else is withdrawn from the robot's orders at once, and a rejected
    order's steps are released when the lead resolves its problem. Its MQTT identity is the
    settings' ``robots_user`` (else the broker URL's user); its VDA 5050 version for robots
    whose profile and factsheet do not say is ``vda_version`` (default 2.1.0).
    """
    from fieldops.adapters.mqtt.fleet import start_robot_bridge as start
    from fieldops.services.planning import robot_profiles

    settings = parts.settings
    return start(
        parts.store,
        settings.broker_url,
        profiles=profiles or robot_profiles(),
        hub=parts.hub,
        vda_version=settings.vda_version,
        username=settings.robots_user,
        password=settings.robots_password or settings.mqtt_password,
        client_id=client_id,
        say=lambda msg: log.warning("%s", msg.strip()),
    )


# ---------------------------------------------------------------- fieldops robots


def check_broker_url(url: str) -> None:
    """DesignError (on ``--broker``) unless ``url`` is an MQTT broker URL."""
    from fieldops.adapters.mqtt import parse_broker_url

    try:
        parse_broker_url(url)
    except ValueError as exc:
        raise DesignError([Problem("--broker", 0, "", str(exc))]) from None


def load_robot_work(source: Path, *, crew=None, robots=None, profiles_dir=None):
    """(steps, team, map_id, walks, plan_dir) from a plan folder or a design. ``walks``:
    walking graphs per robot footprint (None for a plan folder: no floor geometry, the
    robots plan their own paths)."""
    from fieldops.services.planning import build_plan, load_valid_design

    work_file = (
        source
        if source.is_file() and source.name == "workorders.json"
        else source / "workorders.json"
    )
    if work_file.is_file():
        from fieldops.adapters.workfiles import read_work_file

        meta, plan = read_work_file(work_file)
        info = meta.get("design") if isinstance(meta, dict) else None
        hall = (info.get("hall") if isinstance(info, dict) else "") or "hall"
        return plan.steps, plan.team, hall, None, work_file.parent
    if not (source / "design.yaml").is_file() and not (
        source.is_file() and source.suffix in (".yaml", ".yml")
    ):
        raise DesignError(
            [
                Problem(
                    str(source),
                    0,
                    "",
                    "neither a plan folder with workorders.json nor a design directory with design.yaml",
                )
            ]
        )
    plan = build_plan(
        load_valid_design(source), crew=crew, robots=robots, profiles_dir=profiles_dir
    )
    from fieldops.core.walking import FootprintWalks

    design = plan.loaded.design
    return plan.work.steps, plan.work.team, design.floorplan.name, FootprintWalks(design), None


@dataclass
class RobotDispatch:
    """The robot work of one ``fieldops robots dispatch`` run, before anything is sent.

    ``never``: robot step id -> what it waits for, for the steps nobody completes in this run
    (they are not sent); ``assignments`` keep them until :meth:`open_status` drops them.
    """

    map_id: str
    walks: object
    assignments: list
    warnings: list[str]
    status_path: Path
    hold_for_technician: bool = False
    assume: object = None
    never: dict = field(default_factory=dict)
    sink: object = None

    @property
    def total(self) -> int:
        """The robot steps of the plan."""
        return sum(len(a.steps) for a in self.assignments)

    def first_never(self) -> str:
        """The first robot step that is never released (for the message)."""
        return next(s.id for a in self.assignments for s in a.steps if s.id in self.never)

    def open_status(self):
        """Open the step status file, record the never-released steps there as pending and
        keep only the robots with steps to send; returns the status sink."""
        from fieldops.adapters.mqtt.bridge import JsonFileStepSink
        from fieldops.core.robot_work import RobotAssignment

        self.sink = JsonFileStepSink(self.status_path)
        if self.never:
            for a in self.assignments:
                for s in a.steps:
                    if s.id in self.never:
                        self.sink.set_status(
                            s.id, "pending", {"robot": a.serial, "waitingFor": self.never[s.id]}
                        )
            kept = [
                RobotAssignment(
                    a.profile, tuple(s for s in a.steps if s.id not in self.never), a.serial, a.name
                )
                for a in self.assignments
            ]
            self.assignments = [a for a in kept if a.steps]
        return self.sink

    def bridge(self, broker_url: str, *, password=None, version="2.1.0", **order_limits):
        """The VDA 5050 bridge that sends the assignments over ``broker_url`` (not started);
        ``order_limits``: window, order_stops, order_bytes, order_actions, state_timeout_s."""
        from fieldops.adapters.mqtt.bridge import RobotBridge

        return RobotBridge(
            broker_url,
            self.assignments,
            self.sink,
            password=password,
            map_id=self.map_id,
            assume_done=self.assume,
            version=version,
            walks=self.walks,
            hold_for_technician=self.hold_for_technician,
            **order_limits,
        )


def plan_dispatch(
    source: Path,
    *,
    status: Path | None = None,
    crew=None,
    robots=None,
    profiles_dir=None,
    assume_done: str = "none",
    hold_for_technician: bool = False,
) -> RobotDispatch:
    """Each robot's steps from a plan folder or a design, and which of them wait for steps
    nobody completes in this run (``assume_done``: none, technicians or all)."""
    from fieldops.adapters.mqtt.fleet import assignments_from_plan
    from fieldops.core.robot_work import assumed_done, never_released
    from fieldops.services.planning import robot_profiles

    steps, team, map_id, walks, plan_dir = load_robot_work(
        source, crew=crew, robots=robots, profiles_dir=profiles_dir
    )
    assignments, warnings = assignments_from_plan(steps, team, robot_profiles(profiles_dir))
    work = RobotDispatch(
        map_id,
        walks,
        assignments,
        warnings,
        status or (plan_dir or Path.cwd()) / "step-status.json",
        hold_for_technician,
    )
    if work.total:
        # Precedence: nobody confirms steps in this run, so robot steps that (directly or
        # through other robot steps) wait for people can never be released: they are not sent.
        work.assume = assumed_done(steps, team, assignments, assume_done)
        work.never = never_released(
            assignments, work.assume, hold_for_technician=hold_for_technician
        )
    return work


def simulated_robot(profile_path: Path, broker_url: str, **options):
    """A simulated VDA 5050 robot (not started) from a robot profile file; DesignError when
    the file is missing or not a robot's. ``options`` go to the simulator (serial_number,
    password, time_scale, fail_rate, seed, version, state_interval_s)."""
    from fieldops.adapters.designfile import load_robot_profile
    from fieldops.adapters.mqtt.simulator import SimulatedRobot

    if not profile_path.is_file():
        raise DesignError([Problem(str(profile_path), 0, "", "robot profile not found")])
    profile = load_robot_profile(profile_path)
    if profile.kind != "robot":
        raise DesignError(
            [
                Problem(
                    str(profile_path),
                    0,
                    "kind",
                    f"'{profile.name}' is a {profile.kind}, not a robot",
                )
            ]
        )
    return SimulatedRobot(profile, broker_url, **options)


def write_fleet_acl(out: Path, *, profiles_dir=None, robots=None, web_workers: int = 4):
    """Write the broker's password, ACL, credentials and settings files for the robot fleet
    (each profile's count, or ``robots``) into ``out``; returns (fleet, files) where fleet
    is [(manufacturer, serial)] and files maps kind -> path."""
    from fieldops.adapters.mqtt.acl import fleet_serials, write_fleet_files
    from fieldops.services.planning import fleet_counts, robot_profiles

    profiles = {n: p for n, p in robot_profiles(profiles_dir).items() if p.kind == "robot"}
    counts = fleet_counts(profiles, robots)
    fleet = [
        (profiles[n].manufacturer, serial)
        for n in sorted(counts)
        for serial in fleet_serials(profiles[n].serial_number, counts[n])
        if counts[n] > 0
    ]
    return fleet, write_fleet_files(fleet, out, web_workers=web_workers)
