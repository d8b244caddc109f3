"""What the dispatcher knows of one robot: its steps and their dependencies, what it reported
(its actions' states, kept across orders), what was sent to it."""

from __future__ import annotations

import json

from fieldops.core import vda5050 as v
from fieldops.core.robot_work import FINAL, RobotAssignment
from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH


class Robot:
    """What the dispatcher knows of one robot: its steps, what it reported, what was sent."""

    def __init__(self, a: RobotAssignment, *, hold_for_technician: bool, version: str):
        self.manufacturer = a.profile.manufacturer
        self.serial = a.serial
        self.name = a.assignee
        self.key = (a.profile.manufacturer, a.serial)
        self.profile = a.profile
        self.steps = {s.id: s for s in a.steps}
        self.order = [s.id for s in a.steps]
        # done/awaiting/blocked as the store knows them stay so (a restart sends no done work)
        self.status: dict[str, str | None] = {
            s.id: s.status if s.status in FINAL else None for s in a.steps
        }
        self.index = index = {sid: i for i, sid in enumerate(self.order)}
        # Dependencies: ``in_sequence`` are earlier steps of this robot that the robot itself
        # makes done (robot-only, or held with waitForTrigger): they run first in the same
        # order. Every other dependency (``needs``) must be done before the step is released.
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
        # every action a step may have, ever: its own ({id}:1..) and a stop's arrival ({id}:0)
        self.work_ids: dict[str, tuple[str, ...]] = {}
        self.when_finished: dict[str, str] = {}
        self.action_step: dict[str, str] = {}
        for s in a.steps:
            try:
                ids = v.work_action_ids(s, hold_for_technician=hold_for_technician)
            except v.VdaError:  # no robot action: refused when the dispatcher starts
                ids = ()
            self.work_ids[s.id] = ids
            for aid in (v.arrival_action_id(s.id), *ids):
                self.action_step[aid] = s.id
            holds = hold_for_technician and s.confirm == CONFIRM_ROBOT_AND_TECH
            self.when_finished[s.id] = (
                "awaiting_confirmation"
                if s.confirm == CONFIRM_ROBOT_AND_TECH and not holds
                else "done"
            )
        self.withdrawn: set[str] = set()  # reassigned away: their actions are not sent
        self.ledger: dict[str, str] = {}  # actionId -> the status the robot last reported
        self.results: dict[str, str] = {}  # actionId -> the robot's resultDescription
        self.profile_version = a.profile.vda_version or version
        self.version = self.profile_version
        self.factsheet: frozenset[str] | None = None
        self.ids = v.HeaderIds()
        self.online: bool | None = None  # None: not heard of yet
        self.last_state_at = 0.0
        # the current order, as sent and as the robot has shown it holds it
        self.route: v.Route | None = None
        self.order_id: str | None = None
        self.update_id = 0
        self.accepted = False  # a state showed the robot holds order_id
        self.held_end = 0  # the last stop of the base the robot has accepted
        self.base_end = 0
        self.seg_first = 0  # first stop of the current orderId
        self.seg_end = 0  # last stop the current orderId may reach
        self.here: int | None = None  # the stop it last reached (None: not known for this order)
        self.idle = False
        self.last_prepared: v.Prepared | None = None  # the last order or update, unstamped
        self.last_stamp: tuple[int, str] = (0, "")
        self._decoded: tuple[v.Prepared | None, dict | None] = (None, None)
        # prepare(): the first route and order, built before the robot reports in
        self.prepared_route: tuple[tuple[str, ...], v.Route] | None = None
        self.prepared_order: tuple[v.Route, int, v.EncodedOrder] | None = None
        self.sent_at = 0.0
        self.orders_sent = 0
        # a state that contradicted what the robot accepted, waiting for the next one to agree
        self.suspect: str | None = None
        self.cancelled: str | None = None  # the orderId fieldops sent cancelOrder for
        self.errors_seen: set[tuple] = set()
        self.rejection: dict | None = None  # {order, update, steps, problem}
        self.logged: set[tuple] = set()

    @property
    def last_message(self) -> dict | None:
        """The last order or update sent, as a message (decoded once from its bytes)."""
        if self._decoded[0] is not self.last_prepared:
            msg = (
                json.loads(self.last_prepared.stamp(*self.last_stamp))
                if self.last_prepared is not None
                else None
            )
            self._decoded = (self.last_prepared, msg)
        return self._decoded[1]

    def confirm_action(self, step_id: str) -> str | None:
        """The step's waitForTrigger action ID, if it has one."""
        ids = self.work_ids.get(step_id, ())
        step = self.steps[step_id]
        types = v.KIND_ACTIONS.get(step.kind, ())
        return ids[-1] if len(ids) > len(types) else None
