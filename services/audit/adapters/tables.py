"""audit's tables (its own database; no other service reads them)."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    type_coerce,
)

from services.audit.domain.chain import iso
from shared.db import UtcDateTime
from shared.inbox import dead_letters_table, processed_events_table
from shared.outbox import outbox_table

# On SQLite only INTEGER PRIMARY KEY is the rowid itself; BIGINT would add a second B-tree to every insert.
SEQ = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()
outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
dead_letters = dead_letters_table(metadata)

# The server log store. ``seq`` is assigned by the consumer under the chain-head lock, never by the
# database, so the chain order is the storage order whatever the number of workers.
audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(100), nullable=False),
    # A person's actor is stored sealed (``domain/sealing.py``); ``actor_ix`` is the blind index of
    # every row's actor (keyed HMAC), the search key. Not hashed: an index, derived from the actor.
    Column("actor", String(1200), nullable=False),  # up to 200 characters, sealed: longer
    Column("actor_ix", String(32), nullable=True),
    Column("subject", String(500), nullable=False),
    Column("correlation_id", String(200), nullable=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("stored_at", UtcDateTime(), nullable=False),
    Column("producer", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # Which of the store's chains the row is linked into (0 when the store has one; docs/audit.md, "Several
    # chains"). Not hashed: a row moved to another chain no longer links into either.
    Column("chain", SmallInteger, nullable=False, server_default="0"),
    # Search indexes end with seq so a filter plus keyset paging is one index range scan.
    Index("ix_audit_events_actor_ix_seq", "actor_ix", "seq"),
    Index("ix_audit_events_subject_seq", "subject", "seq"),
    Index("ix_audit_events_type_seq", "type", "seq"),
    Index("ix_audit_events_correlation_seq", "correlation_id", "seq"),
    Index("ix_audit_events_occurred_seq", "occurred_at", "seq"),
)

# Per-person keys (crypto-shredding): ``person`` is the blind index of the user id, ``wrapped`` the key
# encrypted under the wrap key (never in the database); NULL once destroyed by an erasure (a tombstone).
person_keys = Table(
    "audit_person_keys",
    metadata,
    Column("person", String(32), primary_key=True),
    Column("wrapped", String(100), nullable=True),
    Column("key_id", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("destroyed_at", UtcDateTime(), nullable=True),
    Column("erasure_request_id", String(200), nullable=True),
)

# One row per chain (id = chain + 1; one chain: id = 1):
# the last sequence number and hash, the last checkpoint, and the writer's Ed25519
# signature over them (the same signed head is appended to the external anchor). Locked by every batch
# (FOR UPDATE / BEGIN IMMEDIATE) so concurrent workers append one after the other.
chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("checkpoint_seq", BigInteger, nullable=False, server_default="0"),
    Column("signed_at", String(40), nullable=True),
    Column("key_id", String(16), nullable=True),
    Column("signature", String(200), nullable=True),
)

checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),  # the signed text, kept verbatim
    Column("key_id", String(16), nullable=False),
    Column("signature", String(200), nullable=False),
    # The checkpoint before this one (0: none), signed with it: a dropped checkpoint is named by the next.
    # NULL only on checkpoints signed with the old HMAC key, until ``portal audit resign``.
    Column("prev_seq", BigInteger, nullable=True),
    Column("chain", SmallInteger, nullable=False, server_default="0"),
)

# With several chains: at every checkpoint, the writer signs the heads of all chains as one root.
roots = Table(
    "audit_roots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("heads", Text, nullable=False),  # the signed JSON list [[chain, seq, hash], ...]
    Column("created_at", String(40), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", String(200), nullable=False),
)

retention_records = Table(
    "audit_retention_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("removed", BigInteger, nullable=False),
    Column("kept", BigInteger, nullable=False),
    Column("kept_digest", String(64), nullable=False),
    Column("anchor_hash", String(64), nullable=False),
    Column("cutoff", String(40), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", String(200), nullable=False),
    Column("chain", SmallInteger, nullable=False, server_default="0"),  # whose range (several chains)
)

# Who an access to personal data was about (``*.pii.accessed`` events): a person sees these rows'
# events in /me/events. Kept in step with audit_events by the consumer, in the same transaction.
person_refs = Table(
    "audit_person_refs",
    metadata,
    Column("user_id", String(200), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
)

legal_holds = Table(
    "audit_legal_holds",
    metadata,
    Column("hold_id", String(100), primary_key=True),
    Column("user_id", String(200), nullable=False, index=True),
    Column("placed_at", UtcDateTime(), nullable=False),
    Column("until", UtcDateTime(), nullable=True),
    Column("released_at", UtcDateTime(), nullable=True),
)

disclosures = Table(
    "audit_disclosures",
    metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),  # keyset paging in entry order
    Column("id", String(36), nullable=False, unique=True),
    Column("subject_user_id", String(200), nullable=False, index=True),
    Column("recipient", String(300), nullable=False),
    Column("legal_basis", String(300), nullable=False),
    Column("data_categories", Text, nullable=False),  # JSON list
    Column("source", String(20), nullable=False),  # manual | event
    Column("source_event_id", String(36), nullable=True, unique=True),
    Column("recorded_by", String(200), nullable=False),
    Column("disclosed_at", UtcDateTime(), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

# Trends rollup: views/downloads per day and item, and who (as keyed digests) to count distinct people.
trend_counts = Table(
    "audit_trend_counts",
    metadata,
    Column("day", Date, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("item_id", String(100), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

trend_people = Table(
    "audit_trend_people",
    metadata,
    Column("day", Date, primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("item_id", String(100), primary_key=True),
    Column("person", String(32), primary_key=True),
)


class IsoTime(TypeDecorator):
    """Reads a stored ``UtcDateTime`` straight into its ISO text (``chain.iso``), for the bulk readers
    (verification, export, search) where parsing a datetime per row was a third of the time."""

    impl = UtcDateTime
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite: "2026-01-31 12:00:00.000000", naive UTC
            if len(value) == 26 and value[10] == " ":
                return f"{value[:10]}T{value[11:]}+00:00"
            value = datetime.fromisoformat(value)
        return iso(value)

    def result_processor(self, dialect: Any, coltype: Any):
        # Skip UtcDateTime's own processing (and SQLite's string-to-datetime parsing): raw value in.
        slow = self.process_result_value

        def process(value: Any) -> str | None:
            if type(value) is str and len(value) == 26 and value[10] == " ":
                return value[:10] + "T" + value[11:] + "+00:00"
            return slow(value, dialect)

        return process


STORED_FIELDS = ("seq", "event_id", "type", "version", "occurred_at", "stored_at", "producer", "actor", "subject",
                 "correlation_id", "payload", "prev_hash", "hash")
CHAINED_FIELDS = (*STORED_FIELDS, "chain")  # what the verifier reads


def stored_row_columns(fields: tuple[str, ...] = STORED_FIELDS) -> list[Any]:
    """Every stored field, times read as ISO text (``IsoTime``)."""
    return [type_coerce(audit_events.c[name], IsoTime()).label(name) if name in ("occurred_at", "stored_at")
            else audit_events.c[name] for name in fields]
