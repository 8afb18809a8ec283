"""content's tables (its own database; no other service reads them)."""

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, MetaData, String, Table, Text

from shared.db import UtcDateTime
from shared.inbox import dead_letters_table, processed_events_table
from shared.outbox import outbox_table

metadata = MetaData()
outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
dead_letters = dead_letters_table(metadata)

ID = String(36)  # UUID4 text: the same on SQLite and PostgreSQL, and the ids other services see

items = Table(
    "items",
    metadata,
    Column("id", ID, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("company_id", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_items_listing", "status", "visibility", "created_at"),
    Index("ix_items_company", "company_id"),
)

collaterals = Table(
    "collaterals",
    metadata,
    Column("id", ID, primary_key=True),
    Column("item_id", ID, ForeignKey("items.id"), nullable=False, index=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(127), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(255), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# The local projection of linking's memberships. A removal keeps the row (active = false) so that an
# older, late "added" event redelivered after it cannot bring the access back: ``as_of`` is the
# occurred_at of the newest event applied to the pair.
memberships = Table(
    "memberships",
    metadata,
    Column("company_id", String(64), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("as_of", UtcDateTime(), nullable=False),
    Index("ix_memberships_user", "user_id", "active"),
)

queries = Table(
    "queries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("owner_id", String(64), nullable=True, index=True),
    Column("due_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    # Set on a complaint kept after its author's erasure (under a pseudonym): deleted after this.
    Column("retain_until", UtcDateTime(), nullable=True, index=True),
)

# Every follow-up of a query or complaint: replies, status changes, assignments, due-date changes.
query_entries = Table(
    "query_entries",
    metadata,
    Column("id", ID, primary_key=True),
    Column("query_id", ID, ForeignKey("queries.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),  # order within the query (entries of one change share a time)
    Column("kind", String(16), nullable=False),
    Column("author_id", String(64), nullable=False),
    Column("by_staff", Boolean, nullable=False),
    Column("body", Text, nullable=False),
    Column("from_value", String(64), nullable=True),
    Column("to_value", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

# Whom content has erased, by a one-way key of the user id (``domain.privacy.erasure_key``): a late or
# redelivered event about that person (a membership retried after the erasure) must not bring data
# about them back. No user id is stored.
erasures = Table(
    "erasures",
    metadata,
    Column("user_key", String(64), primary_key=True),
    Column("request_id", String(64), nullable=False),
    Column("erased_at", UtcDateTime(), nullable=False),
)
