"""compliance: retention records, person references, legal holds, disclosures, trends rollup

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
        "audit_retention_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("removed", sa.BigInteger, nullable=False),
        sa.Column("kept", sa.BigInteger, nullable=False),
        sa.Column("kept_digest", sa.String(64), nullable=False),
        sa.Column("anchor_hash", sa.String(64), nullable=False),
        sa.Column("cutoff", sa.String(40), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_person_refs",
        sa.Column("user_id", sa.String(200), primary_key=True),
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    )
    op.create_table(
        "audit_legal_holds",
        sa.Column("hold_id", sa.String(100), primary_key=True),
        sa.Column("user_id", sa.String(200), nullable=False, index=True),
        sa.Column("placed_at", UtcDateTime(), nullable=False),
        sa.Column("until", UtcDateTime(), nullable=True),
        sa.Column("released_at", UtcDateTime(), nullable=True),
    )
    op.create_table(
        "audit_disclosures",
        sa.Column("n", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("subject_user_id", sa.String(200), nullable=False, index=True),
        sa.Column("recipient", sa.String(300), nullable=False),
        sa.Column("legal_basis", sa.String(300), nullable=False),
        sa.Column("data_categories", sa.Text, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("source_event_id", sa.String(36), nullable=True, unique=True),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("disclosed_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "audit_trend_counts",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("item_id", sa.String(100), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "audit_trend_people",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("item_id", sa.String(100), primary_key=True),
        sa.Column("person", sa.String(32), primary_key=True),
    )


def downgrade() -> None:
    for name in ("audit_trend_people", "audit_trend_counts", "audit_disclosures", "audit_legal_holds",
                 "audit_person_refs", "audit_retention_records"):
        op.drop_table(name)
