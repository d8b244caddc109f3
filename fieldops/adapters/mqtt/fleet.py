"""A plan's robots as bridge assignments, and the robot bridge of ``fieldops serve --robots``
built from the store (one function, so a composition root can call it)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import SimpleNamespace

from fieldops.adapters.mqtt.acl import fleet_serials
from fieldops.core.model import RobotProfile
from fieldops.core.robot_work import RobotAssignment
from fieldops.core.workorder import Step, natural_key

log = logging.getLogger(__name__)


def assignments_from_plan(
    steps: Sequence[Step], team: Sequence, profiles: dict[str, RobotProfile]
) -> tuple[list[RobotAssignment], list[str]]:
    """Each robot of the team with its steps in plan order (by ``start_s`` when scheduled).

    ``team`` holds ``Assignee``-like values (``name``, ``profile``, ``kind``). Robots of one
    profile get serials from :func:`fieldops.adapters.mqtt.acl.fleet_serials` in name order.
    Returns the assignments and warnings (robots whose profile is unknown, robots without steps).
    """
    warnings: list[str] = []
    robots = [a for a in team if a.kind == "robot"]
    by_profile: dict[str, list] = {}
    for a in sorted(robots, key=lambda a: natural_key(a.name)):
        by_profile.setdefault(a.profile, []).append(a)
    order = {s.id: i for i, s in enumerate(steps)}
    steps_of: dict[str, list[Step]] = {}  # one pass: a fleet of R robots was R passes
    for s in steps:
        steps_of.setdefault(s.assignee, []).append(s)
    out: list[RobotAssignment] = []
    for pname in sorted(by_profile):
        profile = profiles.get(pname)
        if profile is None:
            warnings.append(
                f"no robot profile '{pname}' for {', '.join(a.name for a in by_profile[pname])}: not dispatched"
            )
            continue
        members = by_profile[pname]
        for member, serial in zip(
            members, fleet_serials(profile.serial_number, len(members)), strict=True
        ):
            mine = sorted(
                steps_of.get(member.name, ()),
                key=lambda s: (s.start_s if s.start_s is not None else float("inf"), order[s.id]),
            )
            if not mine:
                warnings.append(f"{member.name} ({serial}) has no steps")
            out.append(RobotAssignment(profile, tuple(mine), serial, member.name))
    return out, warnings


def floor_walks(floor: dict):
    """Footprint walking graphs on the floor the plan carried, or None when it carries no
    hall outline (edges then go without trajectories and the robots plan their own paths)."""
    from fieldops.core.floor import design_of_floor
    from fieldops.core.walking import FootprintWalks

    try:
        return FootprintWalks(design_of_floor(floor))
    except (KeyError, TypeError, ValueError, IndexError):
        log.warning("robots: the plan's floor cannot be walked; edges go without trajectories")
        return None


def start_robot_bridge(
    store,
    broker_url: str,
    *,
    profiles: dict[str, RobotProfile],
    hub=None,
    vda_version: str | None = None,
    username: str | None = None,
    password: str | None = None,
    client_id: str = "fieldops-web-bridge",
    say=print,
):
    """Dispatch the store's active plan's robot steps; their results land in the store
    (its ``StepSink`` methods). Returns the started bridge, or None without robot steps.

    Events of this worker (the store's listeners) and of the others (``hub``, over MQTT) wake
    robots waiting for a step, withdraw robot steps the lead hands to someone else, and
    release the steps of a robot's rejected order once the lead resolves its problem.
    ``profiles``: robot profiles by name. ``vda_version``: for robots whose profile and
    factsheet do not say (default 2.1.0). ``username``: the bridge's own MQTT user (instead of
    the URL's), with ``password``.
    """
    from fieldops.adapters.mqtt import without_user
    from fieldops.adapters.mqtt.bridge import RobotBridge
    from fieldops.core.vda5050 import DEFAULT_VERSION

    team = [SimpleNamespace(**t) for t in store.team()]
    robots = [t.name for t in team if t.kind == "robot"]
    steps = store.plan_steps(robots)
    assignments, warnings = assignments_from_plan(steps, team, profiles)
    for w in warnings:
        say(f"  robots: {w}")
    if not any(a.steps for a in assignments):
        return None
    bridge = RobotBridge(
        without_user(broker_url) if username else broker_url,
        assignments,
        store,
        map_id=store.hall() or "hall",
        version=vda_version or DEFAULT_VERSION,
        walks=floor_walks(store.floor()),
        client_id=client_id,
        username=username,
        password=password,
    ).start()

    def on_event(ev: dict) -> None:
        step_id = ev.get("step_id") or None
        data = ev.get("data")
        kind = ev.get("kind")
        if kind == "step_reassigned" and step_id and isinstance(data, dict):
            bridge.reassigned(step_id, str(data.get("to", "")))
        elif kind == "problem_resolved" and step_id:
            bridge.problem_resolved(step_id)
        # a technician's confirmation (or a resolved problem) may release a waiting robot
        bridge.notify_step_changed(step_id)

    store.listeners.append(on_event)
    if hub is not None:
        hub.remote_listeners.append(on_event)
    return bridge
