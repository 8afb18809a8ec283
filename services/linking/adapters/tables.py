"""linking's tables (its own database; no other service reads them)."""

from sqlalchemy import Column, ForeignKey, Index, MetaData, String, Table, Text

from shared.db import UtcDateTime
from shared.inbox import dead_letters_table, processed_events_table
from shared.outbox import outbox_table

metadata = MetaData()
outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
dead_letters = dead_letters_table(metadata)

companies = Table(
    "companies",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    # casefolded, whitespace-collapsed name: unique, and what search matches against
    Column("name_key", String(200), nullable=False, unique=True),
    Column("domain", String(253), nullable=True),
    Column("primary_contact_user_id", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("company_id", String(36), ForeignKey("companies.id"), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("joined_at", UtcDateTime(), nullable=False),
    Index("ix_members_user_id", "user_id"),
)

link_requests = Table(
    "link_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("decided_by", String(64), nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_link_requests_company_status", "company_id", "status", "created_at"),
    Index("ix_link_requests_user_id", "user_id"),
)
# One pending request per user and company, enforced by the database even under concurrent requests.
_pending = link_requests.c.status == "pending"
Index("uq_link_requests_one_pending", link_requests.c.company_id, link_requests.c.user_id, unique=True,
      postgresql_where=_pending, sqlite_where=_pending)

# The projection of identity's users: contact details only, each field with the time it was true.
users = Table(
    "users",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("name", String(200), nullable=True),
    Column("email", String(320), nullable=True),
    Column("phone", String(64), nullable=True),
    Column("name_as_of", UtcDateTime(), nullable=True),
    Column("email_as_of", UtcDateTime(), nullable=True),
    Column("phone_as_of", UtcDateTime(), nullable=True),
)

# Accounts identity erased: their contact details must never come back into ``users``,
# whatever event arrives late or is replayed. Kept as a one-way key of the account id (SHA-256), so
# the table matches only someone who already holds the id and names no one by itself.
erased_users = Table(
    "erased_users",
    metadata,
    Column("user_key", String(64), primary_key=True),
    Column("request_id", String(64), nullable=False),  # the erasure request that erased them first
    Column("erased_at", UtcDateTime(), nullable=False),
)
