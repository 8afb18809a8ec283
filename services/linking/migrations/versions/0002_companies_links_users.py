"""companies, members, link requests and the users projection

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False, unique=True),
        sa.Column("domain", sa.String(253), nullable=True),
        sa.Column("primary_contact_user_id", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "members",
        sa.Column("company_id", sa.String(36), sa.ForeignKey("companies.id"), primary_key=True),
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("joined_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_members_user_id", "members", ["user_id"])
    op.create_table(
        "link_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("company_id", sa.String(36), sa.ForeignKey("companies.id"), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("decided_at", UtcDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
    )
    op.create_index("ix_link_requests_company_status", "link_requests", ["company_id", "status", "created_at"])
    op.create_index("ix_link_requests_user_id", "link_requests", ["user_id"])
    pending = sa.text("status = 'pending'")
    op.create_index("uq_link_requests_one_pending", "link_requests", ["company_id", "user_id"], unique=True,
                    postgresql_where=pending, sqlite_where=pending)
    op.create_table(
        "users",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(64), nullable=True),
        sa.Column("name_as_of", UtcDateTime(), nullable=True),
        sa.Column("email_as_of", UtcDateTime(), nullable=True),
        sa.Column("phone_as_of", UtcDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("users")
    op.drop_index("uq_link_requests_one_pending", table_name="link_requests")
    op.drop_table("link_requests")
    op.drop_index("ix_members_user_id", table_name="members")
    op.drop_table("members")
    op.drop_table("companies")
