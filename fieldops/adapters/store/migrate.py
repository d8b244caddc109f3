"""Run the store's Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


MIGRATION_LOCK = 0x6669656C646F7073  # pg_advisory_xact_lock key ("fieldops")


def migrate(engine: Engine, target: str = "head") -> None:
    """Bring the database schema up to ``target`` (idempotent).

    Processes starting at once (several servers on one database) migrate one after the other:
    PostgreSQL holds an advisory lock for the transaction, SQLite takes its write lock up front
    (``BEGIN IMMEDIATE``); the later ones then find the schema current and do nothing.
    """
    with engine.connect().execution_options(fieldops_write=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        command.upgrade(alembic_config(conn), target)
