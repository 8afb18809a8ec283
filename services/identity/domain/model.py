"""The records identity keeps, as plain dataclasses (repositories map them to rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class User:
    id: str
    name: str
    email: str
    phone: str | None
    password_hash: str
    email_verified: bool
    created_at: datetime
    updated_at: datetime
    password_changed_at: datetime
    erased_at: datetime | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    def profile(self) -> dict:
        """What the owner (or need-to-know staff) may see: never a secret."""
        return {"id": self.id, "name": self.name, "email": self.email, "phone": self.phone,
                "email_verified": self.email_verified}


@dataclass
class LoginSession:
    id: str
    user_id: str
    token_hash: str
    csrf_hash: str
    user_agent: str
    client_ip: str
    created_at: datetime
    last_seen_at: datetime
    auth_time: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    end_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass
class PolicyVersion:
    version: str
    seq: int
    published_at: datetime
    reduces_rights: bool
    text: str = ""


@dataclass
class EmailToken:
    id: str
    user_id: str
    purpose: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    new_email: str | None = None
    used_at: datetime | None = None


@dataclass
class Consent:
    analytics: bool
    policy_version: str | None
    source: str
    created_at: datetime
    user_id: str | None = None
    browser_id: str | None = None


@dataclass
class Mail:
    id: str
    user_id: str | None
    to_address: str
    template: str
    subject: str
    body: str | None
    policy_version: str | None
    created_at: datetime
    sent_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
