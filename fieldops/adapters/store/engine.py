"""Database URLs and engines: which databases fieldops runs on, and how each is tuned.

``check_url`` turns a URL a person typed into one line of advice before anything connects:
an unsupported scheme, a missing driver, a SQLite folder that does not exist.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import StaticPool

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: threads still queue, processes use SQLite's
    fcntl = None

SUPPORTED = ("sqlite", "postgresql")
POSTGRES_HINT = (
    "PostgreSQL support is not installed: run scripts/bootstrap --postgres "
    "(or pip install 'fieldops[postgres]')"
)


class DatabaseUrlError(ValueError):
    """A database URL fieldops cannot use; the message says what to do instead."""


def check_url(url: str) -> URL:
    """The parsed URL, or DatabaseUrlError with one line a person can act on.

    >>> str(check_url("sqlite:///:memory:"))
    'sqlite:///:memory:'
    """
    try:
        u = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"'{url}' is not a database URL (e.g. sqlite:///fieldops.db or "
            "postgresql://user@host/dbname)"
        ) from None
    backend = u.get_backend_name()
    if backend not in SUPPORTED:
        raise DatabaseUrlError(
            f"'{backend}' databases are not supported (supported: sqlite, postgresql)"
        )
    if backend == "postgresql":
        driver = u.get_driver_name()
        if driver in ("", "psycopg2") and u.drivername == "postgresql":
            driver = "psycopg"
        module = {"psycopg": "psycopg", "psycopg2": "psycopg2", "asyncpg": "asyncpg"}.get(driver)
        try:
            importlib.import_module(module or driver)
        except ImportError:
            raise DatabaseUrlError(POSTGRES_HINT) from None
        return u
    if u.database not in (None, "", ":memory:"):
        folder = Path(u.database).absolute().parent
        if not folder.is_dir():
            hint = (
                f" (sqlite:///{u.database} is relative to {Path.cwd()}; an absolute path "
                f"takes four slashes: sqlite:////{u.database})"
                if not Path(u.database).is_absolute()
                else ""
            )
            raise DatabaseUrlError(
                f"the folder for the SQLite database does not exist: {folder}{hint}"
            )
    return u


def make_engine(url: str, *, pool_size: int = 10, autocommit: bool = True) -> Engine:
    """An engine for a database URL; SQLite gets WAL, foreign keys and a busy timeout.

    PostgreSQL connections run in autocommit (``autocommit=True``): a read is one round trip
    per statement (at READ COMMITTED a transaction gives a read nothing: every statement sees
    its own snapshot anyway), and :meth:`Store._write` sends BEGIN and COMMIT itself. No
    pre-ping either (a round trip per checkout): after a server restart the first request on
    each stale connection fails and the pool is renewed; connections are recycled every 30
    minutes."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        eng = (
            create_engine(u, pool_size=pool_size, max_overflow=pool_size * 2, pool_timeout=30)
            if u.database not in (None, "", ":memory:")
            # in memory: one connection every thread shares, or each thread had its own database
            else create_engine(u, poolclass=StaticPool, connect_args={"check_same_thread": False})
        )

        @event.listens_for(eng, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=15000")
            if u.database not in (None, "", ":memory:"):
                _sqlite_wal(cur)
                cur.execute(
                    "PRAGMA synchronous=NORMAL"
                )  # WAL: durable at checkpoints, never corrupt
                # reads share the OS page cache instead of copying pages into each connection
                cur.execute("PRAGMA mmap_size=268435456")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(eng, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql(
                "BEGIN IMMEDIATE" if conn.get_execution_options().get("fieldops_write") else "BEGIN"
            )

        return eng
    if (
        u.get_backend_name() == "postgresql"
        and u.get_driver_name() in ("", "psycopg2")
        and u.drivername == "postgresql"
    ):
        u = u.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver fieldops ships with
    return create_engine(
        u,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_recycle=1800,
        **({"isolation_level": "AUTOCOMMIT"} if autocommit else {}),
    )


def _sqlite_wal(cur, timeout_s: float = 15.0) -> None:
    """Switch a SQLite database to WAL. The switch answers "database is locked" at once,
    without the busy handler, while another connection converts a new database (servers
    starting together), so it is retried until the other one is done."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class SqliteWriteLock:
    """SQLite has one writer at a time. Writers queue here instead of in SQLite's busy
    handler, which sleeps 1, 2, 5, 10, ... ms between tries (a convoy under load): threads of
    this process on a lock, processes (``fieldops serve --workers``) on an ``flock`` of the
    file ``<database>-writelock``. Both wake the next writer the moment the last one commits;
    the kernel drops the file lock of a process that dies."""

    def __init__(self, database: str | None):
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        if fcntl is not None and database not in (None, "", ":memory:"):
            self._fd = os.open(f"{database}-writelock", os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self):
        self._thread_lock.acquire()
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._thread_lock.release()
                raise
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
