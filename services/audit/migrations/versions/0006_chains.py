"""K chains: each row and checkpoint names its chain, signed roots over every chain's head, the sequence
that numbers rows when several chains are written at once (docs/audit.md, "Several chains")

Revision ID: 0006
Revises: 0005

Existing rows and checkpoints belong to chain 0; a store of one chain stays what it was.
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("chain", sa.SmallInteger, nullable=False, server_default="0"))
    with op.batch_alter_table("audit_checkpoints") as batch:
        batch.add_column(sa.Column("chain", sa.SmallInteger, nullable=False, server_default="0"))
    op.create_table(
        "audit_roots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("heads", sa.Text, nullable=False),  # the signed JSON list [[chain, seq, hash], ...]
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE IF NOT EXISTS audit_events_seq")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE IF EXISTS audit_events_seq")
    op.drop_table("audit_roots")
    with op.batch_alter_table("audit_checkpoints") as batch:
        batch.drop_column("chain")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("chain")
