"""Problems reported on steps: open, list, resolve."""

from __future__ import annotations

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from fieldops.adapters.store.statements import MAX_NOTE, T_PROBLEM, T_STEP, _clean
from fieldops.core import floorrules as rules
from fieldops.core.errors import Conflict, Invalid, NotFound


class Problems:
    """Problems reported on steps: open, list, resolve."""

    def report_problem(
        self, step_id: str, *, kind: str, note: str, actor: str, crew: str | None = None
    ) -> dict:
        """A technician's problem report: it blocks the step and alerts the lead."""
        if kind not in rules.PROBLEM_KINDS:
            raise Invalid(
                f"kind must be one of {', '.join(rules.PROBLEM_KINDS)}, not '{str(kind)[:40]}'"
            )
        note = _clean(note, "note", max_len=MAX_NOTE)
        if kind == "other" and not note:
            raise Invalid("say what is wrong in the note when the kind is 'other'")
        rev = self._active()  # one read: rid and hall from the same revision
        rid = rev["id"]
        with self._write() as conn:
            row = self._lock_step(conn, rid, step_id)
            self._check_crew(conn, rid, row, crew, checks=True)
            if row["status"] == rules.DONE:
                raise Conflict(
                    f"step {step_id} is already done; report a new problem to the lead directly"
                )
            now = self.clock()
            prev = (
                row["status"]
                if row["status"] != rules.BLOCKED
                else (
                    conn.execute(
                        select(T_PROBLEM.c.prev_status)
                        .where(T_PROBLEM.c.step == row["id"])
                        .order_by(T_PROBLEM.c.id)
                        .limit(1)
                    ).scalar()
                    or "pending"
                )
            )
            pid = self._open_problem(
                conn, rev, row, kind=kind, note=note, actor=actor, now=now, prev_status=prev
            )
            self._change_step(
                conn, row, now, status=rules.BLOCKED, status_detail=f"{kind}: {note}"[:MAX_NOTE]
            )
        return {
            "id": pid,
            "step_id": step_id,
            "kind": kind,
            "note": note,
            "reported_by": actor,
            "reported_at": now,
            "status": "open",
        }

    def _open_problem(
        self,
        conn: Connection,
        rev: dict,
        row,
        *,
        kind: str,
        note: str,
        actor: str,
        now: float,
        prev_status: str,
        event_note: str | None = None,
    ) -> int:
        """Record an open problem on a step (locked in this transaction) and tell the lead;
        ``prev_status`` is where the step goes back to once every problem is resolved."""
        pid = conn.execute(
            insert(T_PROBLEM).values(
                step=row["id"],
                kind=kind,
                note=note,
                reported_by=actor,
                reported_at=now,
                prev_status=prev_status,
                status="open",
                resolved_by="",
                resolution="",
            )
        ).inserted_primary_key[0]
        self._step_event(
            conn,
            "problem_reported",
            rev,
            row,
            actor,
            problem=pid,
            kind=kind,
            note=note if event_note is None else event_note,
        )
        return pid

    def _problem_dict(self, row, step_id: str) -> dict:
        d = {
            k: row[k]
            for k in (
                "id",
                "kind",
                "note",
                "reported_by",
                "reported_at",
                "status",
                "resolved_by",
                "resolved_at",
                "resolution",
            )
        }
        d["step_id"] = step_id
        return d

    def problems(self, *, status: str | None = "open") -> list[dict]:
        rid = self._rid()
        q = (
            select(
                T_PROBLEM,
                T_STEP.c.step_id.label("step_id"),
                T_STEP.c.title,
                T_STEP.c.rack,
                T_STEP.c.assignee,
                T_STEP.c.location_id,
            )
            .join(T_STEP, T_STEP.c.id == T_PROBLEM.c.step)
            .where(T_STEP.c.revision_id == rid)
            .order_by(T_PROBLEM.c.id)
        )
        if status:
            q = q.where(T_PROBLEM.c.status == status)
        with self._read() as conn:
            rows = conn.execute(q).mappings().all()
        return [
            {
                **self._problem_dict(r, r["step_id"]),
                "title": r["title"],
                "rack": r["rack"],
                "assignee": r["assignee"],
                "location_id": r["location_id"],
            }
            for r in rows
        ]

    def resolve_problem(self, problem_id: int, *, actor: str, resolution: str = "") -> dict:
        """Clear a blocker; the step goes back to where it was once no problem is open."""
        resolution = _clean(resolution, "resolution", max_len=MAX_NOTE)
        rev = self._active()  # one read: rid and hall from the same revision
        rid = rev["id"]
        with self._write() as conn:
            p = (
                conn.execute(
                    select(T_PROBLEM, T_STEP.c.step_id)
                    .join(T_STEP, T_STEP.c.id == T_PROBLEM.c.step)
                    .where(T_PROBLEM.c.id == problem_id, T_STEP.c.revision_id == rid)
                )
                .mappings()
                .first()
            )
            if p is None:
                raise NotFound(f"no problem #{problem_id}")
            if p["status"] != "open":
                raise Conflict(f"problem #{problem_id} is already resolved")
            row = self._lock_step(conn, rid, p["step_id"])
            now = self.clock()
            conn.execute(
                update(T_PROBLEM)
                .where(T_PROBLEM.c.id == problem_id)
                .values(
                    status="resolved", resolved_by=actor, resolved_at=now, resolution=resolution
                )
            )
            still_open = conn.execute(
                select(func.count())
                .select_from(T_PROBLEM)
                .where(T_PROBLEM.c.step == row["id"], T_PROBLEM.c.status == "open")
            ).scalar()
            new_status = row["status"]
            if not still_open and row["status"] == rules.BLOCKED:
                new_status = (
                    p["prev_status"] if p["prev_status"] in rules.OPEN_STATUSES else "pending"
                )
                self._change_step(conn, row, now, status=new_status, status_detail="")
            self._step_event(
                conn,
                "problem_resolved",
                rev,
                row,
                actor,
                problem=problem_id,
                resolution=resolution,
                status=new_status,
            )
        return {
            "id": problem_id,
            "step_id": p["step_id"],
            "status": "resolved",
            "step_status": new_status,
        }
