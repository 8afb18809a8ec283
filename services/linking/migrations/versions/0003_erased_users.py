"""erased users: one-way keys of the accounts whose contact details must never come back

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
    op.create_table(
        "erased_users",
        sa.Column("user_key", sa.String(64), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("erased_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erased_users")
