"""Robots on the active plan: dispatch each robot's steps over VDA 5050 and record what the
robots report in the store, as the one writer of robot orders."""

from __future__ import annotations

import logging

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
