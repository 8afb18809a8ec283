"""identity's tables (its own database; no other service reads them).

Secrets are stored only as hashes: session tokens, CSRF tokens and mailed tokens as SHA-256,
passwords as argon2id. Migrations freeze these shapes; change them only with a new revision.
"""

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from shared.db import UtcDateTime
from shared.inbox import dead_letters_table, processed_events_table
from shared.outbox import _ID, outbox_table

metadata = MetaData()
outbox = outbox_table(metadata)
processed_events = processed_events_table(metadata)
dead_letters = dead_letters_table(metadata)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False),  # stored lowercased
    Column("phone", String(40), nullable=True),
    Column("password_hash", String(255), nullable=False),
    Column("email_verified", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("password_changed_at", UtcDateTime(), nullable=False),
    Column("erased_at", UtcDateTime(), nullable=True),
    UniqueConstraint("email", name="uq_users_email"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("csrf_hash", String(64), nullable=False),
    Column("user_agent", String(512), nullable=False, default=""),
    Column("client_ip", String(64), nullable=False, default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_seen_at", UtcDateTime(), nullable=False),
    Column("auth_time", UtcDateTime(), nullable=False),  # last time the password was proved
    Column("expires_at", UtcDateTime(), nullable=False),  # absolute end, whatever the activity
    Column("ended_at", UtcDateTime(), nullable=True),
    Column("end_reason", String(40), nullable=True),
    Index("ix_sessions_user_ended", "user_id", "ended_at"),
    UniqueConstraint("token_hash", name="uq_sessions_token_hash"),
)

user_roles = Table(
    "user_roles",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("role", String(32), primary_key=True),
    Column("granted_at", UtcDateTime(), nullable=False),
    Column("granted_by", String(200), nullable=False),
)

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("seq", Integer, nullable=False, unique=True),  # publication order
    Column("published_at", UtcDateTime(), nullable=False),
    Column("reduces_rights", Boolean, nullable=False, default=False),
    Column("text", Text, nullable=False, default=""),
)

policy_acceptances = Table(
    "policy_acceptances",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("version", String(64), ForeignKey("policy_versions.version"), nullable=False),
    Column("accepted_at", UtcDateTime(), nullable=False),
    UniqueConstraint("user_id", "version", name="uq_policy_acceptances_user_version"),
)

# --- verification, recovery, throttling, consent, mail -------------------------------------------

email_tokens = Table(
    "email_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("purpose", String(20), nullable=False),  # verify_email | change_email | reset_password
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("new_email", String(254), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
)

login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", String(64), primary_key=True),  # sha256 of the lowercased email: known or not
    Column("failures", Integer, nullable=False, default=0),
    Column("next_allowed_at", UtcDateTime(), nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

consents = Table(
    "consents",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=True, index=True),
    Column("browser_id", String(64), nullable=True, index=True),
    Column("analytics", Boolean, nullable=False),
    Column("policy_version", String(64), nullable=True),
    Column("source", String(20), nullable=False),  # browser | account | login_carry
    Column("created_at", UtcDateTime(), nullable=False),
)

mails = Table(
    "mails",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=True, index=True),
    Column("to_address", String(254), nullable=False),
    Column("template", String(40), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=True),  # cleared once sent: it may hold a single-use token
    Column("policy_version", String(64), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Index("ix_mails_sent_at", "sent_at"),
)

# --- privacy requests (docs/privacy.md) ----------------------------------------------------------

privacy_exports = Table(
    "privacy_exports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("status", String(16), nullable=False),  # pending | completed
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("purged_at", UtcDateTime(), nullable=True),  # the sections' data was deleted (expired)
    Index("ix_privacy_exports_user_status", "user_id", "status"),
)

privacy_export_sections = Table(
    "privacy_export_sections",
    metadata,
    Column("export_id", String(36), ForeignKey("privacy_exports.id"), primary_key=True),
    Column("service", String(32), primary_key=True),
    Column("status", String(16), nullable=False),  # pending | completed
    Column("data", Text, nullable=True),  # the service's answer (JSON); deleted when the export expires
    Column("received_at", UtcDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(500), nullable=True),
)

erasure_requests = Table(
    "erasure_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # pending | completed | withheld
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("reason", Text, nullable=True),  # why it was withheld
    Column("hold_until", UtcDateTime(), nullable=True),
)
# One running erasure per person, even when two requests race.
_running = erasure_requests.c.status == "pending"
Index("uq_erasure_requests_one_pending", erasure_requests.c.user_id, unique=True,
      postgresql_where=_running, sqlite_where=_running)

erasure_results = Table(
    "erasure_results",
    metadata,
    Column("request_id", String(36), ForeignKey("erasure_requests.id"), primary_key=True),
    Column("service", String(32), primary_key=True),
    Column("erased", Text, nullable=False),  # JSON list of strings
    Column("kept", Text, nullable=False),  # JSON list of {data, reason, until}
    Column("answered_at", UtcDateTime(), nullable=False),
)

erasure_ledger = Table(
    "erasure_ledger",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False, index=True),
    Column("requested_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("replayed_at", UtcDateTime(), nullable=True),
)

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False, index=True),
    Column("reason", Text, nullable=False),
    Column("until", UtcDateTime(), nullable=True),  # null: until released
    Column("owner_id", String(64), nullable=False),
    Column("placed_at", UtcDateTime(), nullable=False),
    Column("released_at", UtcDateTime(), nullable=True),
    Column("released_by", String(64), nullable=True),
)
