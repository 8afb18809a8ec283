"""privacy requests: exports and their sections, erasures and their results, the erasure ledger, legal holds

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_exports",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("purged_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_privacy_exports_user_status", "privacy_exports", ["user_id", "status"])
    op.create_table(
        "privacy_export_sections",
        sa.Column("export_id", sa.String(36), sa.ForeignKey("privacy_exports.id"), primary_key=True),
        sa.Column("service", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("data", sa.Text, nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
    )
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("hold_until", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_erasure_requests_user_id", "erasure_requests", ["user_id"])
    running = sa.text("status = 'pending'")
    op.create_index("uq_erasure_requests_one_pending", "erasure_requests", ["user_id"], unique=True,
                    postgresql_where=running, sqlite_where=running)
    op.create_table(
        "erasure_results",
        sa.Column("request_id", sa.String(36), sa.ForeignKey("erasure_requests.id"), primary_key=True),
        sa.Column("service", sa.String(32), primary_key=True),
        sa.Column("erased", sa.Text, nullable=False),
        sa.Column("kept", sa.Text, nullable=False),
        sa.Column("answered_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "erasure_ledger",
        sa.Column("request_id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime(), nullable=True),
        sa.Column("replayed_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_erasure_ledger_user_id", "erasure_ledger", ["user_id"])
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("until", UtcDateTime(), nullable=True),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("placed_at", UtcDateTime(), nullable=False),
        sa.Column("released_at", UtcDateTime(), nullable=True),
        sa.Column("released_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_legal_holds_user_id", "legal_holds", ["user_id"])


def downgrade() -> None:
    op.drop_table("legal_holds")
    op.drop_index("ix_erasure_ledger_user_id", table_name="erasure_ledger")
    op.drop_table("erasure_ledger")
    op.drop_table("erasure_results")
    op.drop_index("uq_erasure_requests_one_pending", table_name="erasure_requests")
    op.drop_index("ix_erasure_requests_user_id", table_name="erasure_requests")
    op.drop_table("erasure_requests")
    op.drop_table("privacy_export_sections")
    op.drop_index("ix_privacy_exports_user_status", table_name="privacy_exports")
    op.drop_table("privacy_exports")
