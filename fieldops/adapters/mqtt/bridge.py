"""The robot bridge: fieldops as VDA 5050 master control over MQTT.

It publishes each robot's ``order`` (never retained) on ``uagv/v2/{manufacturer}/{serial}/order``,
subscribes to every robot's ``state``, ``connection`` and ``factsheet``, and turns action
states into step status through a :class:`StepSink`:

- all of a step's actions FINISHED -> ``done`` (``awaiting_confirmation`` when the step's rule
  is robot + technician and the robot did not wait for the technician itself);
- any FAILED -> ``blocked`` with the robot's error; anything started -> ``in_progress``;
- the robot's last will (``CONNECTIONBROKEN``) or ``OFFLINE`` -> its unfinished steps go back
  to ``ready``; when it comes back it gets a fresh order for them.

The work plan's precedence is never broken: a robot step is only released (put in an order's
base) when every step it depends on is ``done``. The one exception is an earlier robot-only step
of the same robot (a step whose robot finishing it makes it done): it runs first in the same
order, so it completes in sequence. Steps of other assignees (technicians, other robots, a
robot+technician step awaiting its technician) are read from the sink (:meth:`StepSink.statuses`);
a robot whose next stop waits for them stays where it is with the stop in its horizon, and an
order update releases the stop once they are done. :meth:`RobotBridge.notify_step_changed` wakes
that check at once; it also runs every ``recheck_s`` seconds.

Only ``window`` stops are released ahead of the robot; a bounded horizon follows (one message
carries at most ``order_stops`` nodes and ``order_bytes`` bytes), and an order update releases
the next rack when the robot reaches the one before the base end. One ``orderId`` holds at most
``order_actions`` actions (a robot reports all of them in every state): when the robot has
finished them, the next stops go out as a new order starting where it stands. After a
broker restart (or any reconnect) the bridge asks every robot for its state and re-sends what the
state shows it lacks (a lost order or order update). Malformed, oversized, spoofed or otherwise
hostile messages are dropped with one log line; they never stop the bridge.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from fieldops.adapters.mqtt import connect, make_client
from fieldops.core import vda5050 as v
from fieldops.core.model import RobotProfile
from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH, Step, natural_key
from fieldops.outdir import atomic_write

log = logging.getLogger(__name__)

WITHDRAWN = "withdrawn"  # handed to a person before the robot had it: never sent
FINAL = frozenset({"done", "awaiting_confirmation", "blocked", "failed", WITHDRAWN})
BAD = frozenset({"blocked", "failed"})  # final without the work done
# error types with which a robot refuses an order
REJECTIONS = frozenset(
    {"orderError", "orderActionError", "orderUpdateError", "noRouteError", "validationError"}
)


# ---------------------------------------------------------------- step status sinks


@runtime_checkable
class StepSink(Protocol):
    """Where step status goes, and where the bridge reads the status of the steps its robot
    steps depend on. The web app's store implements this too.

    ``set_status``: ``status`` is one of ``fieldops.core.workorder.STATUSES``; ``detail`` is
    JSON-ready (``robot``, ``orderId``, ``actions``: actionId -> status, and ``error`` when
    blocked). Called from the MQTT thread.

    ``statuses(step_ids)``: the current status of each of those steps the sink knows (unknown
    IDs are left out; only ``"done"`` matters to the bridge). Called from the bridge's re-check
    thread, never while the bridge holds its lock, with the few steps robots wait for.

    Both must be quick and thread-safe."""

    def set_status(self, step_id: str, status: str, detail: dict) -> None: ...

    def statuses(self, step_ids: Iterable[str]) -> dict[str, str]: ...


class MemoryStepSink:
    """Keeps the latest status per step and the full history; tests wait on it."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.detail: dict[str, dict] = {}
        self.history: list[tuple[str, str]] = []
        self._cond = threading.Condition()

    def set_status(self, step_id: str, status: str, detail: dict) -> None:
        with self._cond:
            self.status[step_id] = status
            self.detail[step_id] = dict(detail)
            self.history.append((step_id, status))
            self._cond.notify_all()

    def statuses(self, step_ids: Iterable[str]) -> dict[str, str]:
        with self._cond:
            return {s: self.status[s] for s in step_ids if s in self.status}

    def wait_for(self, predicate: Callable[[MemoryStepSink], bool], timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)


class JsonFileStepSink:
    """Writes ``{"schema": "fieldops.stepstatus/1", "steps": {id: {"status", "detail"}}}``
    atomically (temp file + rename), at most every ``interval_s`` and on ``close()``."""

    SCHEMA = "fieldops.stepstatus/1"

    def __init__(self, path: str | Path, interval_s: float = 0.5) -> None:
        self.path = Path(path)
        self.interval_s = interval_s
        self.steps: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._written = 0.0
        self._dirty = False

    def set_status(self, step_id: str, status: str, detail: dict) -> None:
        with self._lock:
            self.steps[step_id] = {"status": status, "detail": detail}
            self._dirty = True
            if time.monotonic() - self._written >= self.interval_s:
                self._write()

    def statuses(self, step_ids: Iterable[str]) -> dict[str, str]:
        with self._lock:
            return {s: self.steps[s]["status"] for s in step_ids if s in self.steps}

    def _write(self) -> None:
        text = json.dumps(
            {"schema": self.SCHEMA, "steps": {k: self.steps[k] for k in sorted(self.steps)}},
            indent=1,
            sort_keys=True,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, text + "\n", mode=0o600)
        self._written = time.monotonic()
        self._dirty = False

    def close(self) -> None:
        with self._lock:
            if self._dirty or not self.path.exists():
                self._write()


# ---------------------------------------------------------------- the bridge


@dataclass(frozen=True)
class RobotAssignment:
    """One robot and its steps in execution order."""

    profile: RobotProfile
    steps: tuple[Step, ...]
    serial_number: str = ""  # default: the profile's

    @property
    def serial(self) -> str:
        return self.serial_number or self.profile.serial_number


class _Robot:
    def __init__(self, a: RobotAssignment, hold_for_technician: bool):
        self.manufacturer = a.profile.manufacturer
        self.serial = a.serial
        self.key = (a.profile.manufacturer, a.serial)
        self.profile = a.profile
        self.steps = {s.id: s for s in a.steps}
        self.order = [s.id for s in a.steps]
        self.status: dict[str, str | None] = {s.id: None for s in a.steps}
        # Dependencies: ``in_sequence`` are earlier steps of this robot that the robot itself
        # makes done (robot-only, or held with waitForTrigger): they run first in the same
        # order. Every other dependency (``needs``) must be done before the step is released.
        self.index = index = {sid: i for i, sid in enumerate(self.order)}
        self.in_sequence: dict[str, tuple[str, ...]] = {}
        self.needs: dict[str, tuple[str, ...]] = {}
        for i, s in enumerate(a.steps):
            seq, needs = [], []
            for d in dict.fromkeys(s.depends_on):
                own = self.steps.get(d)
                if (
                    own is not None
                    and index[d] < i
                    and (own.confirm != CONFIRM_ROBOT_AND_TECH or hold_for_technician)
                ):
                    seq.append(d)
                else:
                    needs.append(d)
            self.in_sequence[s.id] = tuple(seq)
            self.needs[s.id] = tuple(needs)
        # a step that waits for an earlier step of this robot to be done (confirmed by a
        # technician) gets its own stop, so the stop before can be released without it
        self.split_before = frozenset(
            sid for sid in self.order if any(d in self.steps for d in self.needs[sid])
        )
        self.withdrawn: set[str] = set()  # steps reassigned away: their actions are not sent
        # what the robot's last state of the current order (and update) showed
        self.here: int | None = None  # the stop it last reached
        self.idle = False  # standing, no node left, every action FINISHED or FAILED
        self.factsheet: frozenset[str] | None = None
        self.ids = v.HeaderIds()
        self.online = False
        self.route: v.Route | None = None
        self.action_steps: dict[str, str] = {}
        self.order_id: str | None = None
        self.prev_order_id: str | None = None
        self.update_id = 0
        self.base_end = 0
        self.seg_first = 0  # first stop of the current orderId
        self.seg_end = 0  # last stop the current orderId may reach
        self.seen: dict[str, str] = {}  # actionId -> status in the current orderId's states
        self.last_message: dict | None = None
        self.sent_at = 0.0
        self.orders_sent = 0
        self.rejections = 0
        self.last_header_id = -1


class RobotBridge:
    """Master control for a fleet. ``start()`` connects and dispatches as robots report in;
    ``wait(timeout)`` blocks until every step is final; ``stop()`` disconnects."""

    def __init__(
        self,
        broker_url: str,
        assignments: Sequence[RobotAssignment],
        sink: StepSink,
        *,
        map_id: str,
        version: str = v.DEFAULT_VERSION,
        window: int = 2,
        walk: Callable | None = None,
        hold_for_technician: bool = False,
        client_id: str = "fieldops",
        username: str | None = None,
        password: str | None = None,
        resend_after_s: float = 2.0,
        max_message_bytes: int = v.MAX_MESSAGE_BYTES,
        clock: Callable[[], float] = time.time,
        order_prefix: str = "",
        order_stops: int = v.ORDER_MAX_STOPS,
        order_bytes: int = v.ORDER_MAX_BYTES,
        order_actions: int = v.ORDER_MAX_ACTIONS,
        assume_done: Collection[str] = (),
        recheck_s: float = 1.0,
    ):
        """``assume_done``: step IDs whose work (or, for a robot+technician step of this
        bridge, whose technician's part) is taken as done without asking the sink: a
        dependency on one of them is met at once, or for a robot step of this bridge as soon
        as its robot has finished it. Meant for dispatching without technicians
        (``fieldops robots dispatch --assume-done``); the default assumes nothing.
        ``recheck_s``: how often the status of the steps robots wait for is read again from
        the sink (besides :meth:`notify_step_changed`)."""
        if window < 1:
            raise ValueError("window must be 1 or more")
        if order_stops < 2:
            raise ValueError("an order must carry at least 2 stops")
        if not 1 <= order_bytes <= v.MAX_MESSAGE_BYTES:
            raise ValueError(f"the order byte budget must be 1..{v.MAX_MESSAGE_BYTES:,}")
        if order_actions < 1:
            raise ValueError("an order must be allowed at least 1 action")
        if not recheck_s > 0:
            raise ValueError("recheck_s must be above 0")
        self.order_stops = order_stops
        self.order_bytes = order_bytes
        self.order_actions = order_actions
        self.map_id = map_id
        self.version = version
        self.window = window
        self.walk = walk
        self.hold = hold_for_technician
        self.sink = sink
        self.resend_after_s = resend_after_s
        self.max_message_bytes = max_message_bytes
        self.clock = clock
        self.order_prefix = order_prefix or map_id
        self.robots: dict[tuple[str, str], _Robot] = {}
        for a in assignments:
            key = (a.profile.manufacturer, a.serial)
            if key in self.robots:
                raise ValueError(f"robot {a.serial} is assigned twice")
            self.robots[key] = _Robot(a, hold_for_technician)
        self.owner = {sid: r for r in self.robots.values() for sid in r.order}
        self.assume_done = frozenset(assume_done)
        self.recheck_s = recheck_s
        # dependencies known done (done is final), and who waits for the others
        self._met: set[str] = {d for d in self.assume_done if d not in self.owner}
        self._waits: dict[str, set[tuple[str, str]]] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._rechecker: threading.Thread | None = None
        self._no_statuses_logged = False
        self.dropped = 0
        self.received = 0
        self._lock = threading.RLock()
        self._done = threading.Condition(self._lock)
        self.client = make_client(broker_url, client_id, username=username, password=password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.connected = threading.Event()
        self._refuse_undeclared_profile_steps()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> RobotBridge:
        self._stopping.clear()
        self._rechecker = threading.Thread(
            target=self._recheck_loop, name="fieldops-bridge-recheck", daemon=True
        )
        self._rechecker.start()
        connect(self.client)
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self.client.disconnect()
        self.client.loop_stop()
        if self._rechecker is not None:
            self._rechecker.join(10)
            self._rechecker = None

    def wait(self, timeout: float) -> bool:
        """True when every step is final (done, awaiting confirmation, blocked) in time."""
        with self._done:
            return self._done.wait_for(self.all_final, timeout)

    def all_final(self) -> bool:
        with self._lock:
            return all(st in FINAL for r in self.robots.values() for st in r.status.values())

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        with self._lock:
            for r in self.robots.values():
                for st in r.status.values():
                    key = st or "ready"
                    out[key] = out.get(key, 0) + 1
        return out

    def waiting_for(self) -> list[str]:
        """The steps (of other assignees, or awaiting a technician) that robots wait for now."""
        with self._lock:
            return sorted(d for d in self._waits if d not in self._met)

    def stalled(self) -> bool:
        """True when some step is not final and none can progress: every unfinished step is
        out of its robot's released base and depends (directly or through other steps of this
        bridge) on a step that is blocked or failed. Nothing but a person can unblock that."""
        with self._lock:
            dead: dict[str, bool] = {}

            def is_dead(root: str) -> bool:
                # iterative depth-first: dependency chains can be thousands of steps long
                visiting: set[str] = set()
                stack = [(root, False)]
                while stack:
                    cur, expanded = stack.pop()
                    if cur in dead:
                        continue
                    r = self.owner[cur]
                    if r.status[cur] in FINAL:
                        dead[cur] = r.status[cur] in BAD
                        continue
                    deps = [d for d in r.in_sequence[cur] + r.needs[cur] if d in self.owner]
                    if expanded:
                        visiting.discard(cur)
                        dead[cur] = any(dead.get(d, False) for d in deps)  # a cycle: not dead
                        continue
                    if cur in visiting:
                        continue
                    visiting.add(cur)
                    stack.append((cur, True))
                    stack.extend((d, False) for d in deps if d not in dead and d not in visiting)
                return dead[root]

            pending = [
                (r, sid)
                for r in self.robots.values()
                for sid in r.order
                if r.status[sid] not in FINAL
            ]
            if not pending:
                return False
            return all(not self._released(r, sid) and is_dead(sid) for r, sid in pending)

    def _released(self, r: _Robot, step_id: str) -> bool:
        if r.route is None or r.order_id is None:
            return False
        stops = r.route.stops
        return any(step_id in stops[i].step_ids for i in range(r.seg_first, r.base_end + 1))

    # ------------------------------------------------------------ precedence

    def notify_step_changed(self, step_id: str | None = None) -> None:
        """A step's status changed somewhere else (a technician confirmed, the lead resolved a
        problem); ``None``: maybe several. Cheap and non-blocking, safe from any thread (also
        while the caller holds its own store lock): robots waiting for that step are
        re-checked at once on the bridge's re-check thread, which reads the sink."""
        if step_id is None or step_id in self._waits:
            self._wake.set()

    def reassigned(self, step_id: str, assignee: str) -> bool:
        """The lead handed a step to ``assignee``. A step of this bridge's robots handed to
        anyone else is withdrawn: its actions are left out of every order from now on and the
        robot's later steps that depend on it wait for it to be done (read from the sink).
        True when withdrawn; False when it is not this bridge's, is final, stays with its
        robot, or the robot has it already (released in its order: it will do it)."""
        with self._lock:
            r = self.owner.get(step_id)
            if r is None or r.status[step_id] in FINAL or r.steps[step_id].assignee == assignee:
                return False
            if self._released(r, step_id):
                log.warning(
                    "robot %s: step %s was reassigned to %s but is in its order already",
                    r.serial,
                    step_id,
                    assignee,
                )
                return False
            r.withdrawn.add(step_id)
            r.status[step_id] = WITHDRAWN
            self._done.notify_all()
            self._advance(r)  # a stop that waited only for this step may go now
            return True

    def _releasable(self, r: _Robot, step_id: str) -> bool:
        """Every dependency of the step is met: done (or assumed done), or an earlier step of
        this robot that runs before it in sequence (and has not failed)."""
        if step_id in r.withdrawn:
            return True  # its actions are left out: nothing for the robot to wait for
        for d in r.in_sequence[step_id]:
            if r.status[d] in BAD:
                return False
        ok = True
        # a withdrawn earlier step of this robot is done by someone else: wait for it as for
        # any other assignee's step
        withdrawn = tuple(d for d in r.in_sequence[step_id] if d in r.withdrawn)
        for d in r.needs[step_id] + withdrawn:
            if d not in self._met:
                waiting = self._waits.get(d)
                if waiting is None:  # a new wait: ask the sink now, it may be done already
                    waiting = self._waits[d] = set()
                    self._wake.set()
                if r.key not in waiting:
                    waiting.add(r.key)
                    log.info("robot %s: step %s waits for step %s", r.serial, step_id, d)
                ok = False
        return ok

    def _gate(self, r: _Robot, first: int, upto: int) -> int:
        """The last stop in ``first..upto`` up to which every stop after ``first`` holds only
        releasable steps (``first`` itself is released already, or where the robot stands)."""
        assert r.route is not None
        k = first
        while k < upto:
            oks = [self._releasable(r, s) for s in r.route.stops[k + 1].step_ids]
            if not all(oks):
                break
            k += 1
        return k

    def _mark_met(self, step_id: str) -> None:
        if step_id in self._met:
            return
        self._met.add(step_id)
        for key in sorted(self._waits.pop(step_id, ())):
            self._advance(self.robots[key])

    def _read_statuses(self, step_ids: list[str]) -> dict[str, str]:
        """Status of other assignees' steps from the sink, never raising."""
        try:
            reader = getattr(self.sink, "statuses", None)
            if reader is not None:
                return dict(reader(step_ids))
            step = getattr(self.sink, "step", None)  # a store without statuses(): one by one
            if step is not None:
                out = {}
                for sid in step_ids:
                    try:
                        out[sid] = step(sid)["status"]
                    except Exception:  # unknown step: not done
                        continue
                return out
            if not self._no_statuses_logged:
                self._no_statuses_logged = True
                log.warning(
                    "bridge: the step sink cannot report step status (no statuses()): robot "
                    "steps that depend on other assignees' steps are held"
                )
        except Exception:
            log.exception("bridge: reading step status from the sink failed; retrying")
        return {}

    def _recheck_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.recheck_s)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.recheck()
            except Exception:  # the thread must survive anything
                log.exception("bridge: re-checking dependencies failed")

    def recheck(self) -> None:
        """Read the status of every step robots wait for and release what became possible
        (run by the re-check thread; public for tests and other schedulers)."""
        with self._lock:
            # a robot step of this bridge that is still under way becomes done through
            # _set(); the sink only knows better once it is final here (a technician
            # confirmed it, the lead resolved its problem)
            ids = sorted(
                d
                for d in self._waits
                if d not in self._met and (d not in self.owner or self.owner[d].status[d] in FINAL)
            )
        if not ids:
            return
        got = self._read_statuses(ids)  # outside the lock: the sink may be a database
        with self._lock:
            for d in ids:
                if got.get(d) == "done":
                    self._mark_met(d)

    # ------------------------------------------------------------ publishing

    def _header(self, r: _Robot, name: str) -> v.Header:
        return v.Header(
            r.ids.next(name), v.iso_timestamp(self.clock()), r.manufacturer, r.serial, self.version
        )

    def _publish(self, r: _Robot, name: str, message: dict) -> None:
        info = self.client.publish(
            v.topic(r.manufacturer, r.serial, name),
            v.encode(message),
            qos=v.TOPIC_QOS[name],
            retain=v.TOPIC_RETAIN[name],
        )
        if info.rc != 0:
            log.info(
                "robot %s: %s not sent now (rc %s); re-sent when the robot's state shows it missing",
                r.serial,
                name,
                info.rc,
            )

    def instant(self, serial: str, actions: Iterable[dict]) -> None:
        """Send instant actions (cancelOrder, startPause, ...) to one robot."""
        with self._lock:
            r = self._robot_by_serial(serial)
            self._publish(
                r,
                "instantActions",
                v.build_instant_actions(self._header(r, "instantActions"), list(actions)),
            )

    def confirm(self, step_id: str, confirmed_by: str) -> bool:
        """A technician confirmed a step whose robot waits for it (``waitForTrigger``)."""
        with self._lock:
            for r in self.robots.values():
                if step_id in r.steps and r.route is not None:
                    for aid in r.route.step_actions.get(step_id, ()):
                        if (
                            r.action_steps.get(aid) == step_id
                            and self._action_type(r, aid) == "waitForTrigger"
                        ):
                            self.instant(
                                r.serial, [v.confirm_trigger(f"confirm-{aid}", aid, confirmed_by)]
                            )
                            return True
        return False

    def _action_type(self, r: _Robot, action_id: str) -> str:
        step_id = r.action_steps.get(action_id)
        if r.route is None or step_id is None:
            return ""
        ids = r.route.step_actions[step_id]
        types = v.step_action_types(r.steps[step_id], hold_for_technician=self.hold)
        # a step's work actions come last (after the stop's finePositioning, if any)
        by_id = dict(zip(ids[len(ids) - len(types) :], types, strict=True))
        return by_id.get(action_id, v.ARRIVAL_ACTION)

    def _robot_by_serial(self, serial: str) -> _Robot:
        for r in self.robots.values():
            if r.serial == serial:
                return r
        raise KeyError(f"no robot {serial}")

    def _set(self, r: _Robot, step_id: str, status: str, detail: dict) -> None:
        if r.status.get(step_id) == status:
            return
        with self._done:
            r.status[step_id] = status
            self.sink.set_status(step_id, status, {"robot": r.serial, **detail})
            self._done.notify_all()
            if status == "done" or (
                status == "awaiting_confirmation" and step_id in self.assume_done
            ):
                self._mark_met(step_id)

    def _declared(self, r: _Robot) -> frozenset[str]:
        return v.declared_action_types(r.profile.actions, r.factsheet)

    def _refuse_undeclared_profile_steps(self) -> None:
        for r in self.robots.values():
            self._refuse(r)

    def _refuse(self, r: _Robot) -> None:
        pending = [r.steps[s] for s in r.order if r.status[s] not in FINAL]
        _ok, refused = v.split_declared(pending, self._declared(r), hold_for_technician=self.hold)
        for step, reason in refused:
            self._set(r, step.id, "blocked", {"error": reason})

    def _send_new_order(self, r: _Robot, state: v.RobotState) -> None:
        remaining = [r.steps[s] for s in r.order if r.status[s] not in FINAL]
        if not remaining:
            r.order_id = None
            return
        if state.position is not None:
            x, y, theta, _map = state.position
            start = v.Pose(
                state.last_node_id or f"{r.serial}-start",
                round(x * 1000),
                round(y * 1000),
                round(theta * 180 / 3.141592653589793, 3),
            )
        else:
            start = None
        try:
            route = v.build_route(
                remaining,
                start=start,
                declared=self._declared(r),
                walk=self.walk,
                hold_for_technician=self.hold,
                split_before=r.split_before,
            )
        except v.VdaError as exc:
            for s in remaining:
                self._set(r, s.id, "blocked", {"error": str(exc)})
            return
        r.route = route
        r.action_steps = route.action_steps()
        if start is None and not all([self._releasable(r, s) for s in route.stops[0].step_ids]):
            # no stand-still node to send: the first stop carries work that must wait
            r.order_id = None
            return
        self._start_segment(r, 0, self.window if start is not None else self.window - 1)

    def _start_segment(self, r: _Robot, first: int, window: int) -> None:
        """A new orderId from stop ``first`` (where the robot stands, or the first stop)."""
        assert r.route is not None
        r.orders_sent += 1
        r.prev_order_id = r.order_id
        r.order_id = f"{self.order_prefix}-{r.serial}-{r.orders_sent}"
        r.update_id = 0
        r.seen = {}
        r.seg_first = first
        r.seg_end = r.route.segment_end(first, self.order_actions)
        r.base_end = self._gate(r, first, min(r.seg_end, first + window))
        r.here = None
        self._send_order(r, first=first)

    def _send_order(self, r: _Robot, first: int) -> None:
        try:
            msg = v.build_order(
                r.route,
                self._header(r, "order"),
                order_id=r.order_id,
                map_id=self.map_id,
                order_update_id=r.update_id,
                first=first,
                base_end=r.base_end,
                horizon_end=r.seg_end,
                max_stops=self.order_stops,
                max_bytes=self.order_bytes,
                skip_steps=r.withdrawn,
            )
        except v.VdaError as exc:  # one stop's work does not fit the order budget
            for sid in r.order:
                if r.status[sid] not in FINAL:
                    self._set(r, sid, "blocked", {"error": str(exc)})
            return
        r.base_end = v.released_end(msg)
        r.here = None  # until a state shows the robot holds this message
        r.last_message = msg
        r.sent_at = time.monotonic()
        self._publish(r, "order", msg)
        log.info(
            "robot %s: order %s update %d, stops %d..%d released, %d in the message",
            r.serial,
            r.order_id,
            r.update_id,
            first,
            r.base_end,
            len(msg["nodes"]),
        )

    # ------------------------------------------------------------ receiving

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("bridge: broker refused the connection: %s", reason_code)
            return
        client.subscribe(
            [
                (f"{v.INTERFACE}/{v.MAJOR}/+/+/state", 0),
                (f"{v.INTERFACE}/{v.MAJOR}/+/+/connection", 1),
                (f"{v.INTERFACE}/{v.MAJOR}/+/+/factsheet", 0),
            ]
        )
        with self._lock:
            for r in self.robots.values():  # after a broker restart: what does each robot hold?
                r.sent_at = 0.0
                self._publish(
                    r,
                    "instantActions",
                    v.build_instant_actions(
                        self._header(r, "instantActions"),
                        [v.state_request(f"state-{r.ids.next('stateRequest')}")],
                    ),
                )
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        if reason_code.is_failure:
            log.warning("bridge: lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, msg):
        try:
            self.handle(msg.topic, msg.payload)
        except Exception:  # the MQTT thread must survive anything
            self.dropped += 1
            log.exception("bridge: dropped message on %s after an internal error", msg.topic[:200])

    def handle(self, topic: str, payload: bytes) -> None:
        """Process one message (public so tests and other transports can feed it)."""
        self.received += 1
        where = v.split_topic(topic)
        if where is None:
            return self._drop(topic, "not a VDA 5050 v2 topic")
        manufacturer, serial, name = where
        with self._lock:
            r = self.robots.get((manufacturer, serial))
            if r is None:
                return  # a robot of another dispatcher: not ours
            if len(payload) > self.max_message_bytes:
                return self._drop(
                    topic,
                    f"{len(payload):,} bytes is over the {self.max_message_bytes:,}-byte limit",
                )
            try:
                if name == "state":
                    state = v.parse_state(payload, max_bytes=self.max_message_bytes)
                    self._check_sender(state.header, r)
                    self._on_state(r, state)
                elif name == "connection":
                    header, conn = v.parse_connection(payload)
                    self._check_sender(header, r)
                    self._on_connection(r, conn)
                elif name == "factsheet":
                    header, types = v.parse_factsheet(payload, max_bytes=self.max_message_bytes)
                    self._check_sender(header, r)
                    r.factsheet = types
                    self._refuse(r)
            except v.VdaError as exc:
                return self._drop(topic, str(exc))

    def _drop(self, topic: str, reason: str) -> None:
        self.dropped += 1
        log.warning("bridge: dropped message on %s: %s", topic[:200], reason[:300])

    @staticmethod
    def _check_sender(header: v.MessageHeader, r: _Robot) -> None:
        if (header.manufacturer, header.serial_number) != (r.manufacturer, r.serial):
            raise v.VdaError(
                f"header names robot {header.manufacturer[:40]}/{header.serial_number[:40]}, not the topic's {r.manufacturer}/{r.serial}"
            )

    def _on_connection(self, r: _Robot, conn: str) -> None:
        if conn == "ONLINE":
            r.online = True
            return
        r.online = False
        r.here = None  # nothing is released to a robot that is away
        # Keep order_id and route: a robot that comes back still running our order (a broker
        # restart) carries on; one that restarted reports no order and gets a fresh one.
        for sid in r.order:
            if r.status[sid] not in FINAL and r.status[sid] != "ready":
                self._set(r, sid, "ready", {"reason": f"robot {conn.lower()}"})
        log.warning("robot %s: %s; its unfinished steps are ready again", r.serial, conn)

    def _on_state(self, r: _Robot, state: v.RobotState) -> None:
        r.online = True
        if r.order_id is None or state.order_id != r.order_id:
            if r.order_id is not None and time.monotonic() - r.sent_at < self.resend_after_s:
                return  # our order is on its way
            if (
                state.order_id
                and state.order_id == r.prev_order_id
                and r.update_id == 0
                and r.last_message is not None
                and not any(e.error_type in REJECTIONS for e in state.errors)
            ):  # the next segment's order got lost: the same message again
                r.sent_at = time.monotonic()
                self._publish(r, "order", r.last_message)
                return
            if r.order_id is not None:
                self._rejected(r, state)
                if r.rejections > 3:
                    return
            self._send_new_order(r, state)
            return
        self._apply_actions(r, state)
        if state.order_update_id < r.update_id:
            if time.monotonic() - r.sent_at >= self.resend_after_s and r.last_message is not None:
                r.sent_at = time.monotonic()
                self._publish(r, "order", r.last_message)  # the update got lost: same message again
            return
        self._release(r, state)

    def _rejected(self, r: _Robot, state: v.RobotState) -> None:
        errs = [e for e in state.errors if e.error_type in REJECTIONS]
        if not errs:
            return
        r.rejections += 1
        if r.rejections > 3:
            reason = "; ".join(f"{e.error_type}: {e.description}" for e in errs)
            for sid in r.order:
                if r.status[sid] not in FINAL:
                    self._set(r, sid, "blocked", {"error": f"robot rejected its order: {reason}"})

    def _apply_actions(self, r: _Robot, state: v.RobotState) -> None:
        """Map the action states that changed since the robot's last state to step status
        (a state repeats every action of the order; usually one or two changed)."""
        assert r.route is not None
        seen = r.seen
        steps_of = r.action_steps
        touched: set[str] = set()
        for a in state.action_states:
            if seen.get(a.action_id) != a.status:
                sid = steps_of.get(a.action_id)
                if sid is not None:
                    seen[a.action_id] = a.status
                    touched.add(sid)
        if not touched:
            return
        for sid in sorted(touched, key=r.index.__getitem__):  # in execution order
            if r.status[sid] in FINAL:
                continue
            ids = r.route.step_actions[sid]
            statuses = [seen.get(a, "WAITING") for a in ids]
            status = v.step_status(statuses, r.route.step_confirm[sid])
            if status is None:
                continue
            detail = {
                "orderId": r.order_id,
                "actions": {a: s for a, s in zip(ids, statuses, strict=True)},
            }
            if status == "blocked":
                failed = [a for a, s in zip(ids, statuses, strict=True) if s == "FAILED"]
                errors_by_action = {aid: e for e in state.errors for aid in e.action_ids}
                results = {a.action_id: a.result for a in state.action_states if a.result}
                e = next((errors_by_action[a] for a in failed if a in errors_by_action), None)
                detail["error"] = (
                    e.description
                    if e and e.description
                    else (e.error_type if e else results.get(failed[0], "action failed"))
                )
            self._set(r, sid, status, detail)

    def _release(self, r: _Robot, state: v.RobotState) -> None:
        """A state of the current order and update: remember where the robot is, release more."""
        r.here = state.last_node_sequence_id // 2
        r.idle = (
            not state.node_sequence_ids
            and not state.driving
            and all(a.status in ("FINISHED", "FAILED") for a in state.action_states)
        )
        self._advance(r)

    def _advance(self, r: _Robot) -> None:
        """Release the next stops (up to ``window`` ahead of the robot, as far as their
        dependencies allow), or start the next orderId when this one is complete. Works from
        the robot's last state, so it also runs when a dependency becomes done."""
        if r.route is None or r.order_id is None or r.here is None:
            return  # no order, or the robot has not shown it holds the last message yet
        last = len(r.route.stops) - 1
        here = r.here
        if here == r.base_end == r.seg_end < last and r.idle:
            # this orderId is complete: the next stops go out as a new order from here
            self._start_segment(r, here, self.window)
            return
        want = min(r.seg_end, here + self.window)
        if want > r.base_end:
            want = self._gate(r, r.base_end, want)
        if want > r.base_end:
            first = r.base_end
            r.base_end = want
            r.update_id += 1
            self._send_order(r, first=first)


# ---------------------------------------------------------------- from a work plan


def assignments_from_plan(
    steps: Sequence[Step], team: Sequence, profiles: dict[str, RobotProfile]
) -> tuple[list[RobotAssignment], list[str]]:
    """Each robot of the team with its steps in plan order (by ``start_s`` when scheduled).

    ``team`` holds ``Assignee``-like values (``name``, ``profile``, ``kind``). Robots of one
    profile get serials from :func:`fieldops.adapters.mqtt.acl.fleet_serials` in name order.
    Returns the assignments and warnings (robots whose profile is unknown, robots without steps).
    """
    from fieldops.adapters.mqtt.acl import fleet_serials

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
            out.append(RobotAssignment(profile, tuple(mine), serial))
    return out, warnings


ASSUME_CHOICES = ("none", "technicians", "all")


def assumed_done(
    steps: Sequence[Step],
    team: Sequence,
    assignments: Sequence[RobotAssignment],
    who: str,
) -> frozenset[str]:
    """Step IDs a dispatch without people takes as done (``RobotBridge(assume_done=...)``).

    ``who``: ``none`` (nothing: the safe default), ``technicians`` (every step assigned to a
    technician of the team, and the technician's part of each dispatched robot+technician
    step) or ``all`` (every step not dispatched to a robot here, and those technician parts).
    """
    if who not in ASSUME_CHOICES:
        raise ValueError(f"assume-done must be one of {', '.join(ASSUME_CHOICES)}, not '{who}'")
    if who == "none":
        return frozenset()
    dispatched = {s.id: s for a in assignments for s in a.steps}
    out = {sid for sid, s in dispatched.items() if s.confirm == CONFIRM_ROBOT_AND_TECH}
    if who == "technicians":
        technicians = {a.name for a in team if a.kind == "technician"}
        out.update(s.id for s in steps if s.assignee in technicians)
    else:
        out.update(s.id for s in steps if s.id not in dispatched)
    return frozenset(out)


def never_released(
    assignments: Sequence[RobotAssignment],
    assume_done: Collection[str] = (),
    *,
    hold_for_technician: bool = False,
) -> dict[str, str]:
    """Dispatched robot steps that can never be released when nothing but these robots
    changes a step's status (``fieldops robots dispatch``: no technician confirms anything):
    step ID -> the step it ultimately waits for (a step of another assignee not assumed done,
    or a robot+technician step whose technician is not assumed). Pure; iterative, so long
    dependency chains are fine."""
    assume = frozenset(assume_done)
    dispatched = {s.id: s for a in assignments for s in a.steps}

    def finishes(d: str) -> bool:  # the robot alone makes it done
        s = dispatched[d]
        return s.confirm != CONFIRM_ROBOT_AND_TECH or hold_for_technician or d in assume

    blocker: dict[str, str | None] = {}  # step -> root cause, None: can run
    for root in dispatched:
        stack = [(root, False)]
        visiting: set[str] = set()
        while stack:
            cur, expanded = stack.pop()
            if cur in blocker:
                continue
            deps = dispatched[cur].depends_on
            if not expanded:
                if cur in visiting:
                    continue
                visiting.add(cur)
                stack.append((cur, True))
                stack.extend(
                    (d, False)
                    for d in deps
                    if d in dispatched and d not in blocker and d not in visiting
                )
                continue
            visiting.discard(cur)
            cause = None
            for d in deps:
                if d not in dispatched:
                    if d not in assume:
                        cause = d
                elif d not in blocker:  # a dependency cycle: never
                    cause = d
                elif blocker[d] is not None:
                    cause = blocker[d]
                elif not finishes(d):
                    cause = d
                if cause is not None:
                    break
            blocker[cur] = cause
    return {sid: cause for sid, cause in blocker.items() if cause is not None}
