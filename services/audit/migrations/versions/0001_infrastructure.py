"""infrastructure tables: outbox, processed events, dead letters

Revision ID: 0001
Revises:
"""
from alembic import op

from shared.migrations import create_infra_tables, drop_infra_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_infra_tables(op)


def downgrade() -> None:
    drop_infra_tables(op)
