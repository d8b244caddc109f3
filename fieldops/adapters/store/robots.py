"""The store's side of the robot bridge (a mixin of ``Store``): robot step status in batches
(one transaction for many states), one problem for a robot's rejected order or its loss, the
steps such a problem held released again, and robots online or lost for the lead.

Robots' connections are events (``robot_connection``: actor = the robot's name in the team,
data = serial, state, reason): the event log is the truth, every worker reads it, and the lead
dashboard refreshes on it like on any other event. The latest per robot is kept per process
and brought up to date from the events after the last one read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence

from sqlalchemy import bindparam, func, insert, select, update

from fieldops.adapters.store.models import ConfirmationRow, EventRow, StepRow
from fieldops.core import floorrules as rules
from fieldops.core.errors import NotFound
from fieldops.core.workorder import STATUSES

T_CONF = ConfirmationRow.__table__
T_EVENT = EventRow.__table__
T_STEP = StepRow.__table__
# what a robot report reads of a step: plain columns only (the JSON ones cost a decode each,
# most of a batch's time at fleet rates)
REPORT_COLS = [
    T_STEP.c[name]
    for name in (
        "id",
        "step_id",
        "status",
        "status_detail",
        "version",
        "assignee",
        "confirm",
        "phase",
        "rack",
    )
]
MAX_NOTE = 2000  # as the repository's
MAX_NAME = 100
CONNECTION_EVENT = "robot_connection"
# a robot's report on a step: one statement for a whole batch (executemany)
UPDATE_STEP = (
    update(T_STEP)
    .where(T_STEP.c.id == bindparam("pk"))
    .values(
        status=bindparam("b_status"),
        status_detail=bindparam("b_detail"),
        updated_at=bindparam("b_at"),
        version=bindparam("b_version"),
    )
)


class _Batch:
    """The writes of robot reports, carried out together by ``RobotFloor._flush``."""

    __slots__ = ("steps", "confs", "events")

    def __init__(self) -> None:
        self.steps: list[dict] = []
        self.confs: list[dict] = []
        self.events: list[dict] = []


def _text(detail) -> str:
    """What the step's detail says to a person: the robot's error, why it is ready again, or
    which robot did it."""
    if isinstance(detail, dict):
        text = detail.get("error") or detail.get("reason") or detail.get("robot") or ""
    else:
        text = detail or ""
    return str(text).replace("\x00", "")[:MAX_NOTE]


class RobotFloor:
    """Robot operations of the store; uses the Store's transactions and step helpers."""

    @staticmethod
    def _not_found() -> type[Exception]:
        return NotFound

    def set_statuses(self, updates: Sequence[tuple[str, str, dict | str | None]]) -> None:
        """Many robot reports at once, in one transaction (the bridge's ingest batch): each as
        :meth:`Store.set_status` would record it. ``done`` records a robot confirmation once
        (done is final); ``blocked`` (a failed action) opens a problem with the robot's error;
        a repeated report changes nothing. Unknown steps are skipped."""
        updates = [u for u in updates if u[1] in STATUSES]
        if not updates:
            return
        rev = self._active()
        ids = sorted({u[0] for u in updates})
        with self._write() as conn:
            now = self.clock()
            rows: dict[str, dict] = {}
            for k in range(0, len(ids), 500):  # one statement per 500 steps, locked (PG)
                q = select(*REPORT_COLS).where(
                    T_STEP.c.revision_id == rev["id"], T_STEP.c.step_id.in_(ids[k : k + 500])
                )
                if self.dialect == "postgresql":
                    q = q.with_for_update(of=T_STEP)
                rows.update((r["step_id"], dict(r)) for r in conn.execute(q).mappings())
            batch = _Batch()
            for step_id, status, detail in updates:
                row = rows.get(step_id)
                if row is not None and self._robot_status(
                    conn, rev, row, status, detail, now, batch
                ):
                    # a later report of the same step in this batch sees this one
                    row.update(status=status, status_detail=_text(detail))
                    row["version"] += 1
            self._flush(conn, batch)

    def _robot_report(self, conn, rev: dict, row, status: str, detail, now: float) -> None:
        """One robot report (``Store.set_status``), by the same rules as a batch."""
        batch = _Batch()
        self._robot_status(conn, rev, row, status, detail, now, batch)
        self._flush(conn, batch)

    def _robot_status(
        self, conn, rev: dict, row, status: str, detail, now: float, batch: _Batch
    ) -> bool:
        """One robot report on a step read (and locked) in this transaction, its writes added
        to ``batch``; False when it changes nothing."""
        text = _text(detail)
        if row["status"] == rules.DONE or (
            row["status"] == status and row["status_detail"] == text
        ):
            return False  # done is final; a repeated or late robot report changes nothing
        actor = row["assignee"] or "robot"
        reporter = detail.get("robot") if isinstance(detail, dict) else None
        if reporter and row["confirm"] not in rules.ROBOT_RULES:
            # handed to a person while the robot still had it: the record names the robot
            actor = str(reporter)[:MAX_NAME]
        evidence = detail if isinstance(detail, dict) else ({"detail": text} if text else {})
        batch.steps.append(
            {
                "pk": row["id"],
                "b_status": status,
                "b_detail": text,
                "b_at": now,
                "b_version": row["version"] + 1,
            }
        )
        if status == rules.DONE:
            batch.confs.append(
                {
                    "client_id": f"robot:{rev['id']}:{row['step_id']}"[:100],
                    "step": row["id"],
                    "actor": actor,
                    "how": "robot",
                    "at": now,
                    "codes": [],
                    "evidence": json.loads(json.dumps(evidence, default=str)),
                }
            )
        if status == rules.BLOCKED and row["status"] != rules.BLOCKED:
            self._open_problem(
                conn,
                rev,
                row,
                kind="other",
                note=f"robot: {text or 'action failed'}",
                actor=actor,
                now=now,
                prev_status="pending",
                event_note=text,
            )
        batch.events.append(
            {
                "at": self.clock(),
                "hall": rev["hall"],
                "kind": "step_status",
                "step_id": row["step_id"],
                "actor": actor,
                "data": {
                    "assignee": row["assignee"],
                    "phase": row["phase"],
                    "rack": row["rack"],
                    "status": status,
                    "detail": text,
                    "previous": row["status"],
                },
            }
        )
        return True

    def _flush(self, conn, batch: _Batch) -> None:
        """A batch's writes: one statement each for the steps, confirmations and events (the
        events told to the listeners after the commit, as every event is)."""
        if batch.steps:
            conn.execute(UPDATE_STEP, batch.steps)
        if batch.confs:
            conn.execute(insert(T_CONF), batch.confs)
        if batch.events:
            ids = conn.execute(
                insert(T_EVENT).returning(T_EVENT.c.id, sort_by_parameter_order=True),
                batch.events,
            ).scalars()
            for event_id, ev in zip(ids, batch.events, strict=True):
                self._queue_event(conn, event_id, ev)

    def _locked_rows(self, conn, rev: dict, step_ids: Sequence[str]):
        """Each known step of ``step_ids``, read and locked in this transaction (unknown ones
        skipped: a robot may name steps of a plan loaded since)."""
        for step_id in step_ids:
            try:
                yield self._lock_step(conn, rev["id"], step_id)
            except self._not_found():
                continue

    def robot_problem(
        self, robot: str, step_ids: Sequence[str], reason: str, *, block: bool
    ) -> int | None:
        """One problem for the lead about a robot (its rejected order, its loss), on the first
        of ``step_ids`` that is not done; with ``block`` every one of them that is not done goes
        to blocked with ``reason`` (one problem for one cause, not one per step). Returns the
        problem's ID (None: no step to hang it on)."""
        reason = str(reason).replace("\x00", "")[:MAX_NOTE]
        rev = self._active()
        pid = None
        with self._write() as conn:
            now = self.clock()
            for row in self._locked_rows(conn, rev, step_ids):
                if row["status"] == rules.DONE:
                    continue
                if pid is None:
                    pid = self._open_problem(
                        conn,
                        rev,
                        row,
                        kind="other",
                        note=reason,
                        actor=str(robot)[:MAX_NAME],
                        now=now,
                        prev_status="pending",
                    )
                if block and row["status"] != rules.BLOCKED:
                    self._change_step(conn, row, now, status=rules.BLOCKED, status_detail=reason)
                    self._step_event(
                        conn,
                        "step_status",
                        rev,
                        row,
                        str(robot)[:MAX_NAME],
                        status=rules.BLOCKED,
                        detail=reason,
                        previous=row["status"],
                    )
                if not block:
                    break
        return pid

    def unblock_steps(self, step_ids: Sequence[str]) -> list[str]:
        """Steps a resolved robot problem held: each still blocked with no open problem of its
        own goes back to pending. Returns those released."""
        rev = self._active()
        out = []
        with self._write() as conn:
            now = self.clock()
            for row in self._locked_rows(conn, rev, step_ids):
                if row["status"] != rules.BLOCKED or self._open_problems(conn, row["id"]):
                    continue
                self._change_step(conn, row, now, status="pending", status_detail="")
                self._step_event(
                    conn, "step_status", rev, row, "robot", status="pending", previous=row["status"]
                )
                out.append(row["step_id"])
        return out

    @staticmethod
    def _open_problems(conn, step_row_id: int) -> int:
        from fieldops.adapters.store.models import ProblemRow

        t = ProblemRow.__table__
        return conn.execute(
            select(func.count()).where(t.c.step == step_row_id, t.c.status == "open")
        ).scalar()

    def robot_connection(self, robot: str, serial: str, state: str, reason: str = "") -> None:
        """A robot came online or was lost: an event the lead dashboard shows."""
        rev = self.active_revision()
        if rev is None:
            return
        with self._write() as conn:
            self._event(
                conn,
                CONNECTION_EVENT,
                hall=rev["hall"],
                actor=str(robot)[:MAX_NAME],
                data={
                    "serial": str(serial)[:MAX_NAME],
                    "state": str(state)[:20],
                    "reason": str(reason)[:MAX_NOTE],
                },
            )

    def robot_connections(self) -> dict[str, dict]:
        """The latest connection of every robot of the active hall that reported one:
        name -> ``{"state": online|offline, "reason", "serial", "at"}``."""
        rev = self.active_revision()
        if rev is None:
            return {}
        lock = self.__dict__.setdefault("_robot_links_lock", threading.Lock())
        with lock:
            cache = self.__dict__.get("_robot_links")
            if cache is None or cache["hall"] != rev["hall"]:
                cache = self.__dict__["_robot_links"] = {
                    "hall": rev["hall"],
                    "after": 0,
                    "links": {},
                }
            with self._read() as conn:
                top = conn.execute(select(func.max(T_EVENT.c.id))).scalar() or 0
                rows = conn.execute(
                    select(T_EVENT.c.actor, T_EVENT.c.data, T_EVENT.c.at)
                    .where(
                        T_EVENT.c.id > cache["after"],
                        T_EVENT.c.id <= top,
                        T_EVENT.c.kind == CONNECTION_EVENT,
                        T_EVENT.c.hall == rev["hall"],
                    )
                    .order_by(T_EVENT.c.id)
                ).all()
            cache["after"] = top
            for actor, data, at in rows:
                data = data if isinstance(data, dict) else {}
                cache["links"][actor] = {
                    "state": str(data.get("state", "")),
                    "reason": str(data.get("reason", "")),
                    "serial": str(data.get("serial", "")),
                    "at": at,
                }
            return {k: dict(v) for k, v in sorted(cache["links"].items())}
