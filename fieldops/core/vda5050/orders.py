"""From steps to VDA 5050 orders, pure: which action types a step's robot work is made of,
the stops of a robot's route, and bounded orders and order updates over that route.

How a step becomes robot work (documented for fleet integrators in ``docs/robots.md``):

- the robot's steps, in execution order, are grouped into **stops**: consecutive steps at the
  same stand-off pose share one order node (``nodeId`` = ``{rack}.{face}``);
- each step maps to a short list of **action types** (``KIND_ACTIONS``): standard ones where
  they fit (``drop`` for a rack delivery, ``finePositioning`` on arrival at a rack face,
  ``waitForTrigger`` when a technician must confirm before the robot moves on) and documented
  custom ones (``installRails``, ``installDevice``, ``connectCableEnd``, ``verifyLabel``);
- every action of a step carries ``stepId`` and ``stepKind`` plus the step's location and data
  in ``actionParameters``;
- **action IDs are stable**: ``{stepId}:{n}``, n = 1, 2, ... for the step's own actions, and
  ``{stepId}:0`` for the stop's ``finePositioning`` carried by the first step at a stop. The
  same work has the same ID in every order and update, so an action the robot has reported
  FINISHED or FAILED is recognised and never sent again (``build_route(done_actions=)``);
- a robot is only sent action types it declares (its profile, narrowed by its factsheet);
  :func:`build_route` raises :class:`VdaError` otherwise, as a robot would reject the order;
- a leg the robot cannot travel (``walk`` returns None: no path wide enough for it) refuses
  the steps of the stop it leads to (``Route.refused``); they are never sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from fieldops.core.vda5050.protocol import (
    CUSTOM_ACTIONS,
    STANDARD_ACTIONS,
    Header,
    Prepared,
    VdaError,
    action,
    actions_for_version,
    encode,
    metres,
)
from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH, Step

# What one order (or order update) may carry: at most ORDER_MAX_STOPS nodes (base + horizon,
# the first node included) and ORDER_MAX_BYTES of canonical JSON, a quarter of the message
# limit. A robot with thousands of steps gets a bounded order that order updates extend.
ORDER_MAX_STOPS = 16
ORDER_MAX_BYTES = 1024 * 1024
# Actions one orderId may hold before the next stops go out as a new order: a robot reports
# every action of its current order in each ``state`` until a new order arrives, so this
# bounds the state messages too (about 120 bytes per action state).
ORDER_MAX_ACTIONS = 1000

# Step kind -> the action types its robot work is made of (finePositioning is added once per stop).
KIND_ACTIONS: dict[str, tuple[str, ...]] = {
    "place_rack": ("drop",),
    "install_rails": ("installRails",),
    "mount_device": ("installDevice",),
    "connect_power": ("connectCableEnd",),
    "run_cable": ("connectCableEnd", "connectCableEnd", "verifyLabel"),
    # a hose robot (none bundled): both quick disconnects, then the label; the loop tests
    # (fill, pressure, leak) need readings a technician records, so no robot action maps them
    "connect_hose": ("connectHoseEnd", "connectHoseEnd", "verifyLabel"),
    "verify_rack": ("verifyLabel",),
}
ARRIVAL_ACTION = "finePositioning"
ARRIVAL_INDEX = 0  # {stepId}:0 is the stop's finePositioning; the step's own actions count from 1

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


def work_action_ids(step: Step, *, hold_for_technician: bool = False) -> tuple[str, ...]:
    """The IDs of the step's own actions, ``{stepId}:1`` on (the same in every order).

    >>> from fieldops.core.workorder import Location
    >>> work_action_ids(Step("C1", "cable", "run_cable", "t", "i", Location()))
    ('C1:1', 'C1:2', 'C1:3')
    """
    n = len(step_action_types(step, hold_for_technician=hold_for_technician))
    return tuple(f"{step.id}:{k}" for k in range(1, n + 1))


def arrival_action_id(step_id: str) -> str:
    return f"{step_id}:{ARRIVAL_INDEX}"


def _step_actions(step: Step, *, arrival: bool, hold_for_technician: bool) -> list[dict]:
    base = step_parameters(step)
    out: list[dict] = []
    n = ARRIVAL_INDEX
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
    n = ARRIVAL_INDEX + 1
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
        elif t == "connectHoseEnd":
            params["end"] = next(ends, "A")
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

    ``actions`` are built on first use from the stop's steps (less the ``done`` action IDs),
    so a route of thousands of steps costs only what the orders actually sent need;
    :meth:`actions_for` gives them as a VDA 5050 version allows.
    """

    __slots__ = (
        "pose",
        "step_ids",
        "path_mm",
        "_steps",
        "_hold",
        "_actions",
        "_done",
        "_by",
        "_json",
    )

    def __init__(
        self,
        pose: Pose,
        step_ids: tuple[str, ...] = (),
        actions: tuple[dict, ...] | None = None,
        path_mm: tuple[tuple[int, int], ...] = (),  # walking path from the previous stop
        *,
        steps: tuple[Step, ...] = (),
        hold_for_technician: bool = False,
        done: frozenset[str] = frozenset(),
    ) -> None:
        self.pose = pose
        self.step_ids = step_ids
        self.path_mm = path_mm
        self._steps = steps
        self._hold = hold_for_technician
        self._actions = actions
        self._done = done
        self._by: dict[str, tuple[dict, ...]] = {}
        self._json: dict[tuple, bytes] = {}  # this stop's node and edge, encoded once each

    def with_path(self, path_mm: tuple[tuple[int, int], ...]) -> Stop:
        """The same stop reached by another path (its actions and node JSON are kept)."""
        other = Stop(
            self.pose,
            self.step_ids,
            self._actions,
            path_mm,
            steps=self._steps,
            hold_for_technician=self._hold,
            done=self._done,
        )
        other._by = self._by
        other._json = {k: b for k, b in self._json.items() if k[0] == "n"}
        return other

    @property
    def actions(self) -> tuple[dict, ...]:
        if self._actions is None:
            out: list[dict] = []
            for n, step in enumerate(self._steps):
                out += _step_actions(step, arrival=n == 0, hold_for_technician=self._hold)
            self._actions = tuple(a for a in out if a["actionId"] not in self._done)
        return self._actions

    def actions_for(self, version: str) -> tuple[dict, ...]:
        """:attr:`actions` as ``version`` allows them (2.0.0: no object parameter values)."""
        hit = self._by.get(version)
        if hit is None:
            hit = self._by[version] = tuple(actions_for_version(self.actions, version))
        return hit

    def __repr__(self) -> str:
        return f"Stop({self.pose!r}, {self.step_ids!r})"


@dataclass(frozen=True)
class Route:
    """A robot's stops in order, which actions belong to which step, and the steps refused
    (step ID -> reason: a leg the robot cannot travel)."""

    stops: tuple[Stop, ...]
    step_actions: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict
    )  # step ID -> action IDs in this route
    step_confirm: Mapping[str, str] = field(
        default_factory=dict
    )  # step ID -> status when all FINISHED
    refused: Mapping[str, str] = field(default_factory=dict)

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


Walk = Callable[[tuple[int, int], tuple[int, int]], Sequence | None]


def build_route(
    steps: Sequence[Step],
    *,
    start: Pose | None = None,
    declared: Iterable[str] | None = None,
    walk: Walk | None = None,
    hold_for_technician: bool = False,
    split_before: Collection[str] = (),
    done_actions: Collection[str] = (),
) -> Route:
    """Group a robot's steps (in execution order) into stops.

    Consecutive steps at the same pose share a stop, except a step in ``split_before``: it
    starts a new stop at the same pose (same ``nodeId``, next ``sequenceId``, its own
    ``finePositioning``), so that an order can release the steps before it and hold it back
    (a step that must wait until the one before it is done, e.g. confirmed by a technician).

    ``start`` is where the robot stands now (VDA 5050 wants it as the order's first node);
    without it the first stop is the first node. ``declared`` (from
    :func:`declared_action_types`) refuses any step whose action types the robot does not
    declare. ``walk(a_mm, b_mm)`` returns the polyline the robot travels between two floor
    points, or None when there is no path for it: the steps of that stop are refused
    (``Route.refused``) and the next leg starts from the last stop it can reach; without
    ``walk`` edges carry no trajectory (the robot plans its own path). ``done_actions``: action
    IDs the robot has reported FINISHED or FAILED; they are left out (never run twice).
    A stop's action objects are built when an order first needs them.

    Examples
    --------
    >>> from fieldops.core.workorder import Location, Step
    >>> s = Step("S1", "stack", "mount_device", "t", "i", Location(rack="R01", face="front", u=10, x_mm=1800, y_mm=1500))
    >>> r = build_route([s], start=Pose("home", 0, 0))
    >>> [stop.pose.node_id for stop in r.stops], r.step_actions["S1"]
    (['home', 'R01.front'], ('S1:0', 'S1:1'))
    >>> build_route([s], done_actions={"S1:0"}).step_actions["S1"]
    ('S1:1',)
    """
    if declared is not None:
        _ok, refused = split_declared(steps, declared, hold_for_technician=hold_for_technician)
        if refused:
            raise VdaError("; ".join(reason for _s, reason in refused))
    done = frozenset(done_actions)
    seen: set[str] = set()
    # (pose, steps, path) per stop, frozen into Stop objects at the end
    groups: list[tuple[Pose, list[Step], tuple]] = []
    step_actions: dict[str, tuple[str, ...]] = {}
    step_confirm: dict[str, str] = {}
    unreachable: dict[str, str] = {}
    cut: Pose | None = None  # the pose of a stop the robot cannot reach
    if start is not None:
        groups.append((start, [], ()))
    for step in steps:
        if step.id in seen:
            raise VdaError(f"step {step.id} appears twice in the robot's route")
        seen.add(step.id)
        loc = step.location
        pose = Pose(_node_id(step), int(loc.x_mm), int(loc.y_mm), float(loc.theta_deg))
        if cut is not None and cut == pose:
            unreachable[step.id] = unreachable[next(reversed(unreachable))]
            continue
        cut = None
        same = (
            bool(groups)
            and bool(groups[-1][1])
            and groups[-1][0] == pose
            and step.id not in split_before
        )
        path: tuple = ()
        if not same and groups and walk is not None:
            prev = groups[-1][0]
            pts = walk((prev.x_mm, prev.y_mm), (pose.x_mm, pose.y_mm))
            if pts is None:
                cut = pose
                unreachable[step.id] = (
                    f"step {step.id}: no path wide enough for the robot from {prev.node_id} "
                    f"({prev.x_mm}, {prev.y_mm}) to {pose.node_id} ({pose.x_mm}, {pose.y_mm})"
                )
                continue
            path = tuple((int(round(p[0])), int(round(p[1]))) for p in pts)
        types = step_action_types(step, hold_for_technician=hold_for_technician)
        ids = ((arrival_action_id(step.id),) if not same else ()) + work_action_ids(
            step, hold_for_technician=hold_for_technician
        )
        step_actions[step.id] = tuple(a for a in ids if a not in done) if done else ids
        holds = "waitForTrigger" in types
        step_confirm[step.id] = (
            "awaiting_confirmation"
            if step.confirm == CONFIRM_ROBOT_AND_TECH and not holds
            else "done"
        )
        if same:
            groups[-1][1].append(step)
            continue
        groups.append((pose, [step], path))
    stops = tuple(
        Stop(
            pose,
            tuple(s.id for s in group),
            None,
            path,
            steps=tuple(group),
            hold_for_technician=hold_for_technician,
            done=done,
        )
        for pose, group, path in groups
    )
    return Route(stops, step_actions, step_confirm, unreachable)


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
    cps = [{"x": metres(x), "y": metres(y), "weight": 1.0} for x, y in pts]
    return {"degree": 1, "knotVector": knots, "controlPoints": cps}, round(total / 1000.0, 3)


def node_sequence_id(index: int) -> int:
    """Nodes take even sequence IDs (0, 2, 4 ...), the edge after node i takes 2i+1."""
    return 2 * index


def _order_node(
    route: Route,
    i: int,
    map_id: str,
    *,
    released: bool,
    actions: bool,
    skip: Collection[str] = (),
    version: str = "2.1.0",
) -> bytes:
    """Node ``i`` as canonical JSON, encoded once per form and kept on the stop (an order
    update sends the nodes of the horizon again)."""
    stop = route.stops[i]
    left_out = tuple(s for s in stop.step_ids if s in skip) if skip else ()
    key = ("n", i, released, actions, version, map_id, left_out)
    hit = stop._json.get(key)
    if hit is not None:
        return hit
    sent = list(stop.actions_for(version)) if actions else []
    if left_out:
        keep_arrival = len(left_out) < len(stop.step_ids)
        drop = {a for s in left_out for a in route.step_actions.get(s, ())}
        sent = [
            a
            for a in sent
            if a["actionId"] not in drop or (keep_arrival and a["actionType"] == ARRIVAL_ACTION)
        ]
    node = {
        "nodeId": stop.pose.node_id,
        "sequenceId": node_sequence_id(i),
        "released": released,
        "nodePosition": {
            "x": metres(stop.pose.x_mm),
            "y": metres(stop.pose.y_mm),
            "theta": _radians(stop.pose.theta_deg),
            "mapId": map_id,
        },
        "actions": sent,
    }
    out = stop._json[key] = encode(node)
    return out


def _order_edge(route: Route, i: int, *, released: bool) -> bytes:
    """The edge from stop i-1 to stop i, as canonical JSON (kept on stop i)."""
    prev, stop = route.stops[i - 1], route.stops[i]
    key = ("e", i, released, prev.pose)
    hit = stop._json.get(key)
    if hit is not None:
        return hit
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
    out = stop._json[key] = encode(edge)
    return out


@dataclass(frozen=True, slots=True)
class EncodedOrder:
    """An order or order update as bytes waiting for its header (``prepared.stamp``), the
    stop its base really reaches (the horizon, then the base, cut to the bounds) and how many
    nodes it carries."""

    prepared: Prepared
    base_end: int
    nodes: int
    node_json: tuple[bytes, ...] = ()
    edge_json: tuple[bytes, ...] = ()
    horizon_end: int = 0
    stamped: tuple[int, bytes] | None = None  # (headerId, bytes) when stamped already

    def payload(self, header: Header) -> bytes:
        if self.stamped is not None and self.stamped[0] == header.header_id:
            return self.stamped[1]
        return self.prepared.stamp(header.header_id, header.timestamp)

    def from_start(
        self, route: Route, header: Header, *, order_id: str, map_id: str, max_bytes: int | None
    ) -> EncodedOrder | None:
        """This first order (encoded ahead, from a placeholder start) for ``route``, the same
        stops from where the robot really stands: only that node and the edge from it are
        encoded now. None when it no longer fits the byte budget."""
        node0 = _order_node(route, 0, map_id, released=True, actions=False, version=header.version)
        edge0 = _order_edge(route, 1, released=self.base_end >= 1)
        nodes = (node0, *self.node_json[1:])
        edges = (edge0, *self.edge_json[1:])
        fields = {**header.fields(), "orderId": order_id, "orderUpdateId": 0}
        prepared = Prepared.of_parts(
            fields,
            {"nodes": b"[" + b",".join(nodes) + b"]", "edges": b"[" + b",".join(edges) + b"]"},
        )
        payload = prepared.stamp(header.header_id, header.timestamp)
        if max_bytes is not None and len(payload) > max_bytes:
            return None
        return EncodedOrder(
            prepared,
            self.base_end,
            self.nodes,
            nodes,
            edges,
            self.horizon_end,
            (header.header_id, payload),
        )


def encode_order(
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
) -> EncodedOrder:
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
    ``EncodedOrder.base_end`` tells which stop the base really reaches. A stop too large to go
    with the first node on its own raises :class:`VdaError`. ``None`` lifts a limit.

    Each node and edge is encoded once and kept on its stop, so the updates that send a
    horizon again, and the order the dispatcher prepares before the robot reports in, cost
    little more than the join.
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
    fields = {**header.fields(), "orderId": order_id, "orderUpdateId": order_update_id}
    size = len(encode({**fields, "nodes": [], "edges": []})) if max_bytes is not None else 0
    nodes: list[bytes] = []
    edges: list[bytes] = []
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
            version=header.version,
        )
        edge = _order_edge(route, i, released=released) if i > first else None
        if max_bytes is not None:
            add = len(node) + (1 if nodes else 0)
            if edge is not None:
                add += len(edge) + (1 if edges else 0)
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
    prepared = Prepared.of_parts(
        fields, {"nodes": b"[" + b",".join(nodes) + b"]", "edges": b"[" + b",".join(edges) + b"]"}
    )
    return EncodedOrder(
        prepared,
        min(base_end, first + len(nodes) - 1),
        len(nodes),
        tuple(nodes),
        tuple(edges),
        horizon_end,
    )


def build_order(route: Route, header: Header, **kw) -> dict:
    """:func:`encode_order` as a message dict (the same content as the bytes sent).

    Examples
    --------
    >>> from fieldops.core.workorder import Location, Step
    >>> s = Step("S1", "stack", "mount_device", "t", "i", Location(rack="R01", face="front", x_mm=1800, y_mm=1500))
    >>> o = build_order(build_route([s], start=Pose("home", 0, 0)), Header(0, "1970-01-01T00:00:00.000Z", "M", "S"), order_id="o1", map_id="LAB")
    >>> [(n["nodeId"], n["sequenceId"], n["released"]) for n in o["nodes"]], o["edges"][0]["edgeId"]
    ([('home', 0, True), ('R01.front', 2, True)], 'home>R01.front')
    """
    return json.loads(encode_order(route, header, **kw).payload(header))


def released_end(order: Mapping) -> int:
    """The stop index of the last released node of an order built by :func:`build_order`."""
    seqs = [n["sequenceId"] for n in order["nodes"] if n["released"]]
    if not seqs:
        raise VdaError("order has no released node")
    return max(seqs) // 2


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
