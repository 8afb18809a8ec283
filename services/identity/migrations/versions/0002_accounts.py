"""accounts: users, sessions, roles, policy versions and acceptances; seeds policy version "1"

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from shared import clock
from shared.db import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INITIAL_POLICY = (
    "Initial privacy policy. Published with the platform; replace it with "
    "`portal policy publish --version V --file F`."
)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("email_verified", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("password_changed_at", UtcDateTime(), nullable=False),
        sa.Column("erased_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("csrf_hash", sa.String(64), nullable=False),
        sa.Column("user_agent", sa.String(512), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("auth_time", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(40), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
    )
    op.create_index("ix_sessions_user_ended", "sessions", ["user_id", "ended_at"])
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True),
        sa.Column("granted_at", UtcDateTime(), nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
    )
    policy = op.create_table(
        "policy_versions",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=False),
        sa.Column("reduces_rights", sa.Boolean, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.UniqueConstraint("seq", name="uq_policy_versions_seq"),
    )
    op.create_table(
        "policy_acceptances",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("version", sa.String(64), sa.ForeignKey("policy_versions.version"), nullable=False),
        sa.Column("accepted_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "version", name="uq_policy_acceptances_user_version"),
    )
    # A policy is in force from the first start, so GET /policy always answers (docs/identity.md).
    op.bulk_insert(policy, [{"version": "1", "seq": 1, "published_at": clock.now(),
                             "reduces_rights": False, "text": INITIAL_POLICY}])


def downgrade() -> None:
    op.drop_table("policy_acceptances")
    op.drop_table("policy_versions")
    op.drop_table("user_roles")
    op.drop_index("ix_sessions_user_ended", table_name="sessions")
    op.drop_table("sessions")
    op.drop_table("users")
