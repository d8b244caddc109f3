"""steps.cable: a cable or cord step's card (ID, media, SKU, length, tray path, both ends)

The tablet shows both ends of a cable (From/To), and a scan-to-confirm needs the label at each
end: the store keeps each cable step's ends (from the step's action, as the plan decided
them) where the confirmation and the step page read them. Plans loaded before this revision
keep null: their cable steps show no From/To and confirm on one end as before.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ALTER TABLE (see 0003: batch mode cannot copy a table others reference on SQLite)
    op.add_column("steps", sa.Column("cable", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("steps", "cable")
