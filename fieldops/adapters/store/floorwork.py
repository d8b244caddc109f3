"""Changing steps: confirm (at most once per step and per client ID), start, set a robot's status, reassign; the confirmations export."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from fieldops.adapters.store.statements import (
    CODE_HOMES,
    CONF_BY_CLIENT,
    INSERT_CONF,
    LOCK_STEP,
    LOCK_STEP_PG,
    MARK_DONE,
    MAX_NAME,
    RECORD_PG,
    T_ASSIGNEE,
    T_CONF,
    T_STEP,
    _clean,
    _where,
)
from fieldops.core import floorrules as rules
from fieldops.core.errors import Conflict, Forbidden, Invalid, NotFound, Refused
from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH, STATUSES

_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")  # the tablet's crypto.randomUUID() fits


@dataclass(frozen=True)
class ConfirmResult:
    confirmation: dict
    step: dict
    duplicate: bool  # True when this client ID was already recorded (a retry)


class FloorWork:
    """Changing steps: confirm (at most once per step and per client ID), start, set a robot's status, reassign; the confirmations export."""

    # ------------------------------------------------------------ confirmations

    def _lock_step(self, conn: Connection, rid: int, step_id: str, client_id: str = ""):
        """The step's row (locked on PostgreSQL) with ``unmet``: its dependencies not done;
        on PostgreSQL also ``prior_conf``: the confirmation recorded under ``client_id``."""
        if self.dialect == "postgresql":
            q, params = LOCK_STEP_PG, {"rid": rid, "sid": step_id, "cid": client_id}
        else:
            q, params = LOCK_STEP, {"rid": rid, "sid": step_id}
        row = conn.execute(q, params).mappings().first()
        if row is None:
            raise NotFound(f"no step '{step_id}' in the active plan")
        return row

    def _conf_dict(self, row, step_id: str | None = None) -> dict:
        d = {k: row[k] for k in ("id", "client_id", "actor", "how", "at", "codes", "evidence")}
        if step_id is not None:
            d["step_id"] = step_id
        return d

    def confirm(
        self,
        step_id: str,
        *,
        client_id: str,
        actor: str,
        crew: str | None = None,
        codes: list[str] | None = None,
        evidence: dict | None = None,
        fault_delay_s: float = 0.0,
    ) -> ConfirmResult:
        """Record that a step is done.

        ``crew``: when given, the step must be assigned to it (technicians). ``codes``: the raw
        scanned or typed codes. A retry with the same ``client_id`` returns the recorded
        confirmation (``duplicate=True``); a second confirmation of a done step is a Conflict.
        """
        if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
            raise Invalid("client_id may hold letters, digits and - _ . : only (1 to 100)")
        codes = codes or []
        if not isinstance(codes, list) or len(codes) > 20:
            raise Invalid("codes must be a list of at most 20 scanned codes")
        try:
            scans = [rules.parse_scan(c) for c in codes]
        except rules.CodeError as exc:
            raise Invalid(str(exc)) from None
        evidence = evidence or {}
        if not isinstance(evidence, dict) or len(json.dumps(evidence, default=str)) > 8000:
            raise Invalid("evidence must be an object of at most 8000 characters of JSON")
        rev = self._active()  # one read: rid and hall from the same revision
        rid = rev["id"]
        refusal: Refused | None = None
        with self._write() as conn:
            row = self._lock_step(conn, rid, step_id, client_id)
            prior = (
                conn.execute(CONF_BY_CLIENT, {"cid": client_id}).mappings().first()
                if row.get("prior_conf", -1) is not None
                else None
            )
            if prior is not None:
                if prior["step"] != row["id"]:
                    raise Conflict(f"client_id '{client_id}' was already used for another step")
                return ConfirmResult(self._conf_dict(prior, step_id), self._step_dict(row), True)
            self._check_crew(conn, rid, row, crew, checks=True)
            if row["status"] == rules.DONE:
                c = (
                    conn.execute(
                        select(T_CONF)
                        .where(T_CONF.c.step == row["id"])
                        .order_by(T_CONF.c.id)
                        .limit(1)
                    )
                    .mappings()
                    .first()
                )
                who = f" by {c['actor']}" if c else ""
                raise Conflict(
                    f"step {step_id} is already confirmed{who}",
                    confirmation=self._conf_dict(c, step_id) if c else None,
                )
            if row["status"] == rules.BLOCKED:
                raise Conflict(
                    f"step {step_id} is blocked by an open problem; the lead has to clear it first"
                )
            if row["status"] not in rules.OPEN_STATUSES:
                raise Conflict(f"step {step_id} is {row['status']} and cannot be confirmed")
            if row["unmet"]:
                status_of = self._statuses(conn, rid, row["depends_on"])
                waiting = sorted(d for d in row["depends_on"] if status_of.get(d) != rules.DONE)
                raise Conflict(
                    f"step {step_id} waits for {len(waiting)} earlier step(s): {', '.join(waiting[:5])}",
                    waiting=waiting,
                )
            ok, why = rules.human_can_confirm(row["confirm"], row["status"])
            if not ok:
                raise Conflict(why)
            ends = (row.get("cable") or {}).get("ends")
            verdict = rules.check_scans(row["confirm"], row["expect_codes"], scans, ends)
            if not verdict.ok:
                if verdict.wrong:
                    msg = (
                        "Wrong label: "
                        + " ".join(self._describe_in(conn, rid, s) for s in verdict.wrong)
                        + f" This step ({step_id}) is at {self._here(row)};"
                        + f" it needs {self._needs(row)}."
                    )
                    self._event(
                        conn,
                        "scan_refused",
                        hall=rev["hall"],
                        step_id=step_id,
                        actor=actor,
                        data={"codes": [s.raw for s in verdict.wrong]},
                    )
                    refusal = Refused(
                        msg, wrong=[s.code for s in verdict.wrong], expected=row["expect_codes"]
                    )
                else:
                    raise Refused(verdict.message, missing=list(verdict.missing))
            if refusal is None:  # a loop test: its readings pass, or a problem is opened
                evidence, refusal = self._judge_readings(conn, rev, row, step_id, evidence, actor)
            if refusal is None:
                result = self._record(
                    conn,
                    row,
                    rev,
                    step_id,
                    client_id=client_id,
                    actor=actor,
                    scans=scans,
                    evidence=evidence,
                    fault_delay_s=fault_delay_s,
                )
        if refusal is not None:  # raised after the commit, so the refused scan stays in the log
            raise refusal
        return result

    def _check_crew(
        self, conn: Connection, rid: int, row, crew: str | None, *, checks: bool = False
    ) -> None:
        """Forbidden unless ``crew`` (a technician's; None: anyone) may act on the step: its
        own steps, and with ``checks`` a robot's robot+technician step too (confirm it, report
        a problem with it): the robot has no crew, whichever technician checks its work does."""
        if crew is None or row["assignee"] == crew:
            return
        if checks and self._robot_step_for_any_technician(conn, rid, row):
            return
        raise Forbidden(
            f"step {row['step_id']} is assigned to {row['assignee'] or 'nobody'}, not to your crew ({crew or 'none'})"
        )

    def _robot_step_for_any_technician(self, conn: Connection, rid: int, row) -> bool:
        """A robot+technician step assigned to a robot is confirmed by whichever technician
        checks the robot's work (the robot has no crew)."""
        if row["confirm"] != CONFIRM_ROBOT_AND_TECH:
            return False
        return self._kind_of(conn, rid, row["assignee"]) == "robot"

    @staticmethod
    def _kind_of(conn: Connection, rid: int, assignee: str) -> str | None:
        """'robot' or 'technician' for a member of the plan's team, else None."""
        return conn.execute(
            select(T_ASSIGNEE.c.kind).where(
                T_ASSIGNEE.c.revision_id == rid, T_ASSIGNEE.c.name == assignee
            )
        ).scalar()

    def _record(
        self, conn, row, rev, step_id, *, client_id, actor, scans, evidence, fault_delay_s
    ) -> ConfirmResult:
        if fault_delay_s:
            time.sleep(fault_delay_s)  # fault injection for the crash tests (config only)
        now = self.clock()
        changed = Conflict(f"step {step_id} changed while you confirmed it; reload and try again")
        reused = Conflict(f"client_id '{client_id}' was already used for another step")
        how = rules.how_for(row["confirm"], scans)
        conf = {
            "client_id": client_id,
            "step": row["id"],
            "actor": actor,
            "how": how,
            "at": now,
            "codes": [s.raw for s in scans],
            "evidence": evidence,
        }
        version = {"b_pk": row["id"], "b_version": row["version"], "b_now": now}
        try:  # the unique client_id: this ID already confirmed another step (or is racing)
            if self.dialect == "postgresql":  # the event is inserted by the same statement
                data = {**_where(row), "how": how, "codes": conf["codes"]}
                params = {f"c_{k}": v for k, v in conf.items() if k != "step"}
                params.update(version, e_hall=rev["hall"], e_step_id=step_id, e_data=data)
                ids = conn.execute(RECORD_PG, params).first()
                if ids is None:
                    raise changed
                conf["id"] = ids.conf_id
                ev = {"at": now, "hall": rev["hall"], "kind": "step_confirmed"}
                ev.update(step_id=step_id, actor=actor, data=data)
                self._queue_event(conn, ids.event_id, ev)
            else:
                if conn.execute(MARK_DONE, version).rowcount != 1:
                    raise changed
                conf["id"] = conn.execute(INSERT_CONF, conf).inserted_primary_key[0]
                self._step_event(
                    conn, "step_confirmed", rev, row, actor, how=how, codes=conf["codes"]
                )
        except IntegrityError:  # raising rolls the whole transaction back
            raise reused from None
        conf = self._conf_dict(conf, step_id)
        step = self._step_dict(
            {**row, "status": rules.DONE, "updated_at": now, "version": row["version"] + 1}
        )
        return ConfirmResult(conf, step, False)

    def _describe_in(self, conn: Connection, rid: int, scan: rules.Scan) -> str:
        """What a scanned label is and where it belongs: for a cable end, that end's own
        place (rack, location, U, face, device:port), not its step's."""
        rows = conn.execute(CODE_HOMES.limit(3), {"rid": rid, "code": scan.code}).mappings().all()
        if not rows:
            return f"{scan.raw} is not a label of this plan."
        homes = []
        for h in rows:
            end = ((h["cable"] or {}).get("ends") or {}).get(scan.end)
            if end:
                where = rules.place_text(end)
                who = f", {h['assignee']}" if h["assignee"] else ""
                homes.append(f"it belongs at {where} (step {h['step_id']}{who})")
                continue
            where = ", ".join(
                x
                for x in (
                    f"rack {h['rack']}" if h["rack"] else "",
                    f"U{h['u']}" if h["u"] is not None else "",
                    h["face"],
                    h["location_id"],
                )
                if x
            )
            homes.append(f"it belongs to {h['title']} ({where}; step {h['step_id']})")
        what = f"end {scan.end} of cable {scan.code}" if scan.end else scan.code
        return f"{scan.raw} is {what}: " + "; ".join(homes) + "."

    @staticmethod
    def _here(row) -> str:
        """Where a technician doing this step stands (its ends for a cable)."""
        ends = (row.get("cable") or {}).get("ends") or {}
        if ends:
            return " and ".join(
                f"end {e} at {rules.place_text(p)}" for e, p in sorted(ends.items())
            )
        return rules.place_text(
            {
                "rack": row["rack"],
                "location_id": row["location_id"],
                "u": row["u"],
                "face": row["face"],
            }
        )

    @staticmethod
    def _needs(row) -> str:
        codes = row["expect_codes"]
        if (row.get("cable") or {}).get("ends") and row["confirm"] == rules.CONFIRM_SCAN_LABEL:
            return ", ".join(f"{c}/A and {c}/B" for c in codes)
        return ", ".join(codes)

    def confirmations(self, *, after: int = 0, limit: int = 1000) -> list[dict]:
        """The active plan's confirmations with an ID above ``after``, in the order they were
        recorded (the as-built record is built from them in this order)."""
        rid = self._rid()
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(
                        T_CONF,
                        T_STEP.c.step_id.label("step_id"),
                        T_STEP.c.assignee.label("assignee"),
                    )
                    .join(T_STEP, T_STEP.c.id == T_CONF.c.step)
                    .where(T_STEP.c.revision_id == rid, T_CONF.c.id > after)
                    .order_by(T_CONF.c.id)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [{**self._conf_dict(r, r["step_id"]), "assignee": r["assignee"]} for r in rows]

    # ------------------------------------------------------------ status (StepSink) and lead actions

    def set_status(self, step_id: str, status: str, detail: dict | str | None = None) -> None:
        """The robot bridge's ``StepSink``: a robot's action state lands on its step.

        ``detail`` is the bridge's JSON-ready dict (``robot``, ``orderId``, ``actions``,
        ``error``) or text. ``done`` records a robot confirmation (once per step; done is
        final); ``blocked`` opens a problem for the lead with the robot's error;
        ``awaiting_confirmation`` waits for a technician on robot+technician steps.
        """
        if status not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}, not '{status}'")
        rev = self._active()  # one read: rid and hall from the same revision
        with self._write() as conn:  # the rules are the batch's (store/robots.py)
            row = self._lock_step(conn, rev["id"], step_id)
            self._robot_report(conn, rev, row, status, detail, self.clock())

    def start(self, step_id: str, *, actor: str, crew: str | None = None) -> dict:
        """Mark a ready step in progress (the technician opened it and is walking there)."""
        rev = self._active()  # one read: rid and hall from the same revision
        rid = rev["id"]
        with self._write() as conn:
            row = self._lock_step(conn, rid, step_id)
            self._check_crew(conn, rid, row, crew)
            if row["status"] not in ("pending", "ready"):
                return self._step_dict(row)
            now = self.clock()
            self._change_step(conn, row, now, status="in_progress")
            self._step_event(
                conn, "step_status", rev, row, actor, status="in_progress", previous=row["status"]
            )
            return self._step_dict(
                {**row, "status": "in_progress", "updated_at": now, "version": row["version"] + 1}
            )

    def reassign(self, step_id: str, assignee: str, *, actor: str) -> dict:
        assignee = _clean(assignee, "assignee", max_len=MAX_NAME, required=True)
        rev = self._active()  # one read: rid and hall from the same revision
        rid = rev["id"]
        with self._write() as conn:
            kind = self._kind_of(conn, rid, assignee)
            if kind is None:
                raise NotFound(f"'{assignee}' is not a member of this plan's team")
            row = self._lock_step(conn, rid, step_id)
            if row["status"] == rules.DONE:
                raise Conflict(f"step {step_id} is already done")
            if row["assignee"] == assignee:
                return self._step_dict(row)
            confirm = self._rule_for(conn, row, kind)
            # Keep the new assignee's queue in plan order: the step slots in by its global order.
            now = self.clock()
            status = "pending" if row["status"] == "in_progress" else row["status"]
            self._change_step(
                conn, row, now, assignee=assignee, wo_seq=row["seq"], status=status, confirm=confirm
            )
            data = {"from": row["assignee"], "to": assignee, "rack": row["rack"]}
            if confirm != row["confirm"]:
                data["confirm"] = confirm
            self._event(
                conn, "step_reassigned", hall=rev["hall"], step_id=step_id, actor=actor, data=data
            )
            return self._step_dict(
                {
                    **row,
                    "assignee": assignee,
                    "wo_seq": row["seq"],
                    "status": status,
                    "confirm": confirm,
                    "updated_at": now,
                    "version": row["version"] + 1,
                }
            )

    @staticmethod
    def _rule_for(conn: Connection, row, kind: str) -> str:
        """The step's confirmation rule once ``kind`` (robot or technician) does it: a robot's
        step handed to a technician is confirmed by a technician (no robot will report it
        finished); handed back to a robot, it gets its planned rule again."""
        if kind != "robot" and row["confirm"] in rules.ROBOT_RULES:
            return rules.rule_for_people(row["kind"], row["expect_codes"])
        if kind == "robot" and row["confirm"] not in rules.ROBOT_RULES:
            data = conn.execute(select(T_STEP.c.data).where(T_STEP.c.id == row["id"])).scalar()
            planned = (data or {}).get("confirm")
            if planned in rules.ROBOT_RULES:
                return planned
        return row["confirm"]
