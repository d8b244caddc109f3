"""Drift reports in the store, for the lead's dashboard: a store mixin (``Store`` inherits it).

A lead (or a script) loads the ``drift.json`` that ``fieldops reconcile`` wrote
(``POST /api/drift``); the dashboard shows the latest one for the active plan's hall: a line per
category and the items most severe first, with their rack and fix-up step. Only what a lead
acts on is kept (summary, counts, unobserved, the first ``MAX_ITEMS`` items), not every cable's
status, so a 100,000-cable hall's report stays a small row. Migration 0004 adds the table.
"""

from __future__ import annotations

from sqlalchemy import JSON, Float, Integer, String, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from fieldops.adapters.store.models import Base
from fieldops.core.errors import Conflict, Invalid

SCHEMA_PREFIX = "fieldops.drift/1."
MAX_ITEMS = 5000
KINDS = ("cable", "device")
STATUSES = (
    "missing",
    "wrong_u",
    "swapped",
    "wrong_port",
    "unexpected",
    "mislabelled",
    "suspect",
)


class DriftReportRow(Base):
    """One loaded drift report (the latest per hall is shown)."""

    __tablename__ = "drift_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hall: Mapped[str] = mapped_column(String(100), index=True)
    design: Mapped[str] = mapped_column(String(200))
    revision: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[float] = mapped_column(Float)
    loaded_by: Mapped[str] = mapped_column(String(100))
    drift: Mapped[int] = mapped_column(Integer)
    items_total: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    summary: Mapped[list] = mapped_column(JSON, default=list)
    unobserved: Mapped[dict] = mapped_column(JSON, default=dict)
    items: Mapped[list] = mapped_column(JSON, default=list)


T_DRIFT = DriftReportRow.__table__


def _text(value, where: str, limit: int, *, required: bool = True) -> str:

    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise Invalid(f"{where} must be text")
    if len(value) > limit:
        raise Invalid(f"{where} is over {limit} characters")
    return value


def parse_drift_document(doc) -> dict:
    """The parts of a ``drift.json`` the dashboard shows, checked; Invalid names what is wrong."""

    if not isinstance(doc, dict):
        raise Invalid("the body must be a drift.json object")
    schema = doc.get("schema")
    if not isinstance(schema, str) or not schema.startswith(SCHEMA_PREFIX):
        raise Invalid(
            f"'schema' must be {SCHEMA_PREFIX}x (the drift.json 'fieldops reconcile' writes), got {schema!r}"
        )
    design = doc.get("design")
    if not isinstance(design, dict):
        raise Invalid("'design' must be an object with name, revision and hall")
    counts = doc.get("counts")
    drift = counts.get("drift") if isinstance(counts, dict) else None
    if not isinstance(drift, int) or isinstance(drift, bool) or not 0 <= drift <= 2**31 - 1:
        raise Invalid("'counts' must be an object with a whole number 'drift' (0 to 2147483647)")
    summary = doc.get("summary", [])
    if not isinstance(summary, list) or len(summary) > len(STATUSES) * len(KINDS):
        raise Invalid("'summary' must be a list of categories")
    for i, s in enumerate(summary):
        if not isinstance(s, dict) or not isinstance(s.get("text"), str) or len(s["text"]) > 200:
            raise Invalid(f"summary[{i}] must be an object with a short 'text'")
    unobserved = doc.get("unobserved", {})
    if not isinstance(unobserved, dict) or not all(
        isinstance(k, str) and len(k) < 50 and isinstance(v, int) for k, v in unobserved.items()
    ):
        raise Invalid("'unobserved' must map a source to a count")
    items = doc.get("items", [])
    if not isinstance(items, list):
        raise Invalid("'items' must be a list")
    kept = []
    for i, it in enumerate(items[:MAX_ITEMS]):
        where = f"items[{i}]"
        if not isinstance(it, dict):
            raise Invalid(f"{where} must be an object")
        if it.get("kind") not in KINDS or it.get("status") not in STATUSES:
            raise Invalid(f"{where}: kind must be one of {KINDS} and status one of {STATUSES}")
        u = it.get("u")
        if u is not None and (isinstance(u, bool) or not isinstance(u, int)):
            raise Invalid(f"{where}.u must be a whole number or null")
        kept.append(
            {
                "kind": it["kind"],
                "status": it["status"],
                "id": _text(it.get("id"), f"{where}.id", 300),
                "rack": _text(it.get("rack"), f"{where}.rack", 100, required=False),
                "u": u,
                "message": _text(it.get("message"), f"{where}.message", 2000),
                "fixup": _text(it.get("fixup"), f"{where}.fixup", 400, required=False),
            }
        )
    return {
        "design": _text(design.get("name"), "design.name", 200),
        "revision": _text(str(design.get("revision", "")), "design.revision", 100, required=False),
        "hall": _text(design.get("hall"), "design.hall", 100),
        "drift": counts["drift"],
        "items_total": len(items),
        "counts": counts,
        "summary": summary,
        "unobserved": unobserved,
        "items": kept,
    }


class DriftReports:
    """Store mixin: load a drift report, read the latest one. Uses the store's ``_read``,
    ``_write``, ``_event``, ``clock`` and ``active_revision``."""

    def load_drift(self, doc, *, actor: str) -> dict:
        """Keep a ``drift.json`` for the active plan's hall; Conflict when it is another hall's
        or no plan is loaded, Invalid when it is not a drift report."""
        row = parse_drift_document(doc)
        rev = self.active_revision()
        if rev is None:
            raise Conflict("no plan is loaded: load the plan the drift report is about first")
        if row["hall"] != rev["hall"]:
            raise Conflict(
                f"the drift report is for hall '{row['hall']}', the loaded plan is hall '{rev['hall']}'"
            )
        row.update(loaded_at=self.clock(), loaded_by=actor)
        with self._write() as conn:
            new_id = conn.execute(insert(T_DRIFT).values(**row)).inserted_primary_key[0]
            self._event(
                conn,
                "drift_loaded",
                hall=row["hall"],
                actor=actor,
                data={"drift": row["drift"], "items": row["items_total"]},
            )
        return {"id": new_id, **_public(row)}

    def latest_drift(self) -> dict | None:
        """The last drift report loaded for the active plan's hall, or None."""
        rev = self.active_revision()
        if rev is None:
            return None
        with self._read() as conn:
            row = (
                conn.execute(
                    select(T_DRIFT)
                    .where(T_DRIFT.c.hall == rev["hall"])
                    .order_by(T_DRIFT.c.id.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        return {"id": row["id"], **_public(dict(row))} if row else None


def _public(row: dict) -> dict:
    return {
        k: row[k]
        for k in (
            "design",
            "revision",
            "hall",
            "loaded_at",
            "loaded_by",
            "drift",
            "items_total",
            "counts",
            "summary",
            "unobserved",
            "items",
        )
    }
