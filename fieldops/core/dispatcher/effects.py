"""What the dispatcher asks its shell to do (it does nothing itself)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Publish:
    """Send ``payload`` on ``topic`` (QoS and retain flag as VDA 5050 prescribes)."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    serial: str
    name: str  # the VDA 5050 topic name: order, instantActions


@dataclass(frozen=True, slots=True)
class StepStatus:
    step_id: str
    status: str
    detail: dict


@dataclass(frozen=True, slots=True)
class RobotProblem:
    """One problem for the lead about a robot; with ``block`` its ``step_ids`` go to blocked
    with ``reason`` (one problem for them all, not one each)."""

    serial: str
    robot: str  # the team member's name
    step_ids: tuple[str, ...]
    reason: str
    block: bool


@dataclass(frozen=True, slots=True)
class Unblock:
    """Steps blocked by a robot problem the lead resolved: back to pending."""

    step_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RobotConnection:
    """A robot came online or was lost (``state``: online | offline), with the reason."""

    serial: str
    robot: str
    state: str
    reason: str


@dataclass(frozen=True, slots=True)
class Log:
    level: str  # info | warning | error
    message: str


Effect = Publish | StepStatus | RobotProblem | Unblock | RobotConnection | Log
