"""identity's rules: names, roles, password policy, session lifetimes, guessing delays."""

from __future__ import annotations

import functools
import gzip
import hashlib
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from services.identity.domain.errors import Invalid

STAFF_ROLES = ("admin", "compliance", "support", "editor")
PASSWORD_MIN = 12  # NIST 800-63B asks for at least 8; a portal holding personal data asks a little more
PASSWORD_MAX = 1024  # bounds the work one request can ask of the hasher
COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")


def normalize_email(email: str) -> str:
    """Addresses are compared and stored lowercased, surrounding spaces removed."""
    return email.strip().lower()


def check_password(password: str, field: str = "password") -> None:
    """NIST 800-63B / ASVS 2.1: a length range and no password from a list of the most common ones."""
    if len(password) < PASSWORD_MIN:
        raise Invalid("The password is too short.",
                      fields={field: [f"Use at least {PASSWORD_MIN} characters."]})
    if len(password) > PASSWORD_MAX:
        raise Invalid("The password is too long.",
                      fields={field: [f"Use at most {PASSWORD_MAX} characters."]})
    if password.strip().lower() in common_passwords():
        raise Invalid("This password is one of the most common ones.",
                      fields={field: ["This password is too common: it would be among the first guessed."]})


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 19,640 most common passwords of breach corpora (lowercased; Royce Williams's list as Django ships
    it, ``common-passwords.txt.gz`` beside this module)."""
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def check_role(role: str) -> str:
    if role not in STAFF_ROLES:
        raise Invalid(f"Unknown role {role!r}.", fields={"role": [f"One of: {', '.join(STAFF_ROLES)}."]})
    return role


def new_token() -> str:
    """An opaque 256-bit secret, URL-safe (cookie values, CSRF tokens, mailed links)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored instead of a token: its SHA-256 (the token has 256 bits; no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_end_reason(now: datetime, last_seen_at: datetime, expires_at: datetime,
                       idle: timedelta) -> str | None:
    """Why a still-open session must end now, or None if it is still valid."""
    if now >= expires_at:
        return "absolute_timeout"
    if now - last_seen_at >= idle:
        return "idle_timeout"
    return None


def guess_delay(failures: int, free: int, max_delay: int) -> int:
    """Seconds to wait before the next guess after ``failures`` consecutive failures on one account.

    The first ``free`` failures cost nothing (typos); then the delay doubles, up to ``max_delay``.
    """
    if failures < free:
        return 0
    return min(max_delay, 2 ** (failures - free))
