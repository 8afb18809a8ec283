"""Retention records name their chain: in a store of several chains each chain's old range is cut on its own
(docs/audit.md, "Retention")

Revision ID: 0008
Revises: 0007

Existing records cover chain 0 (a store of one chain). Table-level grants (0007) cover the new column.
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_retention_records") as batch:
        batch.add_column(sa.Column("chain", sa.SmallInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("audit_retention_records") as batch:
        batch.drop_column("chain")
