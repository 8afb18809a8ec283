"""Privacy requests as plain records, and their rules: due dates, legal holds, download links, and what
identity itself erases and keeps (docs/privacy.md)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

IDENTITY = "identity"
EXPORT_DUE = timedelta(days=30)  # the legal deadline to answer an access request
PENDING, COMPLETED, WITHHELD, EXPIRED = "pending", "completed", "withheld", "expired"


@dataclass
class PrivacyExport:
    id: str
    user_id: str
    status: str  # pending | completed
    requested_at: datetime
    due_at: datetime
    completed_at: datetime | None = None
    purged_at: datetime | None = None

    def available_until(self, keep: timedelta) -> datetime | None:
        return None if self.completed_at is None else self.completed_at + keep

    def view_status(self, now: datetime, keep: timedelta) -> str:
        """``expired`` once a completed export's data is gone or past its keeping time."""
        until = self.available_until(keep)
        if self.purged_at is not None or (until is not None and now >= until):
            return EXPIRED
        return self.status


@dataclass
class ExportSection:
    export_id: str
    service: str
    status: str  # pending | completed
    data: Any = None
    received_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class Kept:
    """Something a service keeps after an erasure: what, why, and until when (None: no end date)."""

    data: str
    reason: str
    until: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "reason": self.reason, "until": self.until}


@dataclass
class ErasureResult:
    service: str
    erased: list[str]
    kept: list[Kept]
    answered_at: datetime


@dataclass
class ErasureRequest:
    id: str
    user_id: str
    status: str  # pending | completed | withheld
    requested_at: datetime
    completed_at: datetime | None = None
    reason: str | None = None  # why it was withheld
    hold_until: datetime | None = None
    results: dict[str, ErasureResult] = field(default_factory=dict)


@dataclass
class LegalHold:
    id: str
    user_id: str
    reason: str
    until: datetime | None
    owner_id: str
    placed_at: datetime
    released_at: datetime | None = None
    released_by: str | None = None

    def active(self, now: datetime) -> bool:
        return self.released_at is None and (self.until is None or self.until > now)


@dataclass
class LedgerEntry:
    request_id: str
    user_id: str
    requested_at: datetime
    completed_at: datetime | None = None
    replayed_at: datetime | None = None


def withheld_reason(holds: list[LegalHold]) -> tuple[str, datetime | None]:
    """What the person is told when legal holds stop their erasure, and until when at the latest
    (None when a hold has no end date)."""
    reasons = "; ".join(dict.fromkeys(h.reason for h in holds))
    until = None if any(h.until is None for h in holds) else max(h.until for h in holds if h.until)
    return f"A legal hold requires us to keep your data: {reasons}", until


# --- download links ---------------------------------------------------------------------------------
# A link works only for the person who asked (the signature binds the export to their user id, and the
# download checks the caller's session too) and only until it expires.

def download_signature(secret: bytes, export_id: str, user_id: str, expires: int) -> str:
    message = f"privacy-export:{export_id}:{user_id}:{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def download_link_valid(secret: bytes, export_id: str, user_id: str, expires: int, signature: str,
                        now: datetime) -> tuple[bool, bool]:
    """``(signature ok, still valid)``."""
    ok = hmac.compare_digest(download_signature(secret, export_id, user_id, expires), signature)
    return ok, expires > now.timestamp()


# --- identity's own erasure ---------------------------------------------------------------------------

def erased_email(user_id: str) -> str:
    """What replaces an erased address: unique (the column is), reserved (.invalid), and it frees the
    real address for a new account."""
    return f"erased-{user_id}@erased.invalid"


UNUSABLE_PASSWORD = "!erased"  # noqa: S105 - not a password: no argon2 hash matches it, so login fails

IDENTITY_ERASED = [
    "profile: name, email address, phone number",
    "password",
    "sessions: devices (user agent) and IP addresses; every session ended",
    "cookie consent records of the account",
    "policy acceptances",
    "staff roles",
    "pending email confirmation and password reset links",
    "addresses and contents of the mails sent to you",
    "data exports prepared for you",
    "failed-login counter keyed by your address",
]

IDENTITY_KEPT = [
    Kept("account id (random, no contact data) with the date the account was closed",
         "so that nobody can take over the account and your erasure can be re-applied after a restore "
         "from backup", None),
    Kept("the record of this erasure request and its results",
         "proof that the erasure was carried out (accountability)", None),
    Kept("dates and kinds of mails sent to you (no address, no content)",
         "proof that legally required notices (policy changes) were sent", None),
    Kept("legal holds placed on your account, if any", "legal obligation", None),
]
