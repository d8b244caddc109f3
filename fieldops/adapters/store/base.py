"""The engine, transactions and the event log every store module writes through."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextlib import contextmanager

from sqlalchemy import update
from sqlalchemy.engine import Connection, make_url

from fieldops.adapters.store.engine import SqliteWriteLock, check_url, make_engine
from fieldops.adapters.store.statements import INSERT_EVENT, T_STEP, _where


class StoreBase:
    """The engine, transactions and the event log every store module writes through."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], float] = time.time,
        migrate: bool = True,
        pool_size: int = 10,
    ):
        self.url = url
        check_url(url)  # DatabaseUrlError: one line of advice before anything connects
        self.engine = make_engine(url, pool_size=pool_size)
        self.clock = clock
        self.password_method = "scrypt"  # werkzeug.security method; tests may pick a cheaper one
        self.listeners: list[Callable[[dict], None]] = []
        self._rev_cache: tuple[float, dict | None] = (0.0, None)
        self._token_cache: dict[str, tuple[float, dict]] = {}
        self._write_lock = (
            SqliteWriteLock(make_url(url).database)
            if self.engine.dialect.name == "sqlite"
            else contextlib.nullcontext()
        )
        # PostgreSQL connections are in autocommit: _write sends BEGIN/COMMIT itself
        self._own_transactions = self.engine.dialect.name == "postgresql"
        if migrate:
            from fieldops.adapters.store.migrate import migrate as run_migrations

            if self._own_transactions:  # migrations need a transaction (and its lock)
                eng = make_engine(url, pool_size=1, autocommit=False)
                try:
                    run_migrations(eng)
                finally:
                    eng.dispose()
            else:
                run_migrations(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()
        if isinstance(self._write_lock, SqliteWriteLock):
            self._write_lock.close()

    # ------------------------------------------------------------ transactions

    @contextmanager
    def _read(self):
        if self._own_transactions:  # PostgreSQL, autocommit: one round trip per statement
            with self.engine.connect() as conn:
                yield conn
            return
        with self.engine.connect() as conn, conn.begin():  # SQLite: one snapshot
            yield conn

    @contextmanager
    def _write(self):
        events: list[dict] = []
        with (
            self._write_lock,
            self.engine.connect().execution_options(fieldops_write=True) as conn,
        ):
            conn.info["fieldops_events"] = events
            if self._own_transactions:
                conn.exec_driver_sql("BEGIN")
                try:
                    yield conn
                except BaseException:
                    with contextlib.suppress(Exception):  # a lost connection rolled back already
                        conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
            else:
                with conn.begin():
                    yield conn
            conn.info.pop("fieldops_events", None)
        for ev in events:  # after commit only
            for listener in list(self.listeners):
                with contextlib.suppress(Exception):  # a broken listener must not undo a commit
                    listener(ev)

    @staticmethod
    def _change_step(conn: Connection, row, now: float, **values) -> None:
        """Set ``values`` on a step read (and locked) in this transaction: every change bumps
        its version, which a confirmation's MARK_DONE checks."""
        conn.execute(
            update(T_STEP)
            .where(T_STEP.c.id == row["id"])
            .values(**values, updated_at=now, version=row["version"] + 1)
        )

    def _event(
        self,
        conn: Connection,
        kind: str,
        *,
        hall: str,
        step_id: str = "",
        actor: str = "",
        data: dict | None = None,
    ) -> dict:
        ev = {
            "at": self.clock(),
            "hall": hall,
            "kind": kind,
            "step_id": step_id,
            "actor": actor,
            "data": data or {},
        }
        return self._queue_event(conn, conn.execute(INSERT_EVENT, ev).inserted_primary_key[0], ev)

    def _step_event(self, conn: Connection, kind: str, rev: dict, row, actor: str, /, **data):
        """An event about a step: ``data`` plus where the step stands (:func:`_where`)."""
        return self._event(
            conn,
            kind,
            hall=rev["hall"],
            step_id=row["step_id"],
            actor=actor,
            data={**_where(row), **data},
        )

    @staticmethod
    def _queue_event(conn: Connection, event_id: int, ev: dict) -> dict:
        """An inserted event, told to the listeners once the transaction commits."""
        ev = {"id": event_id, **ev}
        conn.info["fieldops_events"].append(ev)
        return ev
