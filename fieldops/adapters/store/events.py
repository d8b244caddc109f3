"""The event log: read after an ID (live views, exports)."""

from __future__ import annotations

from sqlalchemy import func, select

from fieldops.adapters.store.statements import T_EVENT


class Events:
    """The event log: read after an ID (live views, exports)."""

    # ------------------------------------------------------------ events

    def events_after(
        self, after_id: int = 0, *, limit: int = 200, hall: str | None = None
    ) -> list[dict]:
        q = (
            select(T_EVENT)
            .where(T_EVENT.c.id > int(after_id))
            .order_by(T_EVENT.c.id)
            .limit(max(1, min(limit, 1000)))
        )
        if hall:
            q = q.where(T_EVENT.c.hall == hall)
        with self._read() as conn:
            return [dict(r) for r in conn.execute(q).mappings().all()]

    def last_event_id(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.max(T_EVENT.c.id))).scalar() or 0)
