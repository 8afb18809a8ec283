"""privacy requests: kept complaints' retention date, the record of erased people

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column is a plain ALTER TABLE ... ADD COLUMN on SQLite and PostgreSQL alike.
    op.add_column("queries", sa.Column("retain_until", UtcDateTime(), nullable=True))
    op.create_index("ix_queries_retain_until", "queries", ["retain_until"])
    op.create_table(
        "erasures",
        sa.Column("user_key", sa.String(64), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("erased_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erasures")
    op.drop_index("ix_queries_retain_until", table_name="queries")
    with op.batch_alter_table("queries") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("retain_until")
