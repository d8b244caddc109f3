"""The work-order store: plans, steps, confirmations, problems, users, tokens and the event log
in SQLAlchemy 2.x (SQLite with WAL by default, PostgreSQL supported), migrated by Alembic.

``Store(url)`` migrates on open; ``load_plan(store, PLAN_DIR)`` loads ``workorders.json``.
"""

from fieldops.adapters.store.engine import DatabaseUrlError, make_engine
from fieldops.adapters.store.loadplan import load_plan
from fieldops.adapters.store.repository import (
    ConfirmResult,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Refused,
    Store,
    StoreError,
)

__all__ = [
    "ConfirmResult",
    "Conflict",
    "DatabaseUrlError",
    "Forbidden",
    "Invalid",
    "NotFound",
    "Refused",
    "Store",
    "StoreError",
    "load_plan",
    "make_engine",
]
