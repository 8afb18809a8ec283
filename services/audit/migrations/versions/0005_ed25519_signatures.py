"""Ed25519 signatures: a signed chain head, linked checkpoints, room for longer signatures

Revision ID: 0005
Revises: 0004

Checkpoints and retention records signed before this revision keep their HMAC signature (and no link);
``portal audit resign`` checks them with the old key and signs them again (docs/audit.md, "Signing
keys"). The head starts unsigned and names the last existing checkpoint.
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_chain_head") as batch:
        batch.add_column(sa.Column("checkpoint_seq", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("signed_at", sa.String(40), nullable=True))
        batch.add_column(sa.Column("key_id", sa.String(16), nullable=True))
        batch.add_column(sa.Column("signature", sa.String(200), nullable=True))
    with op.batch_alter_table("audit_checkpoints") as batch:
        batch.alter_column("signature", type_=sa.String(200), existing_nullable=False)
        batch.add_column(sa.Column("prev_seq", sa.BigInteger, nullable=True))
    with op.batch_alter_table("audit_retention_records") as batch:
        batch.alter_column("signature", type_=sa.String(200), existing_nullable=False)
    op.execute("UPDATE audit_chain_head SET checkpoint_seq = "
               "(SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints) WHERE id = 1")


def downgrade() -> None:
    with op.batch_alter_table("audit_retention_records") as batch:
        batch.alter_column("signature", type_=sa.String(64), existing_nullable=False)
    with op.batch_alter_table("audit_checkpoints") as batch:
        batch.drop_column("prev_seq")
        batch.alter_column("signature", type_=sa.String(64), existing_nullable=False)
    with op.batch_alter_table("audit_chain_head") as batch:
        for name in ("signature", "key_id", "signed_at", "checkpoint_seq"):
            batch.drop_column(name)
