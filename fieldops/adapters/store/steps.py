"""Reading steps: one, all, an assignee's queue and next step, where a code belongs."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, case, or_, select
from sqlalchemy.engine import Connection

from fieldops.adapters.store.statements import (
    CODE_HOMES,
    CONFS_OF_STEP,
    LAST_DONE,
    LOCK_STEP,
    NEXT_STEP,
    PROBLEMS_OF_STEP,
    STEP_COLS,
    T_STEP,
    _check_for,
)
from fieldops.core import floorrules as rules
from fieldops.core.errors import NotFound


class Steps:
    """Reading steps: one, all, an assignee's queue and next step, where a code belongs."""

    # ------------------------------------------------------------ steps

    def _step_dict(self, row, status_of: dict[str, str] | None = None) -> dict:
        d = {
            k: row[k]
            for k in (
                "step_id",
                "seq",
                "wo_seq",
                "workorder",
                "phase",
                "kind",
                "title",
                "instruction",
                "rack",
                "location_id",
                "face",
                "u",
                "x_mm",
                "y_mm",
                "confirm",
                "expect_codes",
                "parts",
                "depends_on",
                "duration_s",
                "assignee",
                "planned_assignee",
                "checker",
                "check_seq",
                "check_path",
                "cable",
                "status",
                "status_detail",
                "updated_at",
                "version",
                "path",
            )
        }
        d["id"] = d.pop("step_id")
        if status_of is not None:
            d["state"] = rules.display_status(d["status"], d["depends_on"], status_of)
            d["ready"] = rules.is_ready(d["status"], d["depends_on"], status_of)
        return d

    def _statuses(self, conn: Connection, rid: int, ids: Iterable[str]) -> dict[str, str]:
        ids = sorted(set(ids))
        out: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            out.update(
                dict(
                    conn.execute(
                        select(T_STEP.c.step_id, T_STEP.c.status).where(
                            T_STEP.c.revision_id == rid, T_STEP.c.step_id.in_(chunk)
                        )
                    ).all()
                )
            )
        return out

    def step(self, step_id: str, *, crew: str | None = None) -> dict:
        """One step with ``blocking`` (its dependencies not done), its confirmations and
        problems. ``crew``: a technician's, who sees the steps they may act on only."""
        rid = self._rid()
        with self._read() as conn:
            row = conn.execute(LOCK_STEP, {"rid": rid, "sid": step_id}).mappings().first()
            if row is None:
                raise NotFound(f"no step '{step_id}' in the active plan")
            self._check_crew(conn, rid, row, crew, checks=True)
            status_of = (
                self._statuses(conn, rid, row["depends_on"])
                if row["unmet"]
                else dict.fromkeys(row["depends_on"], rules.DONE)
            )
            d = self._step_dict(row, status_of)
            d["blocking"] = sorted(
                dep for dep in row["depends_on"] if status_of.get(dep) != rules.DONE
            )
            d["confirmations"] = [
                self._conf_dict(c)
                for c in conn.execute(CONFS_OF_STEP, {"pk": row["id"]}).mappings()
            ]
            d["problems"] = [
                self._problem_dict(p, row["step_id"])
                for p in conn.execute(PROBLEMS_OF_STEP, {"pk": row["id"]}).mappings()
            ]
            d["readings"] = self._reading_spec(conn, row)  # a loop test's readings to enter
        return d

    def steps(
        self,
        *,
        status: str | None = None,
        assignee: str | None = None,
        phase: str | None = None,
        rack: str | None = None,
        open_only: bool = False,
        limit: int = 500,
        offset: int = 0,
    ) -> list[dict]:
        """Steps in plan order; ``open_only``: those not done yet."""
        rid = self._rid()
        q = select(*STEP_COLS).where(T_STEP.c.revision_id == rid)
        if status:
            q = q.where(T_STEP.c.status == status)
        if open_only:
            q = q.where(T_STEP.c.status != rules.DONE)
        if assignee is not None:
            q = q.where(T_STEP.c.assignee == assignee)
        if phase:
            q = q.where(T_STEP.c.phase == phase)
        if rack:
            q = q.where(T_STEP.c.rack == rack)
        q = q.order_by(T_STEP.c.seq).limit(max(1, min(limit, 5000))).offset(max(0, offset))
        with self._read() as conn:
            rows = conn.execute(q).mappings().all()
            status_of = self._statuses(conn, rid, [d for r in rows for d in r["depends_on"]])
        return [self._step_dict(r, status_of) for r in rows]

    def queue(self, assignee: str, *, limit: int = 200) -> list[dict]:
        """The assignee's open steps in their work order, each with ``ready``."""
        rid = self._rid()
        with self._read() as conn:
            rows = conn.execute(self._queue_query(rid, assignee).limit(limit)).mappings().all()
            status_of = self._statuses(conn, rid, [d for r in rows for d in r["depends_on"]])
        return [self._step_dict(r, status_of) for r in rows]

    def _queue_query(self, rid: int, assignee: str):
        """The assignee's open, blocked and failed steps and the robots' work waiting for
        their check, in the assignee's sequence as the plan decided it (their own steps and
        their checks interleaved)."""
        place = case((T_STEP.c.assignee == assignee, T_STEP.c.wo_seq), else_=T_STEP.c.check_seq)
        return (
            select(*STEP_COLS)
            .where(
                T_STEP.c.revision_id == rid,
                or_(
                    and_(
                        T_STEP.c.assignee == assignee,
                        T_STEP.c.status.in_(rules.OPEN_STATUSES + (rules.BLOCKED, rules.FAILED)),
                    ),
                    _check_for(assignee),
                ),
            )
            .order_by(place, T_STEP.c.seq)
        )

    def next_step(self, assignee: str) -> dict | None:
        """The assignee's step to do now: the one in progress whose dependencies are done, else
        the first step of their queue that is ready (every step it depends on done)."""
        rid = self._rid()
        params = {"rid": rid, "who": assignee}
        with self._read() as conn:
            row = conn.execute(NEXT_STEP, params).mappings().first()
            if row is None:
                return None
            readings = self._reading_spec(conn, row)
        # found by the query only when every dependency is done
        d = self._step_dict(row, dict.fromkeys(row["depends_on"], rules.DONE))
        d["readings"] = readings
        return d

    def previous_point(self, assignee: str) -> tuple[int, int] | None:
        """Where the assignee stands now: the stand-off point of the step they finished last."""
        rid = self._rid()
        with self._read() as conn:
            row = conn.execute(LAST_DONE, {"rid": rid, "who": assignee}).first()
        return (row[0], row[1]) if row else None

    def where_is(self, code: str) -> list[dict]:
        """The steps that expect a code: where a scanned cable or asset belongs."""
        rid = self._rid()
        with self._read() as conn:
            rows = conn.execute(CODE_HOMES, {"rid": rid, "code": code.upper()}).mappings().all()
        return [dict(r) for r in rows]

    def statuses(self, step_ids: Iterable[str]) -> dict[str, str]:
        """The current status of each of these steps of the active plan (unknown IDs left
        out): the robot bridge reads the steps its robots wait for through this."""
        rid = self._rid()
        with self._read() as conn:
            return self._statuses(conn, rid, step_ids)
