"""The robot dispatcher, sans-io: fieldops as VDA 5050 master control, without a network, a
clock or a database. It is fed what arrives (:meth:`Dispatcher.receive`: topic and payload
bytes), what the shell learns (:meth:`~Dispatcher.connected`, :meth:`~Dispatcher.tick`, the
status of steps robots wait for, reassignments, resolved problems) and the time (``now``,
epoch seconds); it answers with effects (:meth:`Dispatcher.take`): messages to publish, step
status, problems for the lead, robots online or lost, log lines. The MQTT shell
(``fieldops.adapters.mqtt.bridge``) carries them out.

What it decides (docs/robots.md has the long form):

- **Orders.** A robot's unfinished steps become a route of stops; only ``window`` stops are
  released ahead of it; an order update releases more as it goes and as the steps they depend
  on become done; one orderId holds at most ``order_actions`` actions, then the next stops
  go out as a new order from where the robot stands.
- **The robot's word is the truth** about its actions. Every action keeps its ID across
  orders (``{stepId}:{n}``); the action states a robot reports are kept per robot (never going
  back from FINISHED or FAILED), and an action reported FINISHED or FAILED is never sent
  again. A new orderId goes out only once the robot's state shows it has finished (or
  cancelled) the one before, as VDA 5050's order rules ask.
- **A state that contradicts what the robot accepted** (another or no orderId: a stale
  message, or a robot rebooted) changes nothing by itself: fieldops logs it once and asks the
  robot for its state; only when the next state says the same does it act. A robot running an
  order fieldops did not send becomes one problem and is sent ``cancelOrder``; an order of
  fieldops' own is left to finish (a horizon it waits on is cancelled).
- **A rejected order** (an ``order*Error``/``validationError`` naming it, or new since it was
  sent) becomes one problem naming the robot, the order and the robot's words, and the steps
  it carried go to blocked with that reason. When the lead resolves the problem the steps
  are released and the robot gets a new order.
- **A lost robot** (``OFFLINE``, its last will, or no state for ``state_timeout_s``) has its
  unfinished steps put back to ready with the reason, is shown offline, and a problem says
  which steps it had in hand.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from fieldops.core import vda5050 as v
from fieldops.core.dispatcher.effects import (
    Effect,
    Log,
    RobotConnection,
    RobotProblem,
    StepStatus,
    Unblock,
)
from fieldops.core.dispatcher.precedence import Precedence
from fieldops.core.dispatcher.robot import Robot
from fieldops.core.dispatcher.sending import Sending
from fieldops.core.robot_work import FINAL, WITHDRAWN, RobotAssignment

REJECTIONS = frozenset(
    {"orderError", "orderActionError", "orderUpdateError", "noRouteError", "validationError"}
)
_RANK = {"WAITING": 0, "INITIALIZING": 1, "RUNNING": 2, "PAUSED": 2, "FINISHED": 3, "FAILED": 3}
_FINAL_ACTIONS = v.FINAL_ACTION_STATUSES
STATE_TIMEOUT_S = 35.0  # VDA 5050 robots send a state at least every 30 s


class Dispatcher(Precedence, Sending):
    """Master control for a fleet, sans-io. Feed it, then :meth:`take` the effects."""

    def __init__(
        self,
        assignments: Sequence[RobotAssignment],
        *,
        map_id: str,
        version: str = v.DEFAULT_VERSION,
        window: int = 2,
        walk: v.Walk | None = None,
        walks=None,
        hold_for_technician: bool = False,
        resend_after_s: float = 2.0,
        max_message_bytes: int = v.MAX_MESSAGE_BYTES,
        order_prefix: str = "",
        order_stops: int = v.ORDER_MAX_STOPS,
        order_bytes: int = v.ORDER_MAX_BYTES,
        order_actions: int = v.ORDER_MAX_ACTIONS,
        assume_done: Collection[str] = (),
        state_timeout_s: float = STATE_TIMEOUT_S,
    ):
        """``walks``: an object with ``leg(width_mm, a_mm, b_mm)`` (``FootprintWalks``): each
        robot travels its own footprint's paths; ``walk(a_mm, b_mm)``: one walker for all
        (tests). Neither: edges carry no trajectory. ``assume_done``: step IDs taken as done
        without asking (``fieldops robots dispatch --assume-done``)."""
        v.check_version(version)
        if window < 1:
            raise ValueError("window must be 1 or more")
        if order_stops < 2:
            raise ValueError("an order must carry at least 2 stops")
        if not 1 <= order_bytes <= v.MAX_MESSAGE_BYTES:
            raise ValueError(f"the order byte budget must be 1..{v.MAX_MESSAGE_BYTES:,}")
        if order_actions < 1:
            raise ValueError("an order must be allowed at least 1 action")
        if not state_timeout_s > 0:
            raise ValueError("state_timeout_s must be above 0")
        self.map_id = map_id
        self.version = version
        self.window = window
        self.walk = walk
        self.walks = walks
        self.hold = hold_for_technician
        self.resend_after_s = resend_after_s
        self.max_message_bytes = max_message_bytes
        self.order_prefix = order_prefix or map_id
        self.order_stops = order_stops
        self.order_bytes = order_bytes
        self.order_actions = order_actions
        self.state_timeout_s = state_timeout_s
        self.robots: dict[tuple[str, str], Robot] = {}
        for a in assignments:
            key = (a.profile.manufacturer, a.serial)
            if key in self.robots:
                raise ValueError(f"robot {a.serial} is assigned twice")
            self.robots[key] = Robot(a, hold_for_technician=hold_for_technician, version=version)
        self.owner = {sid: r for r in self.robots.values() for sid in r.order}
        self.assume_done = frozenset(assume_done)
        # dependencies known done (done is final), and who waits for the others
        self._met: set[str] = {d for d in self.assume_done if d not in self.owner}
        self._met.update(
            sid for r in self.robots.values() for sid in r.order if r.status[sid] == "done"
        )
        self._waits: dict[str, set[tuple[str, str]]] = {}
        self._out: list[Effect] = []
        self._now = 0.0  # the time of the call being handled
        self.dropped = 0
        self.received = 0
        for r in self.robots.values():
            self._refuse(r)

    def take(self) -> list[Effect]:
        """The effects produced since the last call, in order."""
        out, self._out = self._out, []
        return out

    def _log(self, level: str, message: str) -> None:
        self._out.append(Log(level, message))

    def _log_once(self, r: Robot, key: tuple, level: str, message: str) -> None:
        if key not in r.logged:
            r.logged.add(key)
            self._log(level, message)

    def all_final(self) -> bool:
        return all(st in FINAL for r in self.robots.values() for st in r.status.values())

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.robots.values():
            for st in r.status.values():
                key = st or "ready"
                out[key] = out.get(key, 0) + 1
        return out

    def robot(self, serial: str) -> Robot:
        for r in self.robots.values():
            if r.serial == serial:
                return r
        raise KeyError(f"no robot {serial}")

    def connected(self, now: float) -> None:
        """The shell (re)connected to the broker: ask every robot what it holds."""
        self._now = now
        for r in self.robots.values():
            r.sent_at = 0.0
            self._state_request(r, now)

    def tick(self, now: float) -> None:
        """Time passes: a robot with steps in hand that has sent no state for
        ``state_timeout_s`` is taken as lost."""
        self._now = now
        for r in self.robots.values():
            late = r.last_state_at and now - r.last_state_at > self.state_timeout_s
            if r.online and late and self._in_hand(r):
                self._lost(r, f"no state for {now - r.last_state_at:.0f} s", now)

    def reassigned(self, step_id: str, assignee: str, now: float) -> bool:
        """The lead handed a step to ``assignee``. A step of these robots handed to anyone else
        is withdrawn: its actions are left out of every order from now on and the robot's
        later steps that depend on it wait for it to be done. True when withdrawn; False when
        it is not this dispatcher's, is final, stays with its robot, or the robot has it
        already (released in its order: it will do it)."""
        self._now = now
        r = self.owner.get(step_id)
        if r is None or r.status[step_id] in FINAL or r.steps[step_id].assignee == assignee:
            return False
        if self._released(r, step_id):
            self._log(
                "warning",
                f"robot {r.serial}: step {step_id} was reassigned to {assignee} but is in its order already",
            )
            return False
        r.withdrawn.add(step_id)
        r.status[step_id] = WITHDRAWN
        self._advance(r, now)  # a stop that waited only for this step may go now
        return True

    def problem_resolved(self, step_id: str, now: float) -> bool:
        """The lead resolved a problem on ``step_id``. When it is the problem of a robot's
        rejected order, the steps that order blocked are released (:class:`Unblock`) and the
        robot gets a new order from its next state. True when it was one."""
        self._now = now
        for r in self.robots.values():
            rej = r.rejection
            if rej is None or rej["problem"] != step_id:
                continue
            r.rejection = None
            for sid in rej["steps"]:
                if r.status[sid] == "blocked":
                    r.status[sid] = None
            self._out.append(Unblock(tuple(rej["steps"])))
            if rej["update"]:  # the robot still runs the base it accepted before
                r.update_id = rej["update"] - 1
                r.base_end = r.held_end
                self._advance(r, now)
            else:
                r.order_id, r.route, r.accepted = None, None, False
            self._state_request(r, now)
            self._log("info", f"robot {r.serial}: problem resolved; its steps are released")
            return True
        return False

    def confirm(self, step_id: str, confirmed_by: str, now: float) -> bool:
        """A technician confirmed a step whose robot waits for it (``waitForTrigger``)."""
        r = self.owner.get(step_id)
        if r is None or r.route is None:
            return False
        wait = r.confirm_action(step_id)
        if wait is None or wait not in r.route.step_actions.get(step_id, ()):
            return False
        self.instant(r.serial, [v.confirm_trigger(f"confirm-{wait}", wait, confirmed_by)], now)
        return True

    def instant(self, serial: str, actions: Iterable[dict], now: float) -> None:
        """Send instant actions (cancelOrder, startPause, ...) to one robot."""
        r = self.robot(serial)
        self._publish(
            r,
            "instantActions",
            v.encode(
                v.build_instant_actions(self._header(r, "instantActions", now), list(actions))
            ),
        )

    def receive(self, topic: str, payload: bytes, now: float) -> None:
        """One MQTT message. Malformed, oversized, spoofed or unknown ones are dropped with a
        log line; nothing raises."""
        self._now = now
        self.received += 1
        where = v.split_topic(topic)
        if where is None:
            return self._drop(topic, "not a VDA 5050 v2 topic")
        manufacturer, serial, name = where
        r = self.robots.get((manufacturer, serial))
        if r is None:
            return None  # a robot of another dispatcher: not ours
        if len(payload) > self.max_message_bytes:
            return self._drop(
                topic, f"{len(payload):,} bytes is over the {self.max_message_bytes:,}-byte limit"
            )
        try:
            if name == "state":
                state = v.parse_state(payload, max_bytes=self.max_message_bytes)
                self._check_sender(state.header, r)
                self._on_state(r, state, now)
            elif name == "connection":
                header, conn = v.parse_connection(payload)
                self._check_sender(header, r)
                self._on_connection(r, conn, now)
            elif name == "factsheet":
                header, types = v.parse_factsheet(payload, max_bytes=self.max_message_bytes)
                self._check_sender(header, r)
                self._on_factsheet(r, header, types)
        except v.VdaError as exc:
            return self._drop(topic, str(exc))
        return None

    def _drop(self, topic: str, reason: str) -> None:
        self.dropped += 1
        self._log("warning", f"bridge: dropped message on {topic[:200]}: {reason[:300]}")

    @staticmethod
    def _check_sender(header: v.MessageHeader, r: Robot) -> None:
        if (header.manufacturer, header.serial_number) != (r.manufacturer, r.serial):
            raise v.VdaError(
                f"header names robot {header.manufacturer[:40]}/{header.serial_number[:40]}, not the topic's {r.manufacturer}/{r.serial}"
            )

    def _on_factsheet(self, r: Robot, header: v.MessageHeader, types: frozenset[str]) -> None:
        r.factsheet = types
        if header.version in v.VERSIONS and header.version != r.version:
            self._log(
                "info",
                f"robot {r.serial}: its factsheet speaks VDA 5050 {header.version}; orders follow",
            )
            r.version = header.version
        self._refuse(r)

    def _on_connection(self, r: Robot, conn: str, now: float) -> None:
        if conn == "ONLINE":
            if r.online is not True:
                r.online = True
                r.last_state_at = now
                self._out.append(RobotConnection(r.serial, r.name, "online", ""))
            return
        why = "connection broken (last will)" if conn == "CONNECTIONBROKEN" else "offline"
        self._lost(r, why, now)

    def _lost(self, r: Robot, why: str, now: float) -> None:
        if r.online is False:
            return  # known already (a retained message again)
        in_hand = self._in_hand(r)
        r.online = False
        r.here = None  # nothing is released to a robot that is away
        text = f"robot {r.serial}: {why}"
        # Keep order_id and route: a robot that comes back still running our order (a broker
        # restart) carries on; one that restarted reports no order and gets a fresh one.
        for sid in r.order:
            if r.status[sid] not in FINAL and r.status[sid] not in (None, "ready"):
                self._set(r, sid, "ready", {"reason": text})
        self._out.append(RobotConnection(r.serial, r.name, "offline", text))
        if in_hand:
            shown = ", ".join(in_hand[:5]) + (
                f" and {len(in_hand) - 5} more" if len(in_hand) > 5 else ""
            )
            self._out.append(
                RobotProblem(
                    r.serial,
                    r.name,
                    tuple(in_hand),
                    f"{text}, with {len(in_hand)} step(s) in hand ({shown}); they are ready "
                    "again and go out in a new order when it is back",
                    block=False,
                )
            )
        self._log("warning", f"{text}; its unfinished steps are ready again")

    def _in_hand(self, r: Robot) -> list[str]:
        """Unfinished steps the robot has: started, or released in the order it holds."""
        return [
            sid
            for sid in r.order
            if r.status[sid] not in FINAL
            and (r.status[sid] == "in_progress" or (r.accepted and self._released(r, sid)))
        ]

    def _ours(self, r: Robot, order_id: str) -> bool:
        return order_id.startswith(f"{self.order_prefix}-{r.serial}-")

    def _on_state(self, r: Robot, s: v.RobotState, now: float) -> None:
        r.last_state_at = now
        if r.online is not True:
            r.online = True
            self._out.append(RobotConnection(r.serial, r.name, "online", ""))
        if s.header.version != r.version:
            self._log_once(
                r,
                ("version", s.header.version),
                "warning",
                f"robot {r.serial}: its state speaks VDA 5050 {s.header.version[:20]}, fieldops "
                f"sends {r.version} (the profile's vda_version or its factsheet decide)",
            )
        self._apply_actions(r, s)
        new_errors = self._new_errors(r, s)
        if r.rejection is not None:
            return  # the lead is told; nothing goes to this robot until it is resolved
        if r.order_id is not None and s.order_id == r.order_id:
            self._on_current(r, s, new_errors, now)
            return
        if self._rejected(r, new_errors):
            return
        if r.order_id is not None and not r.accepted and now - r.sent_at < self.resend_after_s:
            return  # our order is on its way
        if r.order_id is not None and r.accepted:
            # the robot held our current order; this state says otherwise: ask before acting
            if r.suspect != s.order_id:
                r.suspect = s.order_id
                self._log(
                    "warning",
                    f"robot {r.serial}: a state shows order '{s.order_id[:80]}' while it holds "
                    f"{r.order_id}; asking for its state before acting",
                )
                self._state_request(r, now)
                return
            self._log(
                "warning",
                f"robot {r.serial}: no longer holds order {r.order_id} (it reports "
                f"'{s.order_id[:80]}'); its unfinished work goes out in a new order",
            )
            r.suspect = None
            r.order_id, r.route, r.accepted = None, None, False
        self._on_other(r, s, now)

    def _on_current(
        self, r: Robot, s: v.RobotState, new_errors: list[v.RobotError], now: float
    ) -> None:
        """A state of the order fieldops sent last."""
        r.suspect = None
        r.cancelled = None
        r.accepted = True
        if s.order_update_id < r.update_id:
            if self._rejected(r, new_errors):
                return
            if now - r.sent_at >= self.resend_after_s and r.last_prepared is not None:
                self._resend(r, now)  # the update got lost: the same update again
            return
        r.held_end = r.base_end
        r.here = s.last_node_sequence_id // 2
        r.idle = s.done()
        self._advance(r, now)

    def _on_other(self, r: Robot, s: v.RobotState, now: float) -> None:
        """A state of an order that is not (or no longer) fieldops' current one."""
        ours = self._ours(r, s.order_id)
        if s.order_id and not s.idle():
            if ours:
                self._log_once(
                    r,
                    ("runs", s.order_id),
                    "info",
                    f"robot {r.serial}: still runs order {s.order_id[:80]}; the next order "
                    "goes out when it has finished",
                )
                return
            if r.suspect != s.order_id:
                r.suspect = s.order_id
                self._log(
                    "warning",
                    f"robot {r.serial}: runs order '{s.order_id[:80]}', which fieldops did not "
                    "send; asking for its state",
                )
                self._state_request(r, now)
                return
            if r.cancelled != s.order_id:
                r.cancelled = s.order_id
                self._problem(
                    r,
                    f"robot {r.serial} runs order '{s.order_id[:80]}', which fieldops did not "
                    "send; fieldops cancelled it (cancelOrder) and sends its own work once the "
                    "robot stands still",
                    block=False,
                )
                self.instant(r.serial, [v.cancel_order(f"cancel-{r.ids.next('cancel')}")], now)
            return
        if s.order_id and s.node_sequence_ids and r.cancelled != s.order_id:
            # standing at the end of an old order's base, waiting for an update that will
            # never come: cancel it before a new order
            r.cancelled = s.order_id
            self._log(
                "info",
                f"robot {r.serial}: order {s.order_id[:80]} waits on a horizon; cancelling it",
            )
            self.instant(r.serial, [v.cancel_order(f"cancel-{r.ids.next('cancel')}")], now)
            return
        if s.order_id and s.node_sequence_ids:
            return  # cancelling
        r.suspect = None
        if r.order_id is not None and not r.accepted and r.last_prepared is not None:
            self._resend(r, now)  # it never arrived: the same order again
            return
        if ours:  # continue the numbering after an order of a previous run
            tail = s.order_id.rsplit("-", 1)[-1]
            if tail.isdigit() and len(tail) < 10:
                r.orders_sent = max(r.orders_sent, int(tail))
        self._send_new_order(r, s, now)

    @staticmethod
    def _new_errors(r: Robot, s: v.RobotState) -> list[v.RobotError]:
        """Errors this state shows that the robot's earlier states did not."""
        if not s.errors:
            return []
        keys = {(e.error_type, e.description, e.order_id, e.order_update_id): e for e in s.errors}
        new = [e for k, e in keys.items() if k not in r.errors_seen]
        r.errors_seen.update(keys)
        if len(r.errors_seen) > 1000:  # errors a robot cleared long ago
            r.errors_seen = set(keys)
        return new

    def _rejected(self, r: Robot, new: list[v.RobotError]) -> bool:
        """A new rejection of what fieldops sent last: one problem, its steps blocked."""
        if r.order_id is None:
            return False
        for e in new:
            if e.error_type not in REJECTIONS:
                continue
            if e.order_id and e.order_id != r.order_id:
                continue
            if e.order_update_id is not None and e.order_id and e.order_update_id != r.update_id:
                continue
            self._reject(r, e)
            return True
        return False

    def _reject(self, r: Robot, e: v.RobotError) -> None:
        update = r.update_id if r.accepted else 0
        first = r.held_end + 1 if update else 0
        stops = r.route.stops if r.route is not None else ()
        not_held = {sid for i, st in enumerate(stops) if i >= first for sid in st.step_ids}
        steps = tuple(
            sid for sid in r.order if r.status[sid] not in FINAL and (not update or sid in not_held)
        )
        what = f"order {r.order_id}" + (f" update {update}" if update else "")
        reason = f"robot {r.serial} rejected {what}: {e.error_type}: {e.description or 'no reason given'}"
        if steps:
            r.rejection = {
                "order": r.order_id,
                "update": update,
                "steps": steps,
                "problem": steps[0],
            }
            for sid in steps:
                r.status[sid] = "blocked"
            self._out.append(RobotProblem(r.serial, r.name, steps, reason[:1000], block=True))
        self._log("warning", reason[:1000])

    def _problem(self, r: Robot, reason: str, *, block: bool) -> None:
        steps = tuple(sid for sid in r.order if r.status[sid] not in FINAL)
        self._out.append(
            RobotProblem(r.serial, r.name, steps[:1] if not block else steps, reason, block)
        )
        self._log("warning", reason)

    def _apply_actions(self, r: Robot, s: v.RobotState) -> None:
        """Keep what the robot reports of fieldops' actions (only ever forward) and map the
        actions that changed to step status."""
        if not (s.order_id == r.order_id or self._ours(r, s.order_id)):
            return  # another master's order: its action IDs are not ours
        ledger = r.ledger
        steps_of = r.action_step
        cancelled = s.order_id == r.cancelled
        touched: set[str] = set()
        for a in s.action_states:
            old = ledger.get(a.action_id)
            if old == a.status or old in _FINAL_ACTIONS:
                continue
            sid = steps_of.get(a.action_id)
            if sid is None:
                continue
            if _RANK[a.status] < _RANK.get(old, -1):
                continue  # an older report (a stale message)
            if cancelled and a.status == "FAILED" and old in (None, "WAITING"):
                continue  # never started: cancelled, not failed
            ledger[a.action_id] = a.status
            if a.result:
                r.results[a.action_id] = a.result
            touched.add(sid)
        if not touched:
            return
        for sid in sorted(touched, key=r.index.__getitem__):  # in execution order
            if r.status[sid] in FINAL:
                continue
            arrival = v.arrival_action_id(sid)
            ids = r.work_ids[sid] + ((arrival,) if arrival in ledger else ())
            statuses = [ledger.get(x, "WAITING") for x in ids]
            status = v.step_status(statuses, r.when_finished[sid])
            if status is None:
                continue
            detail = {
                "orderId": s.order_id,
                "actions": {a: st for a, st in zip(ids, statuses, strict=True)},
            }
            if status == "blocked":
                failed = [a for a, st in zip(ids, statuses, strict=True) if st == "FAILED"]
                errors_by_action = {aid: e for e in s.errors for aid in e.action_ids}
                e = next((errors_by_action[a] for a in failed if a in errors_by_action), None)
                detail["error"] = (
                    e.description
                    if e and e.description
                    else (e.error_type if e else r.results.get(failed[0], "action failed"))
                )
            self._set(r, sid, status, detail)

    def _set(self, r: Robot, step_id: str, status: str, detail: dict) -> None:
        if r.status.get(step_id) == status:
            return
        r.status[step_id] = status
        self._out.append(StepStatus(step_id, status, {"robot": r.serial, **detail}))
        if status == "done" or (status == "awaiting_confirmation" and step_id in self.assume_done):
            self._mark_met(step_id, self._now)
