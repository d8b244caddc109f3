"""Robots on the active plan: dispatch each robot's steps over VDA 5050 and record what the
robots report in the store, as the one writer of robot orders."""

from __future__ import annotations

import logging
from types import SimpleNamespace

log = logging.getLogger("fieldops.robots")


def start_robot_bridge(parts, *, client_id: str = "fieldops-bridge", profiles: dict | None = None):
    """Start dispatching the active plan's robot steps (None when no robot has a step).

    The bridge hears this process's events (the store's listeners) and other processes'
    (the hub, over MQTT): a technician's confirmation may release a waiting robot, and a step
    the lead hands to someone else is withdrawn from the robot's orders at once.
    """
    from fieldops.adapters.mqtt.bridge import RobotBridge, assignments_from_plan
    from fieldops.services.planning import robot_profiles

    store, settings = parts.store, parts.settings
    team = [SimpleNamespace(**t) for t in store.team()]
    robots = [t.name for t in team if t.kind == "robot"]
    steps = store.plan_steps(robots)
    assignments, warnings = assignments_from_plan(steps, team, profiles or robot_profiles())
    for w in warnings:
        log.warning("robots: %s", w)
    if not any(a.steps for a in assignments):
        return None
    bridge = RobotBridge(
        settings.broker_url,
        assignments,
        store,
        map_id=store.hall() or "hall",
        client_id=client_id,
        password=settings.mqtt_password,
    ).start()

    def on_event(ev: dict) -> None:
        step_id = ev.get("step_id") or None
        data = ev.get("data")
        if ev.get("kind") == "step_reassigned" and step_id and isinstance(data, dict):
            bridge.reassigned(step_id, str(data.get("to", "")))
        # a technician's confirmation (or a resolved problem) may release a waiting robot
        bridge.notify_step_changed(step_id)

    store.listeners.append(on_event)
    if parts.hub is not None:
        parts.hub.remote_listeners.append(on_event)
    return bridge
