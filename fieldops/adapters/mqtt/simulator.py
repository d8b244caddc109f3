"""A simulated VDA 5050 robot, built from a robot profile: for the demo and the tests.

It connects with a last will (``connection`` = CONNECTIONBROKEN, retained, QoS 1, its
headerId the one after the ONLINE it publishes on connecting) and a short MQTT keepalive
(``keepalive_s``, 3 s: the broker sends the will about 4.5 s after the robot hangs), publishes
ONLINE and its factsheet (retained), its position and velocity on ``visualization`` (every
``visualization_interval_s``), accepts orders and order updates (rejecting a whole order
that holds an action type it does not declare, as the standard requires), drives straight
from node to node at the profile's speed, runs each action for its standard time, fails a
given fraction of actions, and publishes ``state`` on every change and at least every
``state_interval_s``. ``time_scale`` speeds simulated time up (100 = a 420 s mount in 4.2 s).

Action times: ``profile.action_time_s[stepKind]`` split over the step's work actions (the
``stepKind`` action parameter says which), or ``profile.action_time_s[actionType]``, or the
defaults in ``STANDARD_TIMES_S``.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from fieldops.adapters.mqtt import connect, make_client
from fieldops.core import vda5050 as v
from fieldops.core.model import RobotProfile

log = logging.getLogger(__name__)

STANDARD_TIMES_S = {"finePositioning": 5.0, "pick": 30.0, "drop": 30.0, "verifyLabel": 10.0}
DEFAULT_ACTION_S = 60.0
KEEPALIVE_S = 3  # the broker declares a hung robot gone after 1.5 x this (its last will)
ARRIVAL_TOLERANCE_M = 0.5  # VDA 5050 default allowedDeviationXY when none is given


@dataclass
class _Node:
    node_id: str
    seq: int
    released: bool
    x: float | None
    y: float | None
    theta: float | None
    actions: list[v.OrderAction]
    edge_id: str = ""


@dataclass
class _Run:
    """The action being executed at the current node."""

    action: v.OrderAction
    remaining_s: float
    will_fail: bool


@dataclass
class _RobotState:
    order_id: str = ""
    order_update_id: int = 0
    nodes: list[_Node] = field(default_factory=list)  # still to reach (index 0 = next)
    at_node: _Node | None = None  # reached, actions pending
    pending: list[v.OrderAction] = field(default_factory=list)
    running: _Run | None = None
    action_states: dict[str, list[str]] = field(
        default_factory=dict
    )  # id -> [type, status, result]
    errors: list[dict] = field(default_factory=list)
    last_node_id: str = ""
    last_node_seq: int = 0
    x: float = 0.0
    y: float = 0.0
    theta: float = 0.0
    map_id: str = ""
    driving: bool = False
    paused: bool = False


class SimulatedRobot:
    """One simulated robot. ``start()`` connects and runs; ``stop()`` says OFFLINE and leaves;
    ``kill()`` drops the connection without a word (the broker then sends the last will)."""

    def __init__(
        self,
        profile: RobotProfile,
        broker_url: str,
        *,
        serial_number: str | None = None,
        time_scale: float = 1.0,
        fail_rate: float = 0.0,
        seed: int = 0,
        version: str = v.DEFAULT_VERSION,
        start: tuple[float, float, float] = (0.0, 0.0, 0.0),
        map_id: str = "",
        username: str | None = None,
        password: str | None = None,
        state_interval_s: float = 1.0,
        visualization_interval_s: float = 1.0,
        keepalive_s: int = KEEPALIVE_S,
        factsheet: bool = True,
        tick_s: float = 0.02,
        clock=time.time,
    ):
        if profile.kind != "robot":
            raise ValueError(f"profile '{profile.name}' is a {profile.kind}, not a robot")
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError("fail rate must be between 0 and 1")
        if time_scale <= 0:
            raise ValueError("time scale must be above 0")
        self.profile = profile
        self.manufacturer = profile.manufacturer
        self.serial = serial_number or profile.serial_number
        self.version = version
        self.time_scale = time_scale
        self.fail_rate = fail_rate
        self.state_interval_s = state_interval_s
        self.visualization_interval_s = visualization_interval_s
        self.factsheet = factsheet
        self.keepalive_s = keepalive_s
        self.tick_s = tick_s
        self.declared = v.declared_action_types(profile.actions)
        self._rng = random.Random(f"{seed}:{self.serial}")
        self._clock = clock
        self._ids = v.HeaderIds()
        self._lock = threading.RLock()
        self._s = _RobotState(
            x=start[0], y=start[1], theta=start[2], map_id=map_id, last_node_id=""
        )
        self._dirty = True
        self.executed: Counter[str] = Counter()  # actionId -> times started (tests: never twice)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_state_at = 0.0
        self._last_visual_at = 0.0
        self._prev_xy = (start[0], start[1], time.monotonic())
        self.client = make_client(
            broker_url, f"robot-{self.serial}", username=username or self.serial, password=password
        )
        self._online_id = 0
        self._set_will()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self._set_will()
        self.client.on_message = self._on_message
        self.connected = threading.Event()

    # ------------------------------------------------------------ plumbing

    def _topic(self, name: str) -> str:
        return v.topic(self.manufacturer, self.serial, name)

    def _header(self, name: str) -> v.Header:
        return v.Header(
            self._ids.next(name),
            v.iso_timestamp(self._clock()),
            self.manufacturer,
            self.serial,
            self.version,
        )

    def _set_will(self) -> None:
        """The last will for the next connection: CONNECTIONBROKEN with the headerId after the
        ONLINE published on connecting (so it reads as the newer message)."""
        self._online_id = self._ids.next("connection")
        will = v.Header(
            self._ids.next("connection"),
            v.iso_timestamp(self._clock()),
            self.manufacturer,
            self.serial,
            self.version,
        )
        self.client.will_set(
            self._topic("connection"),
            v.encode(v.build_connection(will, "CONNECTIONBROKEN")),
            qos=1,
            retain=True,
        )

    def _publish(self, name: str, message: dict):
        return self.client.publish(
            self._topic(name), v.encode(message), qos=v.TOPIC_QOS[name], retain=v.TOPIC_RETAIN[name]
        )

    def start(self) -> SimulatedRobot:
        connect(self.client, keepalive=self.keepalive_s)
        self._thread = threading.Thread(target=self._loop, name=f"sim-{self.serial}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Leave politely: OFFLINE (retained), then disconnect."""
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        if self.client.is_connected():
            info = self._publish(
                "connection", v.build_connection(self._header("connection"), "OFFLINE")
            )
            info.wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()

    def kill(self) -> None:
        """Drop the TCP connection without DISCONNECT (as a crash would)."""
        self._stop.set()
        sock = self.client.socket()
        if sock is not None:
            sock.close()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("robot %s: broker refused the connection: %s", self.serial, reason_code)
            return
        client.subscribe([(self._topic("order"), 0), (self._topic("instantActions"), 0)])
        online = v.Header(
            self._online_id,
            v.iso_timestamp(self._clock()),
            self.manufacturer,
            self.serial,
            self.version,
        )
        self._publish("connection", v.build_connection(online, "ONLINE"))
        if self.factsheet:
            self._publish_factsheet()
        with self._lock:
            self._dirty = True
        self.connected.set()

    def publish_factsheet(self) -> None:
        """Publish the factsheet now (a robot started with ``factsheet=False``)."""
        with self._lock:
            self.factsheet = True
            self._publish_factsheet()

    def _publish_factsheet(self) -> None:
        p = self.profile
        fs = v.build_factsheet(
            self._header("factsheet"),
            action_types=self.declared,
            series=p.name,
            speed_max_m_s=p.speed_m_s,
            payload_kg=p.payload_kg,
            width_mm=p.width_mm,
        )
        self._publish("factsheet", fs)

    def _on_message(self, client, userdata, msg):
        try:
            if msg.topic.endswith("/order"):
                self._take_order(msg.payload)
            elif msg.topic.endswith("/instantActions"):
                self._take_instant(msg.payload)
        except Exception:  # never let a bad message kill the network thread
            log.exception("robot %s: error handling %s", self.serial, msg.topic)

    # ------------------------------------------------------------ orders

    def _error(self, error_type: str, description: str, refs: dict | None = None) -> None:
        err = {
            "errorType": error_type,
            "errorLevel": "WARNING",
            "errorDescription": description[:500],
        }
        if refs:
            err["errorReferences"] = [
                {"referenceKey": k, "referenceValue": str(refs[k])} for k in sorted(refs)
            ]
        self._s.errors.append(err)
        del self._s.errors[:-20]
        self._dirty = True

    def _take_order(self, payload: bytes) -> None:
        with self._lock:
            try:
                order = v.parse_order(payload)
            except v.VdaError as exc:
                log.warning("robot %s: rejected order: %s", self.serial, exc)
                self._error("validationError", str(exc))
                return
            s = self._s
            refs = {"orderId": order.order_id, "orderUpdateId": order.order_update_id}
            undeclared = sorted(order.action_types() - self.declared)
            if undeclared:
                log.warning(
                    "robot %s: rejected order %s: undeclared action types %s",
                    self.serial,
                    order.order_id,
                    undeclared,
                )
                self._error(
                    "orderActionError",
                    f"order holds action types this robot does not declare: {', '.join(undeclared)}",
                    refs,
                )
                return
            wrong = self._version_problem(order)
            if wrong:
                log.warning("robot %s: rejected order %s: %s", self.serial, order.order_id, wrong)
                self._error("validationError", wrong, refs)
                return
            if order.header.serial_number != self.serial:
                self._error(
                    "validationError", f"order is for serial {order.header.serial_number}", refs
                )
                return
            first = order.nodes[0]
            if order.order_id == s.order_id:
                if order.order_update_id <= s.order_update_id:
                    if order.order_update_id < s.order_update_id:
                        self._error(
                            "orderUpdateError",
                            f"orderUpdateId {order.order_update_id} is older than {s.order_update_id}",
                            refs,
                        )
                    return  # the same update again: already have it
                # stitch: the update's first node is the end of our base (or where we stand)
                base = [n for n in ([s.at_node] if s.at_node else []) + s.nodes if n.released]
                stitch = base[-1] if base else None
                if (
                    stitch is None
                    and first.sequence_id == s.last_node_seq
                    and first.node_id == s.last_node_id
                ):
                    stitch = _Node(s.last_node_id, s.last_node_seq, True, None, None, None, [])
                if stitch is None or (stitch.node_id, stitch.seq) != (
                    first.node_id,
                    first.sequence_id,
                ):
                    self._error(
                        "orderUpdateError",
                        f"update {order.order_update_id} does not start at the base end",
                        refs,
                    )
                    return
                s.nodes = [n for n in s.nodes if n.seq <= first.sequence_id]
                new_nodes = self._nodes(order)[1:]
                s.nodes += new_nodes
                s.order_update_id = order.order_update_id
                for n in new_nodes:
                    for a in n.actions:
                        s.action_states.setdefault(a.action_id, [a.action_type, "WAITING", ""])
                self._dirty = True
                return
            busy = s.running is not None or s.pending or any(n.released for n in s.nodes)
            if busy:
                self._error(
                    "orderUpdateError",
                    f"order {order.order_id} arrived while order {s.order_id} is still running",
                    refs,
                )
                return
            if (
                first.x is not None
                and math.dist((first.x, first.y), (s.x, s.y)) > ARRIVAL_TOLERANCE_M
            ):
                self._error(
                    "noRouteError",
                    f"the first node {first.node_id} is {math.dist((first.x, first.y), (s.x, s.y)):.2f} m away",
                    refs,
                )
                return
            s.order_id, s.order_update_id = order.order_id, order.order_update_id
            s.action_states = {}
            s.errors = []
            for n in order.nodes:
                for a in n.actions:
                    s.action_states[a.action_id] = [a.action_type, "WAITING", ""]
            nodes = self._nodes(order)
            if first.map_id:
                s.map_id = first.map_id
            s.nodes = nodes
            self._dirty = True

    def _version_problem(self, order: v.Order) -> str:
        """What a strict robot of this version refuses: another version in the header; on
        2.0.0 an object as an action parameter's value (2.0 allows array, boolean, number,
        string)."""
        if order.header.version != self.version:
            return f"order version {order.header.version} is not this robot's {self.version}"
        if self.version == "2.0.0":
            for n in order.nodes:
                for a in n.actions:
                    for key, value in a.params.items():
                        if isinstance(value, dict):
                            return f"action {a.action_id}: parameter {key} is an object (2.0.0 allows none)"
        return ""

    @staticmethod
    def _nodes(order: v.Order) -> list[_Node]:
        edge_ids = {seq: eid for eid, seq, _r in order.edges}
        return [
            _Node(
                n.node_id,
                n.sequence_id,
                n.released,
                n.x,
                n.y,
                n.theta,
                list(n.actions),
                edge_ids.get(n.sequence_id - 1, ""),
            )
            for n in order.nodes
        ]

    def _take_instant(self, payload: bytes) -> None:
        with self._lock:
            try:
                _h, actions = v.parse_instant_actions(payload)
            except v.VdaError as exc:
                log.warning("robot %s: rejected instant actions: %s", self.serial, exc)
                self._error("validationError", str(exc))
                return
            s = self._s
            for a in actions:
                status, result = "FINISHED", ""
                if a.action_type == "stateRequest":
                    self._last_state_at = 0.0
                elif a.action_type == "factsheetRequest":
                    self._publish_factsheet()
                elif a.action_type == "startPause":
                    s.paused = True
                elif a.action_type == "stopPause":
                    s.paused = False
                elif a.action_type == "cancelOrder":
                    if not (s.nodes or s.pending or s.running):
                        status = "FAILED"
                        self._error(
                            "noOrderToCancel", "no order to cancel", {"actionId": a.action_id}
                        )
                    for act in [
                        *(x for n in s.nodes for x in n.actions),
                        *s.pending,
                        *([s.running.action] if s.running else []),
                    ]:
                        s.action_states[act.action_id][1:] = ["FAILED", "cancelled"]
                    s.nodes, s.pending, s.running, s.at_node = [], [], None, None
                    s.driving = False
                elif a.action_type == "confirmTrigger":
                    wait_id = str(a.params.get("waitActionId", ""))
                    if (
                        s.running
                        and s.running.action.action_id == wait_id
                        and s.running.action.action_type == "waitForTrigger"
                    ):
                        s.running.remaining_s = 0.0
                        s.running.will_fail = False
                    else:
                        status, result = (
                            "FAILED",
                            f"no waitForTrigger action {wait_id[:60]} is running",
                        )
                else:
                    status, result = (
                        "FAILED",
                        f"instant action {a.action_type[:60]} is not supported",
                    )
                    self._error("instantActionError", result, {"actionId": a.action_id})
                s.action_states[a.action_id] = [a.action_type, status, result]
            self._dirty = True

    # ------------------------------------------------------------ the simulation loop

    def _duration(self, a: v.OrderAction) -> float:
        times = self.profile.action_time_s
        if a.action_type == "waitForTrigger":
            return math.inf
        kind = a.params.get("stepKind")
        if a.action_type not in ("finePositioning",) and isinstance(kind, str) and kind in times:
            work = [t for t in v.KIND_ACTIONS.get(kind, (a.action_type,)) if t != "waitForTrigger"]
            return float(times[kind]) / max(1, len(work))
        if a.action_type in times:
            return float(times[a.action_type])
        return STANDARD_TIMES_S.get(a.action_type, DEFAULT_ACTION_S)

    def _loop(self) -> None:
        last = time.monotonic()
        while not self._stop.is_set():
            time.sleep(self.tick_s)
            now = time.monotonic()
            dt = (now - last) * self.time_scale
            last = now
            try:
                with self._lock:
                    self._step(dt)
                    if self.client.is_connected() and (
                        self._dirty or now - self._last_state_at >= self.state_interval_s
                    ):
                        self._publish_state()
                        self._dirty = False
                        self._last_state_at = now
                    if (
                        self.client.is_connected()
                        and now - self._last_visual_at >= self.visualization_interval_s
                    ):
                        self._publish_visualization(now)
                        self._last_visual_at = now
            except Exception:
                log.exception("robot %s: simulation step failed", self.serial)

    def _step(self, dt: float) -> None:
        s = self._s
        if s.paused:
            return
        while dt > 0 and not self._stop.is_set():
            if s.running is not None:
                run = s.running
                if run.remaining_s > dt:
                    run.remaining_s -= dt
                    return
                dt -= max(0.0, run.remaining_s)
                st = s.action_states[run.action.action_id]
                if run.will_fail:
                    st[1:] = ["FAILED", "simulated failure"]
                    self._error(
                        "actionFailed",
                        f"{run.action.action_type} failed (simulated)",
                        {"actionId": run.action.action_id},
                    )
                else:
                    st[1:] = ["FINISHED", "ok"]
                s.running = None
                self._dirty = True
                continue
            if s.pending:
                a = s.pending.pop(0)
                fail = a.action_type != "waitForTrigger" and self._rng.random() < self.fail_rate
                s.running = _Run(a, self._duration(a), fail)
                s.action_states[a.action_id][1] = "RUNNING"
                self.executed[a.action_id] += 1
                self._dirty = True
                continue
            s.at_node = None
            if not s.nodes or not s.nodes[0].released:
                if s.driving:
                    s.driving = False
                    self._dirty = True
                return
            node = s.nodes[0]
            tx = s.x if node.x is None else node.x
            ty = s.y if node.y is None else node.y
            dist = math.dist((s.x, s.y), (tx, ty))
            speed = self.profile.speed_m_s
            if dist > speed * dt + 1e-9:
                f = speed * dt / dist
                s.x += (tx - s.x) * f
                s.y += (ty - s.y) * f
                if not s.driving:
                    s.driving = True
                    self._dirty = True
                return
            dt -= dist / speed
            s.x, s.y = tx, ty
            if node.theta is not None:
                s.theta = node.theta
            s.nodes.pop(0)
            s.last_node_id, s.last_node_seq = node.node_id, node.seq
            s.at_node = node
            s.pending = list(node.actions)
            self._dirty = True

    def _publish_state(self) -> None:
        s = self._s
        nodes = [(n.node_id, n.seq, n.released) for n in s.nodes]
        edges = [(n.edge_id, n.seq - 1, n.released) for n in s.nodes if n.edge_id]
        actions = [(aid, t, st, r) for aid, (t, st, r) in s.action_states.items()]
        msg = v.build_state(
            self._header("state"),
            order_id=s.order_id,
            order_update_id=s.order_update_id,
            last_node_id=s.last_node_id,
            last_node_sequence_id=s.last_node_seq,
            driving=s.driving,
            paused=s.paused,
            position=(s.x, s.y, s.theta, s.map_id),
            node_states=nodes,
            edge_states=edges,
            action_states=actions,
            errors=s.errors,
        )
        self._publish("state", msg)

    def _publish_visualization(self, now: float) -> None:
        s = self._s
        x0, y0, t0 = self._prev_xy
        dt = max(now - t0, 1e-6) * self.time_scale  # simulated seconds
        velocity = ((s.x - x0) / dt, (s.y - y0) / dt, 0.0)
        self._prev_xy = (s.x, s.y, now)
        msg = v.build_visualization(
            self._header("visualization"),
            position=(s.x, s.y, s.theta, s.map_id),
            velocity=velocity,
        )
        self._publish("visualization", msg)

    def snapshot(self) -> dict:
        """The simulated state, for tests: order, position and action states."""
        with self._lock:
            s = self._s
            return {
                "order_id": s.order_id,
                "order_update_id": s.order_update_id,
                "position": (s.x, s.y),
                "actions": {k: tuple(x) for k, x in s.action_states.items()},
                "errors": list(s.errors),
            }
