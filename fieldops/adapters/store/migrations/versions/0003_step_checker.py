"""steps.checker: the technician booked to confirm a robot's robot+technician step

A robot's step that needs a technician's scan waits in ``awaiting_confirmation`` once the robot
has finished; the schedule books a technician for that check. The column puts the check into
that technician's next step and queue. Plans loaded before this revision keep '' (any
technician may still confirm such a step; it is just not offered to one).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: batch mode copies ``steps`` into a new table, which SQLite
# refuses while confirmations, problems and step_deps hold foreign keys to it. SQLite has had
# ADD and DROP COLUMN since 3.35.


def upgrade() -> None:
    op.add_column(
        "steps", sa.Column("checker", sa.String(length=100), nullable=False, server_default="")
    )
    op.create_index("ix_steps_checker", "steps", ["revision_id", "checker", "status"])


def downgrade() -> None:
    op.drop_index("ix_steps_checker", table_name="steps")
    op.drop_column("steps", "checker")
