"""per-person keys (crypto-shredding) and the blind index of actors

Revision ID: 0004
Revises: 0003

Rows stored before this revision keep their plaintext actor and payload (their hashes cover that text;
rewriting them would break the chain): only ``actor_ix`` is filled in for them, so search by actor finds
old and new rows alike. See docs/audit.md, "Erasure".
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from services.audit.config import Settings
    from services.audit.domain.sealing import person_token

    bind = op.get_bind()
    op.add_column("audit_events", sa.Column("actor_ix", sa.String(32), nullable=True))
    if bind.dialect.name != "sqlite":  # SQLite does not enforce lengths; a sealed actor is longer
        op.alter_column("audit_events", "actor", type_=sa.String(1200), existing_nullable=False)
    key = Settings.from_env().actor_index_key
    actors = [a for (a,) in bind.execute(sa.text("SELECT DISTINCT actor FROM audit_events"))]
    if actors:  # one indexed UPDATE per distinct actor (the old actor index is still there)
        bind.execute(sa.text("UPDATE audit_events SET actor_ix = :ix WHERE actor = :actor"),
                     [{"ix": person_token(key, a), "actor": a} for a in actors])
    op.create_index("ix_audit_events_actor_ix_seq", "audit_events", ["actor_ix", "seq"])
    op.drop_index("ix_audit_events_actor_seq", table_name="audit_events")
    op.create_table(
        "audit_person_keys",
        sa.Column("person", sa.String(32), primary_key=True),
        sa.Column("wrapped", sa.String(100), nullable=True),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("destroyed_at", UtcDateTime(), nullable=True),
        sa.Column("erasure_request_id", sa.String(200), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("audit_person_keys")
    op.create_index("ix_audit_events_actor_seq", "audit_events", ["actor", "seq"])
    op.drop_index("ix_audit_events_actor_ix_seq", table_name="audit_events")
    op.drop_column("audit_events", "actor_ix")
