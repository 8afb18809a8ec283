"""Database roles: the writer appends to the chain and never rewrites it; retention has a role of its own

Revision ID: 0007
Revises: 0006

On PostgreSQL set up by deploy/postgres/01-roles.sql (services/audit/adapters/roles.py); nothing elsewhere.
"""
from alembic import op

from services.audit.adapters.roles import apply_role_grants

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    apply_role_grants(op.get_bind())


def downgrade() -> None:
    pass
