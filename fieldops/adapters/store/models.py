"""SQLAlchemy rows for the work-order store.

Timestamps are float seconds since the epoch (UTC), portable across SQLite and PostgreSQL.
JSON columns hold the parts of a step that are read whole (parts, codes, evidence).
The schema is created by the Alembic migrations in ``migrations/``; a test checks that the
migrations and these models agree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("technician", "lead", "planner", "admin")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class DesignRow(Base):
    __tablename__ = "designs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class RevisionRow(Base):
    """One loaded plan of a design revision; ``active`` marks the one the floor works from."""

    __tablename__ = "revisions"
    __table_args__ = (
        UniqueConstraint("design_id", "revision", name="uq_revisions_design_revision"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    design_id: Mapped[int] = mapped_column(ForeignKey("designs.id"))
    revision: Mapped[str] = mapped_column(String(100))
    hall: Mapped[str] = mapped_column(String(100))
    schema: Mapped[str] = mapped_column(String(100))
    loaded_at: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    makespan_s: Mapped[float] = mapped_column(Float, default=0.0)
    critical_path: Mapped[list] = mapped_column(JSON, default=list)
    floor: Mapped[dict] = mapped_column(JSON, default=dict)


class AssigneeRow(Base):
    """A crew member or robot of the plan's team."""

    __tablename__ = "assignees"
    __table_args__ = (UniqueConstraint("revision_id", "name", name="uq_assignees_revision_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    name: Mapped[str] = mapped_column(String(100))
    profile: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))


class WorkOrderRow(Base):
    __tablename__ = "work_orders"
    __table_args__ = (UniqueConstraint("revision_id", "wo_id", name="uq_work_orders_revision_wo"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    wo_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    assignee: Mapped[str] = mapped_column(String(100))
    shift: Mapped[int] = mapped_column(Integer, default=0)
    area: Mapped[str] = mapped_column(String(200), default="")
    walking_m: Mapped[float] = mapped_column(Float, default=0.0)
    steps: Mapped[list] = mapped_column(JSON, default=list)


class StepRow(Base):
    """A step of the active plan with its live status. ``seq`` is the global plan order,
    ``wo_seq`` the order in the assignee's sequence as the plan decided it, ``path`` the
    plan's walk to it; ``version`` counts status changes."""

    __tablename__ = "steps"
    __table_args__ = (
        UniqueConstraint("revision_id", "step_id", name="uq_steps_revision_step"),
        # an assignee's queue in order, with the status in the index (done steps are skipped
        # without reading their rows)
        Index("ix_steps_queue", "revision_id", "assignee", "wo_seq", "seq", "status"),
        Index("ix_steps_status", "revision_id", "status"),
        # an assignee's steps in one state, latest first (in progress; finished last)
        Index("ix_steps_assignee_status", "revision_id", "assignee", "status", "updated_at"),
        # a technician's checks of robots' work waiting for them
        Index("ix_steps_checker", "revision_id", "checker", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    step_id: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(Integer)
    wo_seq: Mapped[int] = mapped_column(Integer)
    workorder: Mapped[str] = mapped_column(String(200), default="")
    phase: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    instruction: Mapped[str] = mapped_column(Text)
    rack: Mapped[str] = mapped_column(String(100), default="")
    location_id: Mapped[str] = mapped_column(String(100), default="")
    face: Mapped[str] = mapped_column(String(10), default="")
    u: Mapped[int | None] = mapped_column(Integer, nullable=True)
    x_mm: Mapped[int] = mapped_column(Integer, default=0)
    y_mm: Mapped[int] = mapped_column(Integer, default=0)
    confirm: Mapped[str] = mapped_column(String(40))
    expect_codes: Mapped[list] = mapped_column(JSON, default=list)
    parts: Mapped[list] = mapped_column(JSON, default=list)
    depends_on: Mapped[list] = mapped_column(JSON, default=list)
    duration_s: Mapped[float] = mapped_column(Float, default=60.0)
    assignee: Mapped[str] = mapped_column(String(100), default="")
    planned_assignee: Mapped[str] = mapped_column(String(100), default="")
    # robot+technician steps of a robot: the technician the schedule booked to confirm them
    checker: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # the check's place and walk in the checker's sequence (the plan decides both)
    check_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    check_path: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # a cable or cord step's card: ID, media, SKU, length, tray path, both ends (From/To)
    cable: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(30), default="pending")
    status_detail: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[float] = mapped_column(Float, default=0.0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    path: Mapped[list] = mapped_column(JSON, default=list)  # walking polyline [[x, y], ...] mm
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # step_to_dict as loaded


class StepDepRow(Base):
    """One dependency of a step (``depends_on`` as rows), so "is every step it waits for done"
    is a join in the query that finds the next step. ``dep`` is NULL for a dependency that names
    no step of the plan: such a step is never ready."""

    __tablename__ = "step_deps"
    __table_args__ = (Index("ix_step_deps_step", "step", "dep"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step: Mapped[int] = mapped_column(ForeignKey("steps.id"))
    dep: Mapped[int | None] = mapped_column(ForeignKey("steps.id"), nullable=True)


class StepCodeRow(Base):
    """Which step expects a scanned code (cable ID, asset tag): answers "where does it belong"."""

    __tablename__ = "step_codes"
    __table_args__ = (Index("ix_step_codes_code", "revision_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    code: Mapped[str] = mapped_column(String(200))
    step: Mapped[int] = mapped_column(ForeignKey("steps.id"))


class ConfirmationRow(Base):
    """Who confirmed a step, when and how, with the evidence. ``client_id`` is generated by the
    tablet, so a retried confirmation is recognised and never recorded twice."""

    __tablename__ = "confirmations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    step: Mapped[int] = mapped_column(ForeignKey("steps.id"), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    how: Mapped[str] = mapped_column(String(20))  # scan | manual | robot
    at: Mapped[float] = mapped_column(Float)
    codes: Mapped[list] = mapped_column(JSON, default=list)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)


class ProblemRow(Base):
    __tablename__ = "problems"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step: Mapped[int] = mapped_column(ForeignKey("steps.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    reported_by: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[float] = mapped_column(Float)
    prev_status: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | resolved
    resolved_by: Mapped[str] = mapped_column(String(100), default="")
    resolved_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    resolution: Mapped[str] = mapped_column(Text, default="")


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    crew: Mapped[str] = mapped_column(String(100), default="")  # the assignee name they work as
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Float)


class ApiTokenRow(Base):
    """A bearer token for scripts; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class SessionRow(Base):
    """A browser login: the session cookie carries the random key, only its SHA-256 is
    stored; logging out or a new password deletes the row, so every copy of the cookie ends."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)


class EventRow(Base):
    """The append-only event log: every status change, confirmation, problem, reassignment."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float)
    hall: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    step_id: Mapped[str] = mapped_column(String(200), default="")
    actor: Mapped[str] = mapped_column(String(100), default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
