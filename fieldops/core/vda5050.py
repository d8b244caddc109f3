"""VDA 5050 2.x payloads, pure: orders, instant actions, factsheets, state; and parsing of what
robots send back. No clock, no network: timestamps and header IDs are passed in.

Units follow the standard: metres and radians in messages (our steps carry millimetres and
degrees). Topics are ``{interface}/v2/{manufacturer}/{serialNumber}/{topic}``.

How a step becomes robot work (documented for fleet integrators in ``docs/robots.md``):

- the robot's steps, in execution order, are grouped into **stops**: consecutive steps at the
  same stand-off pose share one order node (``nodeId`` = ``{rack}.{face}``);
- each step maps to a short list of **action types** (``KIND_ACTIONS``): standard ones where
  they fit (``drop`` for a rack delivery, ``finePositioning`` on arrival at a rack face,
  ``waitForTrigger`` when a technician must confirm before the robot moves on) and documented
  custom ones (``installRails``, ``installDevice``, ``connectCableEnd``, ``verifyLabel``);
- every action of a step carries ``stepId`` and ``stepKind`` plus the step's location and data
  in ``actionParameters``; its ``actionId`` is ``{stepId}:{n}``;
- a robot is only sent action types it declares (its profile, narrowed by its factsheet);
  :func:`build_route` raises :class:`VdaError` otherwise, as a robot would reject the order.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH, Step

VERSIONS = ("2.0.0", "2.1.0")
DEFAULT_VERSION = "2.1.0"
INTERFACE = "uagv"
MAJOR = "v2"

TOPICS = ("order", "instantActions", "state", "visualization", "connection", "factsheet")
# QoS and retain flag per topic, as VDA 5050 2.x section 6 prescribes: connection is QoS 1 and
# retained (with a last will); the factsheet is retained; orders and instant actions never are.
TOPIC_QOS = {
    "order": 0,
    "instantActions": 0,
    "state": 0,
    "visualization": 0,
    "connection": 1,
    "factsheet": 0,
}
TOPIC_RETAIN = {
    "order": False,
    "instantActions": False,
    "state": False,
    "visualization": False,
    "connection": True,
    "factsheet": True,
}

ACTION_STATUSES = ("WAITING", "INITIALIZING", "RUNNING", "PAUSED", "FINISHED", "FAILED")
CONNECTION_STATES = ("ONLINE", "OFFLINE", "CONNECTIONBROKEN")
BLOCKING_TYPES = ("NONE", "SOFT", "HARD")
ERROR_LEVELS = ("WARNING", "FATAL")

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
MAX_ARRAY = 100_000
MAX_STRING = 4_096

# What one order (or order update) may carry: at most ORDER_MAX_STOPS nodes (base + horizon,
# the first node included) and ORDER_MAX_BYTES of canonical JSON, a quarter of the message
# limit. A robot with thousands of steps gets a bounded order that order updates extend.
ORDER_MAX_STOPS = 16
ORDER_MAX_BYTES = 1024 * 1024
# Actions one orderId may hold before the next stops go out as a new order: a robot reports
# every action of its current order in each ``state`` until a new order arrives, so this
# bounds the state messages too (about 120 bytes per action state).
ORDER_MAX_ACTIONS = 1000

# Standard VDA 5050 2.x action types fieldops uses (and the instant ones it sends).
STANDARD_ACTIONS = {
    "pick": "pick up a load (standard)",
    "drop": "drop a load (standard); fieldops: deliver a rack to its position",
    "finePositioning": "fine-position at a station (standard); fieldops: at a rack face",
    "waitForTrigger": "wait for a trigger (standard); fieldops: a technician's confirmation",
    "cancelOrder": "instant: cancel the current order (standard)",
    "startPause": "instant: pause (standard)",
    "stopPause": "instant: resume (standard)",
    "stateRequest": "instant: publish a state now (standard)",
    "factsheetRequest": "instant: publish the factsheet now (standard)",
}

# Custom action types: name -> (description, scopes, parameter keys).
CUSTOM_ACTIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "installRails": (
        "install rack rails for a device at a rack face and U",
        ("NODE",),
        ("stepId", "stepKind", "rack", "face", "u", "device"),
    ),
    "installDevice": (
        "lift and mount a device at a rack face, lowest U given",
        ("NODE",),
        ("stepId", "stepKind", "rack", "face", "u", "device", "deviceType", "assetTag", "weightKg"),
    ),
    "connectCableEnd": (
        "plug one end of a cable or power cord",
        ("NODE",),
        ("stepId", "stepKind", "rack", "face", "u", "cableId", "end", "device", "port"),
    ),
    "verifyLabel": (
        "read the QR labels in reach and compare with expectCodes",
        ("NODE",),
        ("stepId", "stepKind", "rack", "face", "expectCodes"),
    ),
    "confirmTrigger": (
        "instant: a technician confirmed; finish the waitForTrigger action waitActionId",
        ("INSTANT",),
        ("waitActionId", "confirmedBy"),
    ),
}

# Step kind -> the action types its robot work is made of (finePositioning is added once per stop).
KIND_ACTIONS: dict[str, tuple[str, ...]] = {
    "place_rack": ("drop",),
    "install_rails": ("installRails",),
    "mount_device": ("installDevice",),
    "connect_power": ("connectCableEnd",),
    "run_cable": ("connectCableEnd", "connectCableEnd", "verifyLabel"),
    "verify_rack": ("verifyLabel",),
}
ARRIVAL_ACTION = "finePositioning"
INSTANT_ACTIONS = (
    "cancelOrder",
    "startPause",
    "stopPause",
    "stateRequest",
    "factsheetRequest",
    "confirmTrigger",
)


class VdaError(ValueError):
    """A payload cannot be built (undeclared action, bad index) or a message is invalid."""


# ---------------------------------------------------------------- topics and headers


def topic(manufacturer: str, serial_number: str, name: str, *, interface: str = INTERFACE) -> str:
    """The MQTT topic of one robot.

    >>> topic("FieldBotics", "LIFT-001", "order")
    'uagv/v2/FieldBotics/LIFT-001/order'
    """
    if name not in TOPICS:
        raise VdaError(f"unknown VDA 5050 topic '{name}'")
    for part in (manufacturer, serial_number):
        if not part or any(c in part for c in "/+#\x00"):
            raise VdaError(f"'{part}' cannot be used in an MQTT topic level")
    return f"{interface}/{MAJOR}/{manufacturer}/{serial_number}/{name}"


def split_topic(mqtt_topic: str, *, interface: str = INTERFACE) -> tuple[str, str, str] | None:
    """``uagv/v2/M/S/state`` -> (M, S, 'state'); None for any other topic."""
    parts = mqtt_topic.split("/")
    if len(parts) != 5 or parts[0] != interface or parts[1] != MAJOR or parts[4] not in TOPICS:
        return None
    return parts[2], parts[3], parts[4]


def iso_timestamp(epoch_s: float) -> str:
    """ISO 8601 UTC with milliseconds, as VDA 5050 headers want it.

    >>> iso_timestamp(0)
    '1970-01-01T00:00:00.000Z'
    """
    ms = int(round(epoch_s * 1000))
    dt = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Header:
    header_id: int
    timestamp: str  # ISO 8601 UTC, from iso_timestamp()
    manufacturer: str
    serial_number: str
    version: str = DEFAULT_VERSION

    def fields(self) -> dict:
        if self.version not in VERSIONS:
            raise VdaError(
                f"VDA 5050 version '{self.version}' is not supported (use one of {', '.join(VERSIONS)})"
            )
        return {
            "headerId": self.header_id,
            "timestamp": self.timestamp,
            "version": self.version,
            "manufacturer": self.manufacturer,
            "serialNumber": self.serial_number,
        }


class HeaderIds:
    """headerId counters, one per topic (the standard counts each topic separately)."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def next(self, name: str) -> int:
        n = self._next.get(name, 0)
        self._next[name] = n + 1
        return n


def encode(message: Mapping) -> bytes:
    """Canonical JSON bytes: sorted keys, compact, UTF-8 (deterministic payloads)."""
    return json.dumps(
        message, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


# ---------------------------------------------------------------- actions


def _param_list(params: Mapping) -> list[dict]:
    return [{"key": k, "value": params[k]} for k in sorted(params) if params[k] is not None]


def action(
    action_type: str,
    action_id: str,
    params: Mapping | None = None,
    *,
    blocking: str = "HARD",
    description: str = "",
) -> dict:
    """One VDA 5050 action object."""
    if blocking not in BLOCKING_TYPES:
        raise VdaError(f"blockingType '{blocking}' is not one of {', '.join(BLOCKING_TYPES)}")
    out = {
        "actionId": action_id,
        "actionType": action_type,
        "blockingType": blocking,
        "actionParameters": _param_list(params or {}),
    }
    if description:
        out["actionDescription"] = description
    return out


_SCALARS = frozenset({str, int, bool, type(None)})


def _jsonable(value) -> bool:
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_jsonable(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _jsonable(v) for k, v in value.items())
    return False


def _plain(value):
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _plain(value[k]) for k in sorted(value)}
    return value


def step_parameters(step: Step) -> dict:
    """The step's location and data as action parameters (the step's ``action`` dict included)."""
    loc = step.location
    params: dict = {"stepId": step.id, "stepKind": step.kind}
    if loc.rack:
        params["rack"] = loc.rack
    if loc.face:
        params["face"] = loc.face
    if loc.u is not None:
        params["u"] = loc.u
    if loc.location_id:
        params["locationId"] = loc.location_id
    for part in step.parts:
        key = {"device": "device", "cable": "cableId", "cord": "cableId", "rails": "rails"}.get(
            part.kind
        )
        if key and key not in params:
            params[key] = part.ref
            if part.sku:
                params.setdefault("sku", part.sku)
    if step.expect_codes:
        params["expectCodes"] = list(step.expect_codes)
    if step.weight_kg:
        params["weightKg"] = step.weight_kg
    for key in sorted(step.action):
        if not isinstance(key, str) or key in params:
            continue
        value = step.action[key]
        if type(value) in _SCALARS:  # the common case, without the recursive checks
            params[key] = value
        elif _jsonable(value):
            params[key] = _plain(value)
    return params


def step_action_types(step: Step, *, hold_for_technician: bool = False) -> tuple[str, ...]:
    """The action types a step's robot work is made of (without the stop's finePositioning)."""
    types = KIND_ACTIONS.get(step.kind)
    if types is None:
        raise VdaError(
            f"step {step.id}: kind '{step.kind}' has no robot action (robots do {', '.join(sorted(KIND_ACTIONS))})"
        )
    if hold_for_technician and step.confirm == CONFIRM_ROBOT_AND_TECH:
        types = (*types, "waitForTrigger")
    return types


def declared_action_types(
    profile_actions: Iterable[str], factsheet_actions: Iterable[str] | None = None
) -> frozenset[str]:
    """Action types a robot may be sent: its profile's step kinds mapped to action types (plus
    any VDA action type the profile lists verbatim), narrowed to its factsheet when known."""
    out: set[str] = set()
    for name in profile_actions:
        if name in KIND_ACTIONS:
            out.update(KIND_ACTIONS[name])
            out.add(ARRIVAL_ACTION)
        elif name in STANDARD_ACTIONS or name in CUSTOM_ACTIONS:
            out.add(name)
    if factsheet_actions is not None:
        out &= set(factsheet_actions)
    return frozenset(out)


def split_declared(
    steps: Sequence[Step], declared: Iterable[str], *, hold_for_technician: bool = False
) -> tuple[list[Step], list[tuple[Step, str]]]:
    """Steps a robot can be sent, and the refused ones with the reason."""
    declared = set(declared)
    ok: list[Step] = []
    refused: list[tuple[Step, str]] = []
    for step in steps:
        try:
            types = set(step_action_types(step, hold_for_technician=hold_for_technician)) | {
                ARRIVAL_ACTION
            }
        except VdaError as exc:
            refused.append((step, str(exc)))
            continue
        missing = sorted(types - declared)
        if missing:
            refused.append(
                (
                    step,
                    f"step {step.id}: the robot does not declare action type(s) {', '.join(missing)}",
                )
            )
        else:
            ok.append(step)
    return ok, refused


def _step_actions(step: Step, *, arrival: bool, hold_for_technician: bool) -> list[dict]:
    base = step_parameters(step)
    out: list[dict] = []
    n = 0
    if arrival:
        station = (
            f"{step.location.rack}.{step.location.face}" if step.location.rack else base["stepId"]
        )
        out.append(
            action(
                ARRIVAL_ACTION,
                f"{step.id}:{n}",
                {
                    "stationType": "rackFace",
                    "stationName": station,
                    "stepId": step.id,
                    "stepKind": step.kind,
                },
            )
        )
        n += 1
    types = step_action_types(step, hold_for_technician=hold_for_technician)
    ends = iter(("A", "B"))
    for t in types:
        params = dict(base)
        if t == "drop":
            params.update(
                {
                    "loadType": "rack",
                    "loadId": step.location.rack or step.id,
                    "stationType": "rackPosition",
                }
            )
        elif t == "connectCableEnd":
            params["end"] = (
                next(ends, "A") if step.kind == "run_cable" else str(base.get("end", "A"))
            )
        elif t == "waitForTrigger":
            params = {
                "stepId": step.id,
                "stepKind": step.kind,
                "triggerType": "technicianConfirmation",
            }
        out.append(action(t, f"{step.id}:{n}", params))
        n += 1
    return out


# ---------------------------------------------------------------- routes and orders


@dataclass(frozen=True, slots=True)
class Pose:
    """A floor pose in millimetres and degrees; ``node_id`` names it in the order."""

    node_id: str
    x_mm: int
    y_mm: int
    theta_deg: float = 0.0


class Stop:
    """One order node: a pose and the actions done there (stop 0 is where the robot starts).

    ``actions`` are built on first use from the stop's steps, so a route of thousands of steps
    costs only what the orders actually sent need.
    """

    __slots__ = ("pose", "step_ids", "path_mm", "_steps", "_hold", "_actions")

    def __init__(
        self,
        pose: Pose,
        step_ids: tuple[str, ...] = (),
        actions: tuple[dict, ...] | None = None,
        path_mm: tuple[tuple[int, int], ...] = (),  # walking path from the previous stop
        *,
        steps: tuple[Step, ...] = (),
        hold_for_technician: bool = False,
    ) -> None:
        self.pose = pose
        self.step_ids = step_ids
        self.path_mm = path_mm
        self._steps = steps
        self._hold = hold_for_technician
        self._actions = actions

    @property
    def actions(self) -> tuple[dict, ...]:
        if self._actions is None:
            out: list[dict] = []
            for n, step in enumerate(self._steps):
                out += _step_actions(step, arrival=n == 0, hold_for_technician=self._hold)
            self._actions = tuple(out)
        return self._actions

    def __repr__(self) -> str:
        return f"Stop({self.pose!r}, {self.step_ids!r})"


@dataclass(frozen=True)
class Route:
    """A robot's stops in order, and which actions belong to which step."""

    stops: tuple[Stop, ...]
    step_actions: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict
    )  # step ID -> action IDs
    step_confirm: Mapping[str, str] = field(
        default_factory=dict
    )  # step ID -> status when all FINISHED

    def action_steps(self) -> dict[str, str]:
        return {a: s for s, ids in self.step_actions.items() for a in ids}

    def stop_of_step(self) -> dict[str, int]:
        return {s: i for i, stop in enumerate(self.stops) for s in stop.step_ids}

    def action_count(self, index: int) -> int:
        """How many actions stop ``index`` carries (without building them)."""
        return sum(len(self.step_actions[s]) for s in self.stops[index].step_ids)

    def segment_end(self, first: int, max_actions: int = ORDER_MAX_ACTIONS) -> int:
        """The last stop of an order that starts at stop ``first`` and holds at most
        ``max_actions`` actions after it (always at least one stop more, when there is one).

        >>> from fieldops.core.workorder import Location, Step
        >>> steps = [Step(f"S{i}", "stack", "mount_device", "t", "i", Location(rack=f"R{i}", x_mm=600 * i)) for i in range(5)]
        >>> build_route(steps).segment_end(0, max_actions=4)  # 2 actions per stop
        2
        """
        last = len(self.stops) - 1
        end, total = first, 0
        while end < last:
            total += self.action_count(end + 1)
            if total > max_actions and end > first:
                break
            end += 1
        return end


def _node_id(step: Step) -> str:
    loc = step.location
    if loc.rack:
        return f"{loc.rack}.{loc.face or 'front'}"
    return f"P{loc.x_mm}_{loc.y_mm}"


def build_route(
    steps: Sequence[Step],
    *,
    start: Pose | None = None,
    declared: Iterable[str] | None = None,
    walk: Callable[[tuple[int, int], tuple[int, int]], Sequence] | None = None,
    hold_for_technician: bool = False,
    split_before: Collection[str] = (),
) -> Route:
    """Group a robot's steps (in execution order) into stops.

    Consecutive steps at the same pose share a stop, except a step in ``split_before``: it
    starts a new stop at the same pose (same ``nodeId``, next ``sequenceId``, its own
    ``finePositioning``), so that an order can release the steps before it and hold it back
    (a step that must wait until the one before it is done, e.g. confirmed by a technician).

    ``start`` is where the robot stands now (VDA 5050 wants it as the order's first node);
    without it the first stop is the first node. ``declared`` (from
    :func:`declared_action_types`) refuses any step whose action types the robot does not
    declare. ``walk(a_mm, b_mm)`` returns the walking polyline between two floor points.
    A stop's action objects are built when an order first needs them.

    Examples
    --------
    >>> from fieldops.core.workorder import Location, Step
    >>> s = Step("S1", "stack", "mount_device", "t", "i", Location(rack="R01", face="front", u=10, x_mm=1800, y_mm=1500))
    >>> r = build_route([s], start=Pose("home", 0, 0))
    >>> [stop.pose.node_id for stop in r.stops], r.step_actions["S1"]
    (['home', 'R01.front'], ('S1:0', 'S1:1'))
    """
    if declared is not None:
        _ok, refused = split_declared(steps, declared, hold_for_technician=hold_for_technician)
        if refused:
            raise VdaError("; ".join(reason for _s, reason in refused))
    seen: set[str] = set()
    # (pose, steps, path) per stop, frozen into Stop objects at the end
    groups: list[tuple[Pose, list[Step], tuple]] = []
    step_actions: dict[str, tuple[str, ...]] = {}
    step_confirm: dict[str, str] = {}
    if start is not None:
        groups.append((start, [], ()))
    for step in steps:
        if step.id in seen:
            raise VdaError(f"step {step.id} appears twice in the robot's route")
        seen.add(step.id)
        loc = step.location
        pose = Pose(_node_id(step), int(loc.x_mm), int(loc.y_mm), float(loc.theta_deg))
        same = (
            bool(groups)
            and bool(groups[-1][1])
            and groups[-1][0] == pose
            and step.id not in split_before
        )
        types = step_action_types(step, hold_for_technician=hold_for_technician)
        n = len(types) + (0 if same else 1)  # + the stop's finePositioning
        step_actions[step.id] = tuple(f"{step.id}:{k}" for k in range(n))
        holds = "waitForTrigger" in types
        step_confirm[step.id] = (
            "awaiting_confirmation"
            if step.confirm == CONFIRM_ROBOT_AND_TECH and not holds
            else "done"
        )
        if same:
            groups[-1][1].append(step)
            continue
        path: tuple = ()
        if groups and walk is not None:
            prev = groups[-1][0]
            pts = walk((prev.x_mm, prev.y_mm), (pose.x_mm, pose.y_mm))
            if pts:
                path = tuple((int(round(p[0])), int(round(p[1]))) for p in pts)
        groups.append((pose, [step], path))
    stops = tuple(
        Stop(
            pose,
            tuple(s.id for s in group),
            None,
            path,
            steps=tuple(group),
            hold_for_technician=hold_for_technician,
        )
        for pose, group, path in groups
    )
    return Route(stops, step_actions, step_confirm)


def _metres(mm: float) -> float:
    return round(mm / 1000.0, 3)


def _radians(deg: float) -> float:
    rad = math.atan2(math.sin(math.radians(deg)), math.cos(math.radians(deg)))
    return round(rad, 6) + 0.0


def compact_path(path_mm: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """A polyline without repeated points and without vertices on a straight line between
    their neighbours (integer millimetres, so the test is exact).

    >>> compact_path([(0, 0), (0, 0), (0, 500), (0, 1000), (800, 1000), (1600, 1000)])
    [(0, 0), (0, 1000), (1600, 1000)]
    """
    pts: list[tuple[int, int]] = []
    for p in path_mm:
        p = (int(p[0]), int(p[1]))
        if pts and p == pts[-1]:
            continue
        if len(pts) >= 2:
            (ax, ay), (bx, by) = pts[-2], pts[-1]
            cross = (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax)
            dot = (bx - ax) * (p[0] - bx) + (by - ay) * (p[1] - by)
            if cross == 0 and dot >= 0:  # b lies on the segment a-p: drop it
                pts[-1] = p
                continue
        pts.append(p)
    return pts


def _trajectory(path_mm: Sequence[tuple[int, int]]) -> tuple[dict, float] | None:
    """A polyline as a degree-1 NURBS (control points = vertices, chord-length knots)."""
    pts = compact_path(path_mm)
    if len(pts) < 2:
        return None
    seg = [math.dist(pts[i], pts[i + 1]) for i in range(len(pts) - 1)]
    total = sum(seg)
    knots = [0.0, 0.0]
    run = 0.0
    for s in seg[:-1]:
        run += s
        knots.append(round(run / total, 6))
    knots += [1.0, 1.0]
    cps = [{"x": _metres(x), "y": _metres(y), "weight": 1.0} for x, y in pts]
    return {"degree": 1, "knotVector": knots, "controlPoints": cps}, round(total / 1000.0, 3)


def node_sequence_id(index: int) -> int:
    """Nodes take even sequence IDs (0, 2, 4 ...), the edge after node i takes 2i+1."""
    return 2 * index


def _order_node(
    route: Route, i: int, map_id: str, *, released: bool, actions: bool, skip: Collection[str] = ()
) -> dict:
    stop = route.stops[i]
    sent = [dict(a) for a in stop.actions] if actions else []
    left_out = [s for s in stop.step_ids if s in skip]
    if left_out:
        keep_arrival = len(left_out) < len(stop.step_ids)
        drop = {a for s in left_out for a in route.step_actions.get(s, ())}
        sent = [
            a
            for a in sent
            if a["actionId"] not in drop or (keep_arrival and a["actionType"] == ARRIVAL_ACTION)
        ]
    return {
        "nodeId": stop.pose.node_id,
        "sequenceId": node_sequence_id(i),
        "released": released,
        "nodePosition": {
            "x": _metres(stop.pose.x_mm),
            "y": _metres(stop.pose.y_mm),
            "theta": _radians(stop.pose.theta_deg),
            "mapId": map_id,
        },
        "actions": sent,
    }


def _order_edge(route: Route, i: int, *, released: bool) -> dict:
    """The edge from stop i-1 to stop i."""
    prev, stop = route.stops[i - 1], route.stops[i]
    edge = {
        "edgeId": f"{prev.pose.node_id}>{stop.pose.node_id}",
        "sequenceId": node_sequence_id(i - 1) + 1,
        "released": released,
        "startNodeId": prev.pose.node_id,
        "endNodeId": stop.pose.node_id,
        "actions": [],
    }
    traj = _trajectory(stop.path_mm) if stop.path_mm else None
    if traj is not None:
        edge["trajectory"], edge["length"] = traj
    else:
        edge["length"] = round(
            math.dist((prev.pose.x_mm, prev.pose.y_mm), (stop.pose.x_mm, stop.pose.y_mm)) / 1000.0,
            3,
        )
    return edge


def build_order(
    route: Route,
    header: Header,
    *,
    order_id: str,
    map_id: str,
    order_update_id: int = 0,
    first: int = 0,
    base_end: int | None = None,
    horizon_end: int | None = None,
    max_stops: int | None = ORDER_MAX_STOPS,
    max_bytes: int | None = ORDER_MAX_BYTES,
    skip_steps: Collection[str] = (),
) -> dict:
    """An ``order`` (or an order update) for stops ``first..horizon_end``, released up to
    ``base_end`` (the base) and unreleased after it (the horizon).

    ``skip_steps``: steps whose work is left out (handed to a person): their actions are not
    sent, except the arrival action at a stop where other steps remain.

    Sequence IDs are fixed per stop (node i is 2i, its outgoing edge 2i+1), so an update that
    starts at the previous base's last node (``first`` = previous ``base_end``) stitches onto
    the running order as VDA 5050 requires; bump ``order_update_id`` for each update. The
    first node of an update, or of an order that starts mid-route (``first`` > 0: the robot
    stands there, its work done), is sent without actions.

    One message carries at most ``max_stops`` nodes and ``max_bytes`` bytes of
    :func:`encode` output: the horizon (then the base) is cut short to fit, and
    :func:`released_end` tells which stop the base really reaches. A stop too large to go
    with the first node on its own raises :class:`VdaError`. ``None`` lifts a limit.

    Examples
    --------
    >>> from fieldops.core.workorder import Location, Step
    >>> s = Step("S1", "stack", "mount_device", "t", "i", Location(rack="R01", face="front", x_mm=1800, y_mm=1500))
    >>> o = build_order(build_route([s], start=Pose("home", 0, 0)), Header(0, "1970-01-01T00:00:00.000Z", "M", "S"), order_id="o1", map_id="LAB")
    >>> [(n["nodeId"], n["sequenceId"], n["released"]) for n in o["nodes"]], o["edges"][0]["edgeId"]
    ([('home', 0, True), ('R01.front', 2, True)], 'home>R01.front')
    """
    n = len(route.stops)
    last = n - 1
    base_end = last if base_end is None else base_end
    horizon_end = last if horizon_end is None else horizon_end
    if n == 0:
        raise VdaError("an order needs at least one node")
    if not (0 <= first <= base_end <= horizon_end <= last):
        raise VdaError(
            f"order {order_id}: need 0 <= first ({first}) <= base_end ({base_end}) <= horizon_end ({horizon_end}) <= {last}"
        )
    if order_update_id < 0:
        raise VdaError("orderUpdateId must be 0 or more")
    if max_stops is not None:
        if max_stops < 2:
            raise VdaError("an order must be allowed at least 2 stops")
        horizon_end = min(horizon_end, first + max_stops - 1)
        base_end = min(base_end, horizon_end)
    out = {
        **header.fields(),
        "orderId": order_id,
        "orderUpdateId": order_update_id,
        "nodes": [],
        "edges": [],
    }
    nodes: list[dict] = out["nodes"]
    edges: list[dict] = out["edges"]
    size = len(encode(out)) if max_bytes is not None else 0
    for i in range(first, horizon_end + 1):
        released = i <= base_end
        # the stitching node of an update carries no actions: they went with the base,
        # and a robot appends (re-runs) actions given there
        node = _order_node(
            route,
            i,
            map_id,
            released=released,
            actions=i > first or (first == 0 and order_update_id == 0),
            skip=skip_steps,
        )
        edge = _order_edge(route, i, released=released) if i > first else None
        if max_bytes is not None:
            add = len(encode(node)) + (1 if nodes else 0)
            if edge is not None:
                add += len(encode(edge)) + (1 if edges else 0)
            if size + add > max_bytes:
                if i <= first + 1:
                    raise VdaError(
                        f"order {order_id}: node {route.stops[i].pose.node_id} (stop {i}) needs "
                        f"{add:,} bytes, over the {max_bytes:,}-byte order budget"
                    )
                break
            size += add
        nodes.append(node)
        if edge is not None:
            edges.append(edge)
    return out


def released_end(order: Mapping) -> int:
    """The stop index of the last released node of an order built by :func:`build_order`."""
    seqs = [n["sequenceId"] for n in order["nodes"] if n["released"]]
    if not seqs:
        raise VdaError("order has no released node")
    return max(seqs) // 2


def build_instant_actions(header: Header, actions: Sequence[dict]) -> dict:
    """An ``instantActions`` message. The 2.0.0 JSON schema names the list ``instantActions``,
    2.1.0 names it ``actions``; the header's version picks."""
    key = "instantActions" if header.version == "2.0.0" else "actions"
    return {**header.fields(), key: [dict(a) for a in actions]}


def cancel_order(action_id: str) -> dict:
    return action("cancelOrder", action_id, blocking="NONE")


def pause(action_id: str) -> dict:
    return action("startPause", action_id, blocking="HARD")


def resume(action_id: str) -> dict:
    return action("stopPause", action_id, blocking="HARD")


def state_request(action_id: str) -> dict:
    return action("stateRequest", action_id, blocking="NONE")


def factsheet_request(action_id: str) -> dict:
    return action("factsheetRequest", action_id, blocking="NONE")


def confirm_trigger(action_id: str, wait_action_id: str, confirmed_by: str) -> dict:
    """Custom instant action: a technician confirmed the step held by ``waitForTrigger``."""
    return action(
        "confirmTrigger",
        action_id,
        {"waitActionId": wait_action_id, "confirmedBy": confirmed_by},
        blocking="NONE",
    )


# ---------------------------------------------------------------- robot-side messages (simulators)


def build_connection(header: Header, state: str) -> dict:
    if state not in CONNECTION_STATES:
        raise VdaError(f"connectionState '{state}' is not one of {', '.join(CONNECTION_STATES)}")
    return {**header.fields(), "connectionState": state}


def build_factsheet(
    header: Header,
    *,
    action_types: Iterable[str],
    series: str,
    speed_max_m_s: float,
    payload_kg: float,
    width_mm: int,
) -> dict:
    """A factsheet declaring exactly ``action_types`` (plus the standard instant actions)."""
    agv_actions = []
    for t in sorted(set(action_types) | set(INSTANT_ACTIONS)):
        if t in CUSTOM_ACTIONS:
            desc, scopes, keys = CUSTOM_ACTIONS[t]
            params = [
                {
                    "key": k,
                    "valueDataType": "OBJECT" if k == "expectCodes" else "STRING",
                    "isOptional": k not in ("stepId",),
                }
                for k in keys
            ]
        else:
            desc, params = STANDARD_ACTIONS.get(t, t), []
            scopes = ("INSTANT",) if t in INSTANT_ACTIONS else ("NODE",)
        agv_actions.append(
            {
                "actionType": t,
                "actionDescription": desc,
                "actionScopes": list(scopes),
                "actionParameters": params,
            }
        )
    return {
        **header.fields(),
        "typeSpecification": {
            "seriesName": series,
            "agvKinematic": "OMNI",
            "agvClass": "CARRIER",
            "maxLoadMass": payload_kg,
            "localizationTypes": ["NATURAL"],
            "navigationTypes": ["AUTONOMOUS"],
        },
        "physicalParameters": {
            "speedMin": 0.0,
            "speedMax": speed_max_m_s,
            "accelerationMax": 0.5,
            "decelerationMax": 0.5,
            "heightMax": 2.0,
            "width": _metres(width_mm),
            "length": _metres(width_mm),
        },
        "protocolLimits": {
            "maxStringLens": {},
            "maxArrayLens": {},
            "timing": {"minOrderInterval": 0.0, "minStateInterval": 0.0},
        },
        "protocolFeatures": {"optionalParameters": [], "agvActions": agv_actions},
        "agvGeometry": {},
        "loadSpecification": {},
    }


def build_state(
    header: Header,
    *,
    order_id: str,
    order_update_id: int,
    last_node_id: str,
    last_node_sequence_id: int,
    driving: bool,
    position: tuple[float, float, float, str] | None,
    node_states: Sequence[tuple[str, int, bool]] = (),
    edge_states: Sequence[tuple[str, int, bool]] = (),
    action_states: Sequence[tuple[str, str, str, str]] = (),
    errors: Sequence[dict] = (),
    paused: bool = False,
    battery: float = 100.0,
) -> dict:
    """A ``state`` message. ``position`` is (x m, y m, theta rad, mapId); ``action_states`` are
    (actionId, actionType, actionStatus, resultDescription)."""
    out = {
        **header.fields(),
        "orderId": order_id,
        "orderUpdateId": order_update_id,
        "lastNodeId": last_node_id,
        "lastNodeSequenceId": last_node_sequence_id,
        "driving": driving,
        "paused": paused,
        "operatingMode": "AUTOMATIC",
        "nodeStates": [{"nodeId": n, "sequenceId": s, "released": r} for n, s, r in node_states],
        "edgeStates": [{"edgeId": e, "sequenceId": s, "released": r} for e, s, r in edge_states],
        "actionStates": [
            {"actionId": i, "actionType": t, "actionStatus": st, "resultDescription": d}
            for i, t, st, d in action_states
        ],
        "batteryState": {"batteryCharge": battery, "charging": False},
        "errors": [dict(e) for e in errors],
        "information": [],
        "loads": [],
        "safetyState": {"eStop": "NONE", "fieldViolation": False},
    }
    if position is not None:
        x, y, theta, map_id = position
        out["agvPosition"] = {
            "x": round(x, 3),
            "y": round(y, 3),
            "theta": round(theta, 6),
            "mapId": map_id,
            "positionInitialized": True,
        }
    return out


# ---------------------------------------------------------------- parsing what arrives


def decode(payload: bytes | str, *, max_bytes: int = MAX_MESSAGE_BYTES) -> dict:
    """Bytes -> a JSON object, refusing oversized, non-UTF-8, non-object or too-deep input."""
    if isinstance(payload, str):
        payload = payload.encode()
    if len(payload) > max_bytes:
        raise VdaError(f"message of {len(payload):,} bytes is over the {max_bytes:,}-byte limit")
    try:
        data = _DECODER.decode(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise VdaError("message is not UTF-8") from None
    except RecursionError:
        raise VdaError("message JSON is nested too deeply") from None
    except ValueError as exc:
        raise VdaError(f"message is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise VdaError(f"message is a JSON {type(data).__name__}, not an object")
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # one decoder, not one per message
_STATUSES = frozenset(ACTION_STATUSES)


class _Check:
    def __init__(self, data: Mapping, where: str):
        self.data, self.where = data, where

    def fail(self, key: str, msg: str):
        raise VdaError(f"{self.where}.{key}: {msg}")

    def str(
        self,
        key: str,
        *,
        required: bool = True,
        default: str = "",
        choices: Sequence[str] | None = None,
    ) -> str:
        v = self.data.get(key)
        if v is None:
            if required:
                self.fail(key, "missing")
            return default
        if not isinstance(v, str):
            self.fail(key, f"expected a string, got {type(v).__name__}")
        if len(v) > MAX_STRING:
            self.fail(key, f"string of {len(v):,} characters is too long")
        if choices is not None and v not in choices:
            self.fail(key, f"'{v[:40]}' is not one of {', '.join(choices)}")
        return v

    def int(self, key: str, *, required: bool = True, default: int = 0) -> int:
        v = self.data.get(key)
        if v is None:
            if required:
                self.fail(key, "missing")
            return default
        if isinstance(v, bool) or not isinstance(v, int) or not (0 <= v < 2**32):
            self.fail(key, f"expected a whole number 0..2^32-1, got {str(v)[:40]}")
        return v

    def num(self, key: str, *, required: bool = True, default: float = 0.0) -> float:
        v = self.data.get(key)
        if v is None:
            if required:
                self.fail(key, "missing")
            return default
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(key, f"expected a number, got {str(v)[:40]}")
        return float(v)

    def bool(self, key: str, *, required: bool = True, default: bool = False) -> bool:
        v = self.data.get(key)
        if v is None:
            if required:
                self.fail(key, "missing")
            return default
        if not isinstance(v, bool):
            self.fail(key, f"expected true/false, got {str(v)[:40]}")
        return v

    def list(self, key: str, *, required: bool = True) -> list:
        v = self.data.get(key)
        if v is None:
            if required:
                self.fail(key, "missing")
            return []
        if not isinstance(v, list):
            self.fail(key, f"expected a list, got {type(v).__name__}")
        if len(v) > MAX_ARRAY:
            self.fail(key, f"list of {len(v):,} items is too long")
        return v

    def obj(self, key: str, *, required: bool = True) -> Mapping | None:
        v = self.data.get(key)
        if v is None:
            if required:
                self.fail(key, "missing")
            return None
        if not isinstance(v, dict):
            self.fail(key, f"expected an object, got {type(v).__name__}")
        return v

    def item(self, key: str, i: int, value) -> _Check:
        if not isinstance(value, dict):
            raise VdaError(
                f"{self.where}.{key}[{i}]: expected an object, got {type(value).__name__}"
            )
        return _Check(value, f"{self.where}.{key}[{i}]")


@dataclass(frozen=True, slots=True)
class MessageHeader:
    header_id: int
    timestamp: str
    version: str
    manufacturer: str
    serial_number: str


def _header(c: _Check) -> MessageHeader:
    version = c.str("version")
    if not version.startswith("2."):
        c.fail("version", f"'{version[:20]}' is not a VDA 5050 2.x version")
    return MessageHeader(
        c.int("headerId"), c.str("timestamp"), version, c.str("manufacturer"), c.str("serialNumber")
    )


class ActionState(NamedTuple):
    """One entry of a state's ``actionStates`` (a named tuple: the bridge makes tens of
    thousands a second)."""

    action_id: str
    action_type: str
    status: str
    result: str = ""


@dataclass(frozen=True, slots=True)
class RobotError:
    error_type: str
    level: str
    description: str = ""
    action_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RobotState:
    header: MessageHeader
    order_id: str
    order_update_id: int
    last_node_id: str
    last_node_sequence_id: int
    driving: bool
    paused: bool
    action_states: tuple[ActionState, ...]
    errors: tuple[RobotError, ...]
    node_sequence_ids: tuple[int, ...]  # nodes still to traverse
    position: tuple[float, float, float, str] | None  # x m, y m, theta rad, mapId


def parse_state(
    payload: bytes | str | Mapping, *, max_bytes: int = MAX_MESSAGE_BYTES
) -> RobotState:
    """Check a ``state`` message and keep what fieldops needs; raises VdaError with the path
    of the first bad field."""
    data = payload if isinstance(payload, Mapping) else decode(payload, max_bytes=max_bytes)
    c = _Check(data, "state")
    header = _header(c)
    actions = []
    statuses = _STATUSES
    new = ActionState.__new__
    for i, raw in enumerate(c.list("actionStates")):
        # fast path for well-formed entries; the checked path names the bad field otherwise
        if type(raw) is dict:
            aid, at, st = raw.get("actionId"), raw.get("actionType", ""), raw.get("actionStatus")
            res = raw.get("resultDescription", "")
            if (
                type(aid) is str
                and type(at) is str
                and type(res) is str
                and st in statuses
                and len(aid) <= MAX_STRING
                and len(at) <= MAX_STRING
                and len(res) <= MAX_STRING
            ):
                actions.append(new(ActionState, aid, at, st, res))
                continue
        a = c.item("actionStates", i, raw)
        actions.append(
            ActionState(
                a.str("actionId"),
                a.str("actionType", required=False),
                a.str("actionStatus", choices=ACTION_STATUSES),
                a.str("resultDescription", required=False),
            )
        )
    errs = []
    for i, raw in enumerate(c.list("errors")):
        e = c.item("errors", i, raw)
        ids = []
        for j, ref in enumerate(e.list("errorReferences", required=False)):
            r = e.item("errorReferences", j, ref)
            if r.str("referenceKey") == "actionId":
                ids.append(r.str("referenceValue"))
        errs.append(
            RobotError(
                e.str("errorType"),
                e.str("errorLevel", choices=ERROR_LEVELS),
                e.str("errorDescription", required=False),
                tuple(ids),
            )
        )
    seqs = []
    for i, raw in enumerate(c.list("nodeStates")):
        seq = raw.get("sequenceId") if type(raw) is dict else None
        ok = type(seq) is int and 0 <= seq < 2**32
        seqs.append(seq if ok else c.item("nodeStates", i, raw).int("sequenceId"))
    c.list("edgeStates")
    pos = None
    p = c.obj("agvPosition", required=False)
    if p is not None:
        pc = _Check(p, "state.agvPosition")
        pos = (pc.num("x"), pc.num("y"), pc.num("theta"), pc.str("mapId"))
    return RobotState(
        header,
        c.str("orderId", required=True),
        c.int("orderUpdateId"),
        c.str("lastNodeId"),
        c.int("lastNodeSequenceId"),
        c.bool("driving"),
        c.bool("paused", required=False),
        tuple(actions),
        tuple(errs),
        tuple(seqs),
        pos,
    )


def parse_connection(
    payload: bytes | str | Mapping, *, max_bytes: int = 65_536
) -> tuple[MessageHeader, str]:
    data = payload if isinstance(payload, Mapping) else decode(payload, max_bytes=max_bytes)
    c = _Check(data, "connection")
    return _header(c), c.str("connectionState", choices=CONNECTION_STATES)


def parse_factsheet(
    payload: bytes | str | Mapping, *, max_bytes: int = MAX_MESSAGE_BYTES
) -> tuple[MessageHeader, frozenset[str]]:
    """The factsheet's header and the action types it declares."""
    data = payload if isinstance(payload, Mapping) else decode(payload, max_bytes=max_bytes)
    c = _Check(data, "factsheet")
    header = _header(c)
    feats = c.obj("protocolFeatures")
    fc = _Check(feats, "factsheet.protocolFeatures")
    types = set()
    for i, raw in enumerate(fc.list("agvActions")):
        types.add(fc.item("agvActions", i, raw).str("actionType"))
    return header, frozenset(types)


@dataclass(frozen=True, slots=True)
class OrderAction:
    action_id: str
    action_type: str
    blocking: str
    params: Mapping


@dataclass(frozen=True, slots=True)
class OrderNode:
    node_id: str
    sequence_id: int
    released: bool
    x: float | None
    y: float | None
    theta: float | None
    map_id: str
    actions: tuple[OrderAction, ...]


@dataclass(frozen=True, slots=True)
class Order:
    header: MessageHeader
    order_id: str
    order_update_id: int
    nodes: tuple[OrderNode, ...]
    edges: tuple[tuple[str, int, bool], ...]  # (edgeId, sequenceId, released)

    def action_types(self) -> set[str]:
        return {a.action_type for n in self.nodes for a in n.actions}


def _actions(c: _Check, key: str) -> tuple[OrderAction, ...]:
    out = []
    for i, raw in enumerate(c.list(key)):
        a = c.item(key, i, raw)
        params = {}
        for j, p in enumerate(a.list("actionParameters", required=False)):
            pc = a.item("actionParameters", j, p)
            params[pc.str("key")] = p.get("value")
        out.append(
            OrderAction(
                a.str("actionId"),
                a.str("actionType"),
                a.str("blockingType", choices=BLOCKING_TYPES),
                params,
            )
        )
    return tuple(out)


def parse_order(payload: bytes | str | Mapping, *, max_bytes: int = MAX_MESSAGE_BYTES) -> Order:
    """Check an ``order`` as a robot would: sequence IDs (nodes even, edges odd, contiguous),
    base before horizon, edges joining consecutive nodes."""
    data = payload if isinstance(payload, Mapping) else decode(payload, max_bytes=max_bytes)
    c = _Check(data, "order")
    header = _header(c)
    nodes = []
    for i, raw in enumerate(c.list("nodes")):
        n = c.item("nodes", i, raw)
        pos = n.obj("nodePosition", required=False)
        pc = _Check(pos or {}, f"order.nodes[{i}].nodePosition")
        nodes.append(
            OrderNode(
                n.str("nodeId"),
                n.int("sequenceId"),
                n.bool("released"),
                pc.num("x") if pos else None,
                pc.num("y") if pos else None,
                pc.num("theta", required=False) if pos else None,
                pc.str("mapId") if pos else "",
                _actions(n, "actions"),
            )
        )
    edges = []
    for i, raw in enumerate(c.list("edges")):
        e = c.item("edges", i, raw)
        edges.append(
            (
                e.str("edgeId"),
                e.int("sequenceId"),
                e.bool("released"),
                e.str("startNodeId"),
                e.str("endNodeId"),
            )
        )
        _actions(e, "actions")
    if not nodes:
        raise VdaError("order.nodes: an order needs at least one node")
    if len(edges) != len(nodes) - 1:
        raise VdaError(
            f"order.edges: {len(nodes)} nodes need {len(nodes) - 1} edges, got {len(edges)}"
        )
    for i, node in enumerate(nodes):
        if node.sequence_id % 2 or (i and node.sequence_id != nodes[i - 1].sequence_id + 2):
            raise VdaError(
                f"order.nodes[{i}].sequenceId: {node.sequence_id} breaks the even, contiguous node sequence"
            )
        if i and node.released and not nodes[i - 1].released:
            raise VdaError(f"order.nodes[{i}].released: a released node follows the horizon")
    for i, (eid, seq, released, a, b) in enumerate(edges):
        if seq != nodes[i].sequence_id + 1 or a != nodes[i].node_id or b != nodes[i + 1].node_id:
            raise VdaError(
                f"order.edges[{i}]: edge '{eid[:40]}' does not join nodes {i} and {i + 1}"
            )
        if released != nodes[i + 1].released:
            raise VdaError(f"order.edges[{i}].released: must match its end node")
    if not nodes[0].released:
        raise VdaError("order.nodes[0].released: the first node must be released")
    ids = [a.action_id for n in nodes for a in n.actions]
    if len(ids) != len(set(ids)):
        raise VdaError("order: actionIds are not unique")
    return Order(
        header,
        c.str("orderId"),
        c.int("orderUpdateId"),
        tuple(nodes),
        tuple((e[0], e[1], e[2]) for e in edges),
    )


def parse_instant_actions(
    payload: bytes | str | Mapping, *, max_bytes: int = 1024 * 1024
) -> tuple[MessageHeader, tuple[OrderAction, ...]]:
    data = payload if isinstance(payload, Mapping) else decode(payload, max_bytes=max_bytes)
    c = _Check(data, "instantActions")
    return _header(c), _actions(c, "instantActions" if "instantActions" in data else "actions")


# ---------------------------------------------------------------- action states -> step status


def step_status(statuses: Sequence[str], when_finished: str = "done") -> str | None:
    """The step status implied by the states of its actions (None: nothing started yet).

    FAILED anywhere blocks the step; all FINISHED gives ``when_finished`` (``done``, or
    ``awaiting_confirmation`` when a technician must confirm); anything started is
    ``in_progress``.

    >>> step_status(["FINISHED", "RUNNING"]), step_status(["FINISHED", "FAILED"]), step_status(["WAITING"])
    ('in_progress', 'blocked', None)
    """
    if not statuses:
        return None
    if "FAILED" in statuses:
        return "blocked"
    if all(s == "FINISHED" for s in statuses):
        return when_finished
    if all(s == "WAITING" for s in statuses):
        return None
    return "in_progress"
