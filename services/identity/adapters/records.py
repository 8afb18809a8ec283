"""SQL repositories for mailed tokens, the login throttle, consent records and mails."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.identity.adapters import tables as t
from services.identity.domain.model import Consent, EmailToken, Mail

_TOKEN_COLS = ("id", "user_id", "purpose", "token_hash", "created_at", "expires_at", "new_email", "used_at")
_MAIL_COLS = ("id", "user_id", "to_address", "template", "subject", "body", "policy_version", "created_at",
              "sent_at", "attempts", "last_error")



def _changed(result: Any) -> bool:
    """Whether an UPDATE/DELETE touched a row (its result is a CursorResult, which has rowcount)."""
    return bool(getattr(result, "rowcount", 0))

class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, token: EmailToken) -> None:
        self.s.execute(insert(t.email_tokens).values({c: getattr(token, c) for c in _TOKEN_COLS}))

    def by_hash(self, token_hash: str) -> EmailToken | None:
        row = self.s.execute(select(t.email_tokens).where(t.email_tokens.c.token_hash == token_hash)
                             ).mappings().first()
        return None if row is None else EmailToken(**{c: row[c] for c in _TOKEN_COLS})

    def use(self, token_id: str, at: datetime) -> bool:
        """Mark used; False when another request used it first (single use under races)."""
        et = t.email_tokens
        result = self.s.execute(update(et).where(et.c.id == token_id, et.c.used_at.is_(None)).values(used_at=at))
        return _changed(result)

    def supersede(self, user_id: str, purpose: str, at: datetime) -> None:
        """A newer token of the same kind makes older unused ones worthless."""
        et = t.email_tokens
        self.s.execute(update(et).where(et.c.user_id == user_id, et.c.purpose == purpose,
                                        et.c.used_at.is_(None)).values(used_at=at))

    def pending_email(self, user_id: str, now: datetime) -> str | None:
        et = t.email_tokens
        row = self.s.execute(select(et.c.new_email).where(et.c.user_id == user_id, et.c.purpose == "change_email",
                                                          et.c.used_at.is_(None), et.c.expires_at > now)
                             .order_by(et.c.created_at.desc()).limit(1)).first()
        return None if row is None else row[0]


def stored_throttle_key(secret: bytes, key: str) -> str:
    """The row key of a throttle key (a digest of an address): keyed with identity's secret, so a row read
    from the database or a backup cannot be matched to an address by hashing guesses."""
    return hmac.new(secret, b"login-throttle:" + key.encode(), hashlib.sha256).hexdigest()


class ThrottleRepository:
    """Consecutive failed logins per account key; the row is locked while a guess is being reserved. Rows
    are stored under ``stored_throttle_key``."""

    def __init__(self, session: Session, secret: bytes) -> None:
        self.s = session
        self.secret = secret

    def lock(self, key: str, now: datetime) -> tuple[int, datetime | None]:
        key = stored_throttle_key(self.secret, key)
        table = t.login_throttle
        dialect = self.s.get_bind().dialect.name
        values = {"key": key, "failures": 0, "next_allowed_at": None, "updated_at": now}
        if dialect == "postgresql":
            self.s.execute(postgresql.insert(table).values(values).on_conflict_do_nothing())
        else:
            self.s.execute(sqlite.insert(table).values(values).on_conflict_do_nothing())
        query = select(table.c.failures, table.c.next_allowed_at).where(table.c.key == key)
        if dialect == "postgresql":
            query = query.with_for_update()  # SQLite already holds the write lock (BEGIN IMMEDIATE)
        row = self.s.execute(query).one()
        return int(row[0]), row[1]

    def put(self, key: str, failures: int, next_allowed_at: datetime | None, now: datetime) -> None:
        key = stored_throttle_key(self.secret, key)
        table = t.login_throttle
        self.s.execute(update(table).where(table.c.key == key)
                       .values(failures=failures, next_allowed_at=next_allowed_at, updated_at=now))

    def failures(self, key: str) -> int:
        key = stored_throttle_key(self.secret, key)
        row = self.s.execute(select(t.login_throttle.c.failures).where(t.login_throttle.c.key == key)).first()
        return 0 if row is None else int(row[0])


class ConsentRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, consent: Consent) -> None:
        self.s.execute(insert(t.consents).values(
            user_id=consent.user_id, browser_id=consent.browser_id, analytics=consent.analytics,
            policy_version=consent.policy_version, source=consent.source, created_at=consent.created_at))

    def _latest(self, where: Any) -> Consent | None:
        c = t.consents
        row = self.s.execute(select(c).where(where).order_by(c.c.id.desc()).limit(1)).mappings().first()
        if row is None:
            return None
        return Consent(analytics=row["analytics"], policy_version=row["policy_version"], source=row["source"],
                       created_at=row["created_at"], user_id=row["user_id"], browser_id=row["browser_id"])

    def latest_for_user(self, user_id: str) -> Consent | None:
        return self._latest(t.consents.c.user_id == user_id)

    def latest_for_browser(self, browser_id: str) -> Consent | None:
        return self._latest((t.consents.c.browser_id == browser_id) & t.consents.c.user_id.is_(None))


class MailRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, mail: Mail) -> None:
        self.s.execute(insert(t.mails).values({c: getattr(mail, c) for c in _MAIL_COLS}))

    def pending(self, limit: int) -> list[Mail]:
        m = t.mails
        query = select(m).where(m.c.sent_at.is_(None)).order_by(m.c.created_at).limit(limit)
        if self.s.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)  # two workers never send the same mail
        return [Mail(**{c: r[c] for c in _MAIL_COLS}) for r in self.s.execute(query).mappings()]

    def mark_sent(self, mail_id: str, at: datetime) -> None:
        m = t.mails
        self.s.execute(update(m).where(m.c.id == mail_id)
                       .values(sent_at=at, body=None, attempts=m.c.attempts + 1, last_error=None))

    def mark_failed(self, mail_id: str, error: str) -> None:
        m = t.mails
        self.s.execute(update(m).where(m.c.id == mail_id)
                       .values(attempts=m.c.attempts + 1, last_error=error[:2000]))

    def for_user(self, user_id: str) -> list[Mail]:
        m = t.mails
        rows = self.s.execute(select(m).where(m.c.user_id == user_id).order_by(m.c.created_at)).mappings()
        return [Mail(**{c: r[c] for c in _MAIL_COLS}) for r in rows]
