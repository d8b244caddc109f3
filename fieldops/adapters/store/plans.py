"""Plan revisions: loading a plan as it decided it, the active revision, its team and floor."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from sqlalchemy import func, insert, select, update

from fieldops.adapters.store.statements import (
    MAX_NAME,
    T_ASSIGNEE,
    T_CODE,
    T_DEP,
    T_DESIGN,
    T_REV,
    T_STEP,
    T_WO,
    _clean,
)
from fieldops.core import floorrules as rules
from fieldops.core.errors import NotFound
from fieldops.core.workorder import SCHEMA_VERSION, STATUSES, WorkPlan, step_to_dict


class Plans:
    """Plan revisions: loading a plan as it decided it, the active revision, its team and floor."""

    # ------------------------------------------------------------ plans

    def load_plan(
        self,
        plan: WorkPlan,
        *,
        design: str = "",
        revision: str = "",
        hall: str = "",
        floor: dict | None = None,
    ) -> dict:
        """Load a work plan as the active revision, as the plan decided it: each step's order
        in its assignee's sequence, its walk, each check's order and walk in its technician's
        sequence, and the floor drawing. Nothing is recomputed.

        Loading the same design revision again changes nothing (it returns the existing one);
        a new revision becomes the active one.
        """
        schema = f"fieldops.workorders/{SCHEMA_VERSION}"
        design = _clean(design, "design name", max_len=200, required=True)
        revision = _clean(revision or "1", "revision", max_len=100)
        hall = _clean(hall or design, "hall", max_len=100)
        now = self.clock()
        with self._write() as conn:
            did = conn.execute(select(T_DESIGN.c.id).where(T_DESIGN.c.name == design)).scalar()
            if did is None:
                did = conn.execute(insert(T_DESIGN).values(name=design)).inserted_primary_key[0]
            existing = (
                conn.execute(
                    select(T_REV).where(T_REV.c.design_id == did, T_REV.c.revision == revision)
                )
                .mappings()
                .first()
            )
            if existing is not None:
                n = conn.execute(
                    select(func.count())
                    .select_from(T_STEP)
                    .where(T_STEP.c.revision_id == existing["id"])
                ).scalar()
                conn.execute(update(T_REV).where(T_REV.c.id != existing["id"]).values(active=False))
                conn.execute(update(T_REV).where(T_REV.c.id == existing["id"]).values(active=True))
                self._rev_cache = (0.0, None)
                return {
                    "revision_id": existing["id"],
                    "design": design,
                    "revision": revision,
                    "hall": existing["hall"],
                    "steps": n,
                    "new": False,
                }
            conn.execute(update(T_REV).values(active=False))
            rid = conn.execute(
                insert(T_REV).values(
                    design_id=did,
                    revision=revision,
                    hall=hall,
                    schema=schema,
                    loaded_at=now,
                    active=True,
                    makespan_s=float(plan.makespan_s),
                    critical_path=list(plan.critical_path),
                    floor=floor or {},
                )
            ).inserted_primary_key[0]
            if plan.team:
                conn.execute(
                    insert(T_ASSIGNEE),
                    [
                        {"revision_id": rid, "name": a.name, "profile": a.profile, "kind": a.kind}
                        for a in plan.team
                    ],
                )
            wo_of: dict[str, tuple[str, int]] = {}
            wo_rows = []
            for wo in plan.workorders:
                for i, sid in enumerate(wo.steps):
                    wo_of[sid] = (wo.id, i)
                wo_rows.append(
                    {
                        "revision_id": rid,
                        "wo_id": wo.id,
                        "title": wo.title,
                        "assignee": wo.assignee,
                        "shift": wo.shift,
                        "area": wo.area,
                        "walking_m": float(wo.walking_m),
                        "steps": list(wo.steps),
                    }
                )
            if wo_rows:
                conn.execute(insert(T_WO), wo_rows)
            # the technicians booked to check robots' robot+technician steps, where in their
            # sequence and how they walk there
            checks = {c["step"]: c for c in (plan.stats or {}).get("confirmations", ())}
            step_rows = []
            for seq, s in enumerate(plan.steps):
                wo_id = s.workorder or wo_of.get(s.id, ("", 0))[0]
                check = checks.get(s.id) or {}
                check_walk = check.get("walk")
                loc = s.location
                step_rows.append(
                    {
                        "revision_id": rid,
                        "step_id": s.id,
                        "seq": seq,
                        "wo_seq": s.order if s.order >= 0 else seq,
                        "workorder": wo_id,
                        "phase": s.phase,
                        "kind": s.kind,
                        "title": s.title,
                        "instruction": s.instruction,
                        "rack": loc.rack,
                        "location_id": loc.location_id,
                        "face": loc.face,
                        "u": loc.u,
                        "x_mm": int(loc.x_mm),
                        "y_mm": int(loc.y_mm),
                        "confirm": s.confirm,
                        "expect_codes": [c.upper() for c in s.expect_codes],
                        "parts": [
                            {"kind": p.kind, "ref": p.ref, "sku": p.sku, "quantity": p.quantity}
                            for p in s.parts
                        ],
                        "depends_on": list(s.depends_on),
                        "duration_s": float(s.duration_s),
                        "assignee": s.assignee,
                        "planned_assignee": s.assignee,
                        "checker": str(check.get("technician", ""))[:MAX_NAME],
                        "check_seq": int(check.get("order", 0)),
                        "check_path": check_walk["path_mm"] if check_walk else None,
                        "cable": rules.cable_card(s.kind, s.action),
                        "status": s.status if s.status in STATUSES else "pending",
                        "status_detail": "",
                        "updated_at": now,
                        "version": 0,
                        "path": [list(p) for p in s.walk.path_mm] if s.walk else [],
                        "data": json.loads(json.dumps(step_to_dict(s), default=str)),
                    }
                )
            if step_rows:
                conn.execute(insert(T_STEP), step_rows)
            pk = dict(
                conn.execute(
                    select(T_STEP.c.step_id, T_STEP.c.id).where(T_STEP.c.revision_id == rid)
                ).all()
            )
            codes = [
                {"revision_id": rid, "code": c.upper(), "step": pk[s.id]}
                for s in plan.steps
                for c in s.expect_codes
            ]
            if codes:
                conn.execute(insert(T_CODE), codes)
            deps = [{"step": pk[s.id], "dep": pk.get(d)} for s in plan.steps for d in s.depends_on]
            if deps:
                conn.execute(insert(T_DEP), deps)
            self._event(
                conn,
                "plan_loaded",
                hall=hall,
                data={"design": design, "revision": revision, "steps": len(step_rows)},
            )
        self._rev_cache = (0.0, None)
        return {
            "revision_id": rid,
            "design": design,
            "revision": revision,
            "hall": hall,
            "steps": len(step_rows),
            "new": True,
        }

    def active_revision(self) -> dict | None:
        """The revision the floor works from (cached for a second: it changes only on load)."""
        at, cached = self._rev_cache
        now = time.monotonic()
        if cached is not None and now - at < 1.0:
            return cached
        with self._read() as conn:
            row = (
                conn.execute(
                    select(T_REV, T_DESIGN.c.name.label("design"))
                    .join(T_DESIGN, T_DESIGN.c.id == T_REV.c.design_id)
                    .where(T_REV.c.active.is_(True))
                    .order_by(T_REV.c.id.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        rev = dict(row) if row else None
        self._rev_cache = (now, rev)
        return rev

    def _active(self) -> dict:
        """The active revision, or NotFound when no plan is loaded."""
        rev = self.active_revision()
        if rev is None:
            raise NotFound("no plan is loaded yet (fieldops load PLAN_DIR)")
        return rev

    def _rid(self) -> int:
        return self._active()["id"]

    def hall(self) -> str:
        rev = self.active_revision()
        return rev["hall"] if rev else ""

    def team(self) -> list[dict]:
        rev = self.active_revision()
        if rev is None:
            return []
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(T_ASSIGNEE.c.name, T_ASSIGNEE.c.profile, T_ASSIGNEE.c.kind)
                    .where(T_ASSIGNEE.c.revision_id == rev["id"])
                    .order_by(T_ASSIGNEE.c.name)
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def work_orders(self) -> list[dict]:
        rev = self.active_revision()
        if rev is None:
            return []
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(T_WO).where(T_WO.c.revision_id == rev["id"]).order_by(T_WO.c.wo_id)
                )
                .mappings()
                .all()
            )
        return [{k: v for k, v in r.items() if k not in ("id", "revision_id")} for r in rows]

    def plan_steps(self, assignees: Iterable[str] | None = None) -> list:
        """The active plan's steps as ``fieldops.core.workorder.Step`` values (current assignee
        and status), in plan order; for the robot bridge."""
        from fieldops.core.workorder import step_from_dict

        rid = self._rid()
        q = (
            select(T_STEP.c.data, T_STEP.c.assignee, T_STEP.c.status)
            .where(T_STEP.c.revision_id == rid)
            .order_by(T_STEP.c.seq)
        )
        if assignees is not None:
            q = q.where(T_STEP.c.assignee.in_(sorted(set(assignees))))
        with self._read() as conn:
            rows = conn.execute(q).all()
        from dataclasses import replace

        return [
            replace(step_from_dict(data), assignee=who, status=status) for data, who, status in rows
        ]

    def floor(self) -> dict:
        rev = self.active_revision()
        return dict(rev["floor"] or {}) if rev else {}
