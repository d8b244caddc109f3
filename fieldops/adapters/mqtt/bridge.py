"""The robot bridge: a thin paho-mqtt shell around the sans-io robot dispatcher
(:mod:`fieldops.core.dispatcher`), fieldops as VDA 5050 master control over MQTT.

The dispatcher decides (orders, order updates, step status, problems, robots online or lost);
this module moves bytes and keeps time:

- the network thread only queues what arrives; an **ingest thread** drains the queue in
  batches, feeds every message to the dispatcher and hands the resulting step status to the
  :class:`StepSink` in **one call per batch** (``set_statuses``: one store transaction), so
  state ingest keeps up with the broker;
- a **re-check thread** reads the status of the steps robots wait for from the sink (a
  technician's confirmation made in another process) and lets time pass (a robot that sends
  no state for ``state_timeout_s`` is lost);
- the dispatcher's messages go out through paho (QoS and retain flag per topic, as VDA 5050
  prescribes), its log lines to :mod:`logging`.

After a broker restart (or any reconnect) the bridge asks every robot for its state.
Malformed, oversized, spoofed or otherwise hostile messages are dropped with one log line;
they never stop the bridge.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from fieldops.adapters.mqtt import connect, make_client
from fieldops.core import dispatcher as d
from fieldops.core import vda5050 as v
from fieldops.core.robot_work import (  # noqa: F401 - the bridge's public names
    ASSUME_CHOICES,
    BAD,
    FINAL,
    WITHDRAWN,
    RobotAssignment,
    assumed_done,
    never_released,
)
from fieldops.outdir import atomic_write

log = logging.getLogger(__name__)

REJECTIONS = d.REJECTIONS
BATCH_MAX = 2000  # messages one ingest batch takes at most
GATHER_S = 0.02  # how long the ingest thread lets messages gather once woken
KEEPALIVE_S = 10


# ---------------------------------------------------------------- step status sinks


@runtime_checkable
class StepSink(Protocol):
    """Where step status goes, and where the bridge reads the status of the steps its robot
    steps depend on. The web app's store implements this too.

    ``set_status``: ``status`` is one of ``fieldops.core.workorder.STATUSES``; ``detail`` is
    JSON-ready (``robot``, ``orderId``, ``actions``: actionId -> status, ``error`` when
    blocked, ``reason`` when a lost robot's step is ready again).

    ``statuses(step_ids)``: the current status of each of those steps the sink knows (unknown
    IDs are left out; only ``"done"`` matters to the bridge). Called from the bridge's re-check
    thread, never while the bridge holds its lock, with the few steps robots wait for.

    Optional, found by name (a sink without them gets the plain calls above):

    - ``set_statuses([(step_id, status, detail), ...])``: many at once (one transaction);
    - ``robot_problem(robot, step_ids, reason, block=)``: one problem for the lead about a
      robot (its rejected order, its loss); with ``block`` the steps go to blocked with
      ``reason``;
    - ``unblock_steps(step_ids)``: steps a resolved robot problem held: back to pending;
    - ``robot_connection(robot, serial, state, reason)``: a robot online or lost.

    All must be quick and thread-safe."""

    def set_status(self, step_id: str, status: str, detail: dict) -> None: ...

    def statuses(self, step_ids: Iterable[str]) -> dict[str, str]: ...


class MemoryStepSink:
    """Keeps the latest status per step, the full history, problems and robot connections;
    tests wait on it."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.detail: dict[str, dict] = {}
        self.history: list[tuple[str, str]] = []
        self.problems: list[dict] = []
        self.connections: dict[str, tuple[str, str]] = {}  # robot -> (state, reason)
        self.batches = 0
        self._cond = threading.Condition()

    def set_status(self, step_id: str, status: str, detail: dict) -> None:
        with self._cond:
            self._set(step_id, status, detail)
            self._cond.notify_all()

    def _set(self, step_id: str, status: str, detail: dict) -> None:
        self.status[step_id] = status
        self.detail[step_id] = dict(detail)
        self.history.append((step_id, status))

    def set_statuses(self, updates: Sequence[tuple[str, str, dict]]) -> None:
        with self._cond:
            self.batches += 1
            for step_id, status, detail in updates:
                self._set(step_id, status, detail)
            self._cond.notify_all()

    def robot_problem(
        self, robot: str, step_ids: Sequence[str], reason: str, *, block: bool
    ) -> None:
        with self._cond:
            self.problems.append(
                {"robot": robot, "steps": list(step_ids), "reason": reason, "block": block}
            )
            if block:
                for sid in step_ids:
                    self._set(sid, "blocked", {"robot": robot, "error": reason})
            self._cond.notify_all()

    def unblock_steps(self, step_ids: Sequence[str]) -> None:
        with self._cond:
            for sid in step_ids:
                if self.status.get(sid) == "blocked":
                    self._set(sid, "pending", {})
            self._cond.notify_all()

    def robot_connection(self, robot: str, serial: str, state: str, reason: str) -> None:
        with self._cond:
            self.connections[robot] = (state, reason)
            self._cond.notify_all()

    def statuses(self, step_ids: Iterable[str]) -> dict[str, str]:
        with self._cond:
            return {s: self.status[s] for s in step_ids if s in self.status}

    def wait_for(self, predicate: Callable[[MemoryStepSink], bool], timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)


class JsonFileStepSink:
    """Writes ``{"schema": "fieldops.stepstatus/1", "steps": {id: {"status", "detail"}},
    "problems": [...], "robots": {name: {"state", "reason"}}}`` atomically (temp file +
    rename), at most every ``interval_s`` and on ``close()``."""

    SCHEMA = "fieldops.stepstatus/1"

    def __init__(self, path: str | Path, interval_s: float = 0.5) -> None:
        self.path = Path(path)
        self.interval_s = interval_s
        self.steps: dict[str, dict] = {}
        self.problems: list[dict] = []
        self.robots: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._written = 0.0
        self._dirty = False

    def set_status(self, step_id: str, status: str, detail: dict) -> None:
        self.set_statuses([(step_id, status, detail)])

    def set_statuses(self, updates: Sequence[tuple[str, str, dict]]) -> None:
        with self._lock:
            for step_id, status, detail in updates:
                self.steps[step_id] = {"status": status, "detail": detail}
            self._changed()

    def robot_problem(
        self, robot: str, step_ids: Sequence[str], reason: str, *, block: bool
    ) -> None:
        with self._lock:
            self.problems.append({"robot": robot, "steps": list(step_ids), "reason": reason})
            if block:
                for sid in step_ids:
                    self.steps[sid] = {
                        "status": "blocked",
                        "detail": {"robot": robot, "error": reason},
                    }
            self._changed()

    def robot_connection(self, robot: str, serial: str, state: str, reason: str) -> None:
        with self._lock:
            self.robots[robot] = {"serial": serial, "state": state, "reason": reason}
            self._changed()

    def statuses(self, step_ids: Iterable[str]) -> dict[str, str]:
        with self._lock:
            return {s: self.steps[s]["status"] for s in step_ids if s in self.steps}

    def _changed(self) -> None:
        self._dirty = True
        if time.monotonic() - self._written >= self.interval_s:
            self._write()

    def _write(self) -> None:
        doc = {"schema": self.SCHEMA, "steps": {k: self.steps[k] for k in sorted(self.steps)}}
        if self.problems:
            doc["problems"] = self.problems
        if self.robots:
            doc["robots"] = self.robots
        text = json.dumps(doc, indent=1, sort_keys=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, text + "\n", mode=0o600)
        self._written = time.monotonic()
        self._dirty = False

    def close(self) -> None:
        with self._lock:
            if self._dirty or not self.path.exists():
                self._write()


# ---------------------------------------------------------------- the bridge


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
        walks=None,
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
        state_timeout_s: float = d.STATE_TIMEOUT_S,
        keepalive_s: int = KEEPALIVE_S,
    ):
        """``version``: the VDA 5050 version of robots whose profile (``vda_version``) and
        factsheet do not say. ``walks`` (``fieldops.core.walking.FootprintWalks``): each
        robot's legs on its own footprint's walking graph. ``assume_done``: step IDs whose
        work is taken as done without asking the sink (``fieldops robots dispatch
        --assume-done``). ``recheck_s``: how often the status of the steps robots wait for is
        read again from the sink (besides :meth:`notify_step_changed`)."""
        if not recheck_s > 0:
            raise ValueError("recheck_s must be above 0")
        self.dispatcher = d.Dispatcher(
            assignments,
            map_id=map_id,
            version=version,
            window=window,
            walk=walk,
            walks=walks,
            hold_for_technician=hold_for_technician,
            resend_after_s=resend_after_s,
            max_message_bytes=max_message_bytes,
            order_prefix=order_prefix,
            order_stops=order_stops,
            order_bytes=order_bytes,
            order_actions=order_actions,
            assume_done=assume_done,
            state_timeout_s=state_timeout_s,
        )
        self.robots = self.dispatcher.robots
        self.map_id = map_id
        self.version = version
        self.sink = sink
        self.clock = clock
        self.recheck_s = recheck_s
        self.keepalive_s = keepalive_s
        self._lock = threading.RLock()
        self._done = threading.Condition(self._lock)
        self._inbox: deque[tuple[str, bytes]] = deque()
        self._ingest_idle = True
        self._ingest_wake = threading.Event()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._no_statuses_logged = False
        self.processed = 0  # messages the dispatcher has been fed
        self.client = make_client(broker_url, client_id, username=username, password=password)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.connected = threading.Event()
        with self._lock:
            self._apply(self.dispatcher.take())  # steps refused at once (undeclared)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> RobotBridge:
        with self._lock:  # every robot's first order, built before it reports in
            self.dispatcher.prepare()
        self._stopping.clear()
        for name, target in (("ingest", self._ingest_loop), ("recheck", self._recheck_loop)):
            t = threading.Thread(target=target, name=f"fieldops-bridge-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        connect(self.client, keepalive=self.keepalive_s)
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._ingest_wake.set()
        self.client.disconnect()
        self.client.loop_stop()
        for t in self._threads:
            t.join(10)
        self._threads = []

    def wait(self, timeout: float) -> bool:
        """True when every step is final (done, awaiting confirmation, blocked) in time."""
        with self._done:
            return self._done.wait_for(self.dispatcher.all_final, timeout)

    # ------------------------------------------------------------ what the dispatcher knows

    @property
    def dropped(self) -> int:
        return self.dispatcher.dropped

    @property
    def received(self) -> int:
        return self.dispatcher.received

    def all_final(self) -> bool:
        with self._lock:
            return self.dispatcher.all_final()

    def counts(self) -> dict[str, int]:
        with self._lock:
            return self.dispatcher.counts()

    def waiting_for(self) -> list[str]:
        with self._lock:
            return self.dispatcher.waiting_for()

    def stalled(self) -> bool:
        with self._lock:
            return self.dispatcher.stalled()

    def _robot_by_serial(self, serial: str) -> d.Robot:
        return self.dispatcher.robot(serial)

    # ------------------------------------------------------------ what the shell tells

    def notify_step_changed(self, step_id: str | None = None) -> None:
        """A step's status changed somewhere else (a technician confirmed, the lead resolved a
        problem); ``None``: maybe several. Cheap and non-blocking, safe from any thread (also
        while the caller holds its own store lock): robots waiting for that step are
        re-checked at once on the bridge's re-check thread, which reads the sink."""
        self._wake.set()

    def reassigned(self, step_id: str, assignee: str) -> bool:
        """See :meth:`fieldops.core.dispatcher.Dispatcher.reassigned`."""
        return self._call(lambda now: self.dispatcher.reassigned(step_id, assignee, now))

    def problem_resolved(self, step_id: str) -> bool:
        """The lead resolved a problem on ``step_id`` (a store event): a robot's rejected
        order's steps are released and it gets a new order."""
        return self._call(lambda now: self.dispatcher.problem_resolved(step_id, now))

    def instant(self, serial: str, actions: Iterable[dict]) -> None:
        """Send instant actions (cancelOrder, startPause, ...) to one robot."""
        self._call(lambda now: self.dispatcher.instant(serial, list(actions), now))

    def confirm(self, step_id: str, confirmed_by: str) -> bool:
        """A technician confirmed a step whose robot waits for it (``waitForTrigger``)."""
        return self._call(lambda now: self.dispatcher.confirm(step_id, confirmed_by, now))

    def handle(self, topic: str, payload: bytes) -> None:
        """Process one message now (public so tests and other transports can feed it)."""
        self._process([(topic, payload)])

    def recheck(self) -> None:
        """Read the status of every step robots wait for and release what became possible;
        let time pass for the robots (run by the re-check thread; public for tests)."""
        with self._lock:
            ids = self.dispatcher.wants_status()
        got = self._read_statuses(ids) if ids else {}  # outside the lock: maybe a database
        with self._lock:
            now = self.clock()
            if got:
                self.dispatcher.statuses_read(got, now)
            self.dispatcher.tick(now)
            self._apply(self.dispatcher.take())

    def _call(self, fn):
        with self._lock:
            out = fn(self.clock())
            self._apply(self.dispatcher.take())
            return out

    # ------------------------------------------------------------ threads

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
        self._call(self.dispatcher.connected)  # after a broker restart: what does each hold?
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        if reason_code.is_failure:
            log.warning("bridge: lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, msg):
        # the network thread only queues: decoding and the sink are the ingest thread's
        self._inbox.append((msg.topic, msg.payload))
        if self._ingest_idle:
            self._ingest_idle = False
            self._ingest_wake.set()

    def _ingest_loop(self) -> None:
        inbox = self._inbox
        while not self._stopping.is_set():
            self._ingest_wake.wait(0.5)
            self._ingest_wake.clear()
            if 0 < len(inbox) < BATCH_MAX:
                # let a burst gather: one batch of many costs the lock, the sink and the GIL
                # hand-over once, not per message (a few ms on the status lag)
                time.sleep(GATHER_S)
            while inbox:
                batch = []
                try:
                    while len(batch) < BATCH_MAX:
                        batch.append(inbox.popleft())
                except IndexError:
                    pass
                self._process(batch)
            self._ingest_idle = True
            if inbox:  # arrived between the last drain and going idle
                self._ingest_idle = False
                self._ingest_wake.set()

    def _process(self, batch: list[tuple[str, bytes]]) -> None:
        with self._lock:
            now = self.clock()
            receive = self.dispatcher.receive
            for topic, payload in batch:
                try:
                    receive(topic, payload, now)
                except Exception:  # the bridge must survive anything
                    self.dispatcher.dropped += 1
                    log.exception(
                        "bridge: dropped message on %s after an internal error", topic[:200]
                    )
            self.processed += len(batch)
            self._apply(self.dispatcher.take())

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

    # ------------------------------------------------------------ effects

    def _apply(self, effects: list[d.Effect]) -> None:
        """Carry out the dispatcher's effects in order (called holding the lock); step status
        goes to the sink in one call per run of updates."""
        if not effects:
            return
        statuses: list[tuple[str, str, dict]] = []
        for e in effects:
            if isinstance(e, d.StepStatus):
                statuses.append((e.step_id, e.status, e.detail))
            elif isinstance(e, d.Publish):
                self._publish(e)
            elif isinstance(e, d.Log):
                getattr(log, e.level, log.info)("%s", e.message)
            else:
                self._flush(statuses)
                statuses = []
                self._sink_call(e)
        self._flush(statuses)
        self._done.notify_all()

    def _publish(self, e: d.Publish) -> None:
        info = self.client.publish(e.topic, e.payload, qos=e.qos, retain=e.retain)
        if info.rc != 0:
            log.info(
                "robot %s: %s not sent now (rc %s); re-sent when the robot's state shows it missing",
                e.serial,
                e.name,
                info.rc,
            )

    def _flush(self, statuses: list[tuple[str, str, dict]]) -> None:
        if not statuses:
            return
        try:
            batch = getattr(self.sink, "set_statuses", None)
            if batch is not None:
                batch(statuses)
            else:
                for step_id, status, detail in statuses:
                    self.sink.set_status(step_id, status, detail)
        except Exception:
            log.exception(
                "bridge: the step sink failed to record %d status change(s)", len(statuses)
            )

    def _sink_call(self, e: d.Effect) -> None:
        try:
            if isinstance(e, d.RobotProblem):
                problem = getattr(self.sink, "robot_problem", None)
                if problem is not None:
                    problem(e.robot, e.step_ids, e.reason, block=e.block)
                elif e.block:  # a plain sink: each step blocked with the reason
                    for sid in e.step_ids:
                        self.sink.set_status(sid, "blocked", {"robot": e.serial, "error": e.reason})
            elif isinstance(e, d.Unblock):
                unblock = getattr(self.sink, "unblock_steps", None)
                if unblock is not None:
                    unblock(e.step_ids)
                else:
                    for sid in e.step_ids:
                        self.sink.set_status(sid, "pending", {})
            elif isinstance(e, d.RobotConnection):
                conn = getattr(self.sink, "robot_connection", None)
                if conn is not None:
                    conn(e.robot, e.serial, e.state, e.reason)
        except Exception:
            log.exception("bridge: the step sink failed on %s", type(e).__name__)


# ---------------------------------------------------------------- from a work plan


def assignments_from_plan(steps, team, profiles):
    """See :func:`fieldops.adapters.mqtt.fleet.assignments_from_plan`."""
    from fieldops.adapters.mqtt.fleet import assignments_from_plan as plan

    return plan(steps, team, profiles)
