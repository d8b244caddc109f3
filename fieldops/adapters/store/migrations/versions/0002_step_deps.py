"""step dependencies as rows; indexes for the next-step and last-position queries

The next step of an assignee becomes one query (the first open step of their queue with no
unfinished dependency) instead of a scan that read each candidate's dependencies separately.

Revision ID: 0002
Revises: 0001
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_deps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("dep", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["step"], ["steps.id"], name=op.f("fk_step_deps_step_steps")),
        sa.ForeignKeyConstraint(["dep"], ["steps.id"], name=op.f("fk_step_deps_dep_steps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_deps")),
    )
    with op.batch_alter_table("step_deps", schema=None) as batch_op:
        batch_op.create_index("ix_step_deps_step", ["step", "dep"], unique=False)
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index("ix_steps_queue")
        batch_op.create_index(
            "ix_steps_queue", ["revision_id", "assignee", "wo_seq", "seq", "status"], unique=False
        )
        batch_op.create_index(
            "ix_steps_assignee_status",
            ["revision_id", "assignee", "status", "updated_at"],
            unique=False,
        )
    _fill_step_deps()


def _fill_step_deps() -> None:
    """Plans loaded before this revision: their depends_on lists become rows."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, revision_id, step_id, depends_on FROM steps")).all()
    pk = {(r.revision_id, r.step_id): r.id for r in rows}
    deps = []
    for r in rows:
        listed = r.depends_on
        if isinstance(listed, str):
            listed = json.loads(listed or "[]")
        for d in listed or []:
            deps.append({"step": r.id, "dep": pk.get((r.revision_id, d))})
    if deps:
        table = sa.table(
            "step_deps", sa.column("step", sa.Integer()), sa.column("dep", sa.Integer())
        )
        conn.execute(sa.insert(table), deps)


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index("ix_steps_assignee_status")
        batch_op.drop_index("ix_steps_queue")
        batch_op.create_index("ix_steps_queue", ["revision_id", "assignee", "wo_seq"], unique=False)
    with op.batch_alter_table("step_deps", schema=None) as batch_op:
        batch_op.drop_index("ix_step_deps_step")
    op.drop_table("step_deps")
