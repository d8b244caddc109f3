"""steps.check_seq and steps.check_path: a check's place and walk in its technician's sequence

The plan decides each technician's sequence (their own steps and their checks of robots'
robot+technician steps) and each walk in it (workorders.json 2.0). A step row carries its
assignee's order (``wo_seq``) and walk (``path``); a robot's step that a technician checks also
carries the check's order and walk in that technician's sequence, so the tablet shows the
check where the plan put it, with the plan's path. Plans loaded before this revision keep 0 and
no path.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTER TABLE (see 0003: batch mode cannot copy a table others reference on SQLite)
    op.add_column("steps", sa.Column("check_seq", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("steps", sa.Column("check_path", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("steps", "check_path")
    op.drop_column("steps", "check_seq")
