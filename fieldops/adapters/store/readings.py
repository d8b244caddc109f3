"""Readings at confirmation: a pressure or leak test step, and a liquid-cooled device's
power-on (its burn-in: flow and temperatures on the CDU), is confirmed only with readings that
pass its rule; a failing reading opens a problem on the step instead (it blocks the step, so
every burn-in behind the rack's leak test stays blocked). No own table: passing
readings are the confirmation's evidence (``evidence.readings``), failing ones the problem's
note and the ``test_failed`` event's data."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from fieldops.adapters.store.statements import MAX_NOTE, T_STEP
from fieldops.core import floorrules as rules
from fieldops.core.errors import Invalid, Refused
from fieldops.core.fluid import POWER_ON, READING_KINDS, judge_readings

FAILED_TEST = "failed_test"  # the problem kind a failing reading opens


class Readings:
    """Checking a test step's readings inside its confirmation's transaction."""

    @staticmethod
    def _reading_spec(conn: Connection, row) -> dict | None:
        """A test step's readings and limits (from its action as the plan wrote it), else None."""
        if row["kind"] not in READING_KINDS:
            return None
        data = conn.execute(select(T_STEP.c.data).where(T_STEP.c.id == row["id"])).scalar()
        action = (data or {}).get("action") if isinstance(data, dict) else None
        if not isinstance(action, dict) or not action.get("readings"):
            return None
        return {"readings": action["readings"], "limits": action.get("limits") or []}

    def _judge_readings(
        self, conn: Connection, rev: dict, row, step_id: str, evidence: dict, actor: str
    ) -> tuple[dict, Refused | None]:
        """``(evidence, None)`` with ``evidence["readings"]`` cleaned and ``result: pass`` when
        the step needs no readings or they pass; Invalid when some are missing; for a failing
        reading ``(evidence, Refused)`` after opening a problem on the (locked) step, which the
        caller raises once the transaction is committed."""
        if row["kind"] not in READING_KINDS:
            return evidence, None
        spec = self._reading_spec(conn, row)
        if spec is None:
            return evidence, None
        values = evidence.get("readings")
        values = values if isinstance(values, dict) else {}
        missing, failed = judge_readings(spec, values)
        if missing:
            raise Invalid(
                f"step {step_id} needs its readings: {', '.join(missing)}", missing=missing
            )
        kept = {r["name"]: float(values[r["name"]]) for r in spec["readings"]}
        if not failed:
            return {**evidence, "readings": kept, "result": "pass"}, None
        note = (f"{row['title']} failed: " + "; ".join(failed))[:MAX_NOTE]
        now = self.clock()
        self._open_problem(
            conn,
            rev,
            row,
            kind=FAILED_TEST,
            note=note,
            actor=actor,
            now=now,
            prev_status=row["status"],
        )
        self._change_step(conn, row, now, status=rules.BLOCKED, status_detail=note)
        self._step_event(conn, "test_failed", rev, row, actor, readings=kept, failed=failed)
        held = (
            "power the device off. A problem is open on the step: the device stays out of "
            "service until the lead clears it and the readings pass"
            if row["kind"] == POWER_ON
            else "a problem is open on it and power-on of the rack's liquid-cooled devices "
            "stays blocked until the lead clears it and the test passes"
        )
        return evidence, Refused(
            f"{note}. The step is not confirmed: {held}.",
            failed=failed,
            readings=kept,
        )
