"""The lead's figures: progress per phase, rack, assignee; the time-to-completion estimate."""

from __future__ import annotations

from sqlalchemy import func, select

from fieldops.adapters.store.statements import (
    T_ASSIGNEE,
    T_CONF,
    T_EVENT,
    T_PROBLEM,
    T_STEP,
    T_USER,
)
from fieldops.core import floorrules as rules
from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH, PHASES


class Progress:
    """The lead's figures: progress per phase, rack, assignee; the time-to-completion estimate."""

    # ------------------------------------------------------------ progress

    def progress(self) -> dict:
        """Counts by phase and state, by rack, by assignee (with current step), and the ETA."""
        rev = self.active_revision()
        if rev is None:
            return {
                "total": 0,
                "done": 0,
                "phases": [],
                "racks": [],
                "assignees": [],
                "eta": rules.estimate_remaining_s([], []),
            }
        rid = rev["id"]
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(
                        T_STEP.c.step_id,
                        T_STEP.c.phase,
                        T_STEP.c.rack,
                        T_STEP.c.assignee,
                        T_STEP.c.status,
                        T_STEP.c.depends_on,
                        T_STEP.c.duration_s,
                        T_STEP.c.title,
                        T_STEP.c.wo_seq,
                        T_STEP.c.seq,
                        T_STEP.c.checker,
                        T_STEP.c.confirm,
                    )
                    .where(T_STEP.c.revision_id == rid)
                    .order_by(T_STEP.c.seq)
                )
                .mappings()
                .all()
            )
            confs = (
                conn.execute(
                    select(T_STEP.c.step_id, T_STEP.c.assignee, T_CONF.c.at)
                    .join(T_STEP, T_STEP.c.id == T_CONF.c.step)
                    .where(T_STEP.c.revision_id == rid)
                )
                .mappings()
                .all()
            )
            team = (
                conn.execute(
                    select(T_ASSIGNEE.c.name, T_ASSIGNEE.c.kind, T_ASSIGNEE.c.profile)
                    .where(T_ASSIGNEE.c.revision_id == rid)
                    .order_by(T_ASSIGNEE.c.name)
                )
                .mappings()
                .all()
            )
        status_of = {r["step_id"]: r["status"] for r in rows}
        phases: dict[str, dict[str, int]] = {}
        racks: dict[str, dict[str, int]] = {}

        def person(name: str, kind: str = "", profile: str = "") -> dict:
            return {
                "name": name,
                "kind": kind,
                "profile": profile,
                "done": 0,
                "total": 0,
                "current": None,
                "next": None,
                "checks": 0,
            }

        people = {t["name"]: person(t["name"], t["kind"], t["profile"]) for t in team}
        first_check: dict[str, dict] = {}  # a robot's work waiting for a technician's check
        for r in rows:
            is_check = r["status"] == rules.AWAITING and r["confirm"] == CONFIRM_ROBOT_AND_TECH
            if is_check and r["checker"] in people:
                people[r["checker"]]["checks"] += 1
                first_check.setdefault(
                    r["checker"], {"id": r["step_id"], "title": r["title"], "status": "check"}
                )
        for r in sorted(rows, key=lambda r: (r["wo_seq"], r["seq"])):
            state = rules.display_status(r["status"], r["depends_on"], status_of)
            phases.setdefault(r["phase"], {}).setdefault(state, 0)
            phases[r["phase"]][state] += 1
            if r["rack"]:
                racks.setdefault(r["rack"], {}).setdefault(state, 0)
                racks[r["rack"]][state] += 1
            who = r["assignee"] or "(unassigned)"
            p = people.get(who) or people.setdefault(who, person(who))
            p["total"] += 1
            p["done"] += r["status"] == rules.DONE
            if r["status"] in ("in_progress", rules.AWAITING) and p["current"] is None:
                p["current"] = {"id": r["step_id"], "title": r["title"], "status": r["status"]}
            if state == "ready" and p["next"] is None:
                p["next"] = {"id": r["step_id"], "title": r["title"], "status": state}
        for who, check in first_check.items():  # before their own ready steps, as next_step
            people[who]["next"] = check
        order = {p: i for i, p in enumerate(PHASES)}
        eta = rules.estimate_remaining_s(
            [
                {
                    "step_id": r["step_id"],
                    "assignee": r["assignee"],
                    "duration_s": r["duration_s"],
                    "status": r["status"],
                }
                for r in rows
            ],
            [{"step_id": c["step_id"], "assignee": c["assignee"], "at": c["at"]} for c in confs],
        )
        return {
            "hall": rev["hall"],
            "design": rev["design"],
            "revision": rev["revision"],
            "makespan_s": rev["makespan_s"],
            "total": len(rows),
            "done": sum(1 for r in rows if r["status"] == rules.DONE),
            "phases": [
                {"phase": ph, "counts": dict(sorted(c.items())), "total": sum(c.values())}
                for ph, c in sorted(phases.items(), key=lambda kv: order.get(kv[0], 99))
            ],
            "racks": [
                {
                    "rack": rk,
                    "counts": dict(sorted(c.items())),
                    "total": sum(c.values()),
                    "state": rack_state(c),
                }
                for rk, c in sorted(racks.items())
            ],
            "assignees": [people[k] for k in sorted(people)],
            "eta": eta,
            "robots": self.robot_connections(),
        }

    def counts(self) -> dict:
        """Row counts, for tests and health checks."""
        with self._read() as conn:
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (T_STEP, T_CONF, T_PROBLEM, T_EVENT, T_USER)
            }


def rack_state(counts: dict[str, int]) -> str:
    """One colour per rack: blocked > failed > in progress > ready > pending > done."""
    for s in ("blocked", "failed", "in_progress", "awaiting_confirmation"):
        if counts.get(s):
            return s
    total = sum(counts.values())
    if counts.get("done", 0) == total:
        return "done"
    if counts.get("done"):
        return "in_progress"
    return "ready" if counts.get("ready") else "pending"
