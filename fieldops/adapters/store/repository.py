"""The work-order store: SQLAlchemy Core statements (parameterised only) over the rows in
``models``. One :class:`Store` per process; it is thread-safe (one connection per call).

Writes on SQLite run under ``BEGIN IMMEDIATE`` (one writer at a time, no lock upgrades that
fail under load); on PostgreSQL the step row is locked ``FOR UPDATE``. A confirmation is
recorded at most once per step and at most once per client-generated ID.
"""

from __future__ import annotations

from fieldops.adapters.store.accounts import Accounts
from fieldops.adapters.store.base import StoreBase
from fieldops.adapters.store.drift import DriftReports
from fieldops.adapters.store.events import Events
from fieldops.adapters.store.floorwork import ConfirmResult, FloorWork
from fieldops.adapters.store.plans import Plans
from fieldops.adapters.store.problems import Problems
from fieldops.adapters.store.progress import Progress, rack_state
from fieldops.adapters.store.readings import Readings
from fieldops.adapters.store.robots import RobotFloor
from fieldops.adapters.store.statements import token_hash
from fieldops.adapters.store.steps import Steps
from fieldops.core.errors import Conflict, Forbidden, Invalid, NotFound, Refused, StoreError

__all__ = [
    "ConfirmResult",
    "Conflict",
    "Forbidden",
    "Invalid",
    "NotFound",
    "Refused",
    "Store",
    "StoreError",
    "rack_state",
    "token_hash",
]


class Store(
    Accounts,
    Plans,
    Steps,
    FloorWork,
    Readings,
    Problems,
    Progress,
    Events,
    DriftReports,
    RobotFloor,
    StoreBase,
):
    """The repository. ``clock`` returns seconds since the epoch (tests pass a fake)."""
