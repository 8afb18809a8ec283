"""SQL repositories for mailed tokens, the login throttle, consent records and mails."""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
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
    """Consecutive failed logins per account key; the rows are locked while a guess is being reserved. Rows
    are stored under ``stored_throttle_key``. A login's guess counts on one or two rows: each method takes
    them all in one statement (PostgreSQL: two for ``lock``), built once per dialect with bound parameters, so
    SQLAlchemy compiles each once per process."""

    def __init__(self, session: Session, secret: bytes) -> None:
        self.s = session
        self.secret = secret

    def _stored(self, keys: Sequence[str]) -> list[str]:
        return [stored_throttle_key(self.secret, key) for key in keys]

    def lock(self, keys: Sequence[str], now: datetime) -> list[tuple[int, datetime | None]]:
        """Each key's ``(failures, next_allowed_at)``, ``(0, None)`` for a key never counted; the rows stay
        locked until the transaction ends (SQLite: the transaction holds the write lock from its BEGIN
        IMMEDIATE; PostgreSQL: the missing rows are made, then all are selected FOR UPDATE)."""
        stored = self._stored(keys)
        statements = _throttle_statements(self.s.get_bind().dialect.name)
        if statements.make is not None:
            self.s.execute(statements.make, [{"key": key, "updated_at": now} for key in stored])
        found = {row[0]: (int(row[1]), row[2]) for row in self.s.execute(statements.read(len(stored)), _keys(stored))}
        return [found.get(key, (0, None)) for key in stored]

    def put(self, rows: Sequence[tuple[str, int, datetime | None]], now: datetime) -> None:
        """Write ``(key, failures, next_allowed_at)`` rows, made if missing."""
        statements = _throttle_statements(self.s.get_bind().dialect.name)
        self.s.execute(statements.put, [{"key": stored_throttle_key(self.secret, key), "failures": failures,
                                         "next_allowed_at": next_allowed, "updated_at": now}
                                        for key, failures, next_allowed in rows])

    def clear(self, keys: Sequence[str], now: datetime) -> None:
        """No failures left on these keys' rows (a right password); keys without a row stay without one."""
        stored = self._stored(keys)
        self.s.execute(_clear_statement(len(stored)), {**_keys(stored), "updated_at": now})

    def failures(self, key: str) -> int:
        key = stored_throttle_key(self.secret, key)
        row = self.s.execute(select(t.login_throttle.c.failures).where(t.login_throttle.c.key == key)).first()
        return 0 if row is None else int(row[0])


@dataclass(frozen=True)
class _ThrottleStatements:
    make: Any  # None on SQLite, whose write transaction already excludes every other writer
    read: Callable[[int], Any]  # the SELECT of that many keys
    put: Any


# ``key IN (:k0, :k1)`` with a statement per number of keys (a login has one or two) rather than an
# expanding parameter, whose SQL is rendered again at every execution.
def _keys(stored: Sequence[str]) -> dict[str, str]:
    return {f"k{n}": key for n, key in enumerate(stored)}


def _key_in(count: int) -> Any:
    return t.login_throttle.c.key.in_([bindparam(f"k{n}") for n in range(count)])


@functools.cache
def _clear_statement(count: int) -> Any:
    return (update(t.login_throttle).where(_key_in(count))
            .values(failures=0, next_allowed_at=None, updated_at=bindparam("updated_at")))


@functools.cache
def _throttle_statements(dialect: str) -> _ThrottleStatements:
    table = t.login_throttle
    postgres = dialect == "postgresql"
    make_insert = postgresql.insert if postgres else sqlite.insert

    @functools.cache
    def read(count: int) -> Any:
        query = select(table.c.key, table.c.failures, table.c.next_allowed_at).where(_key_in(count))
        return query.with_for_update() if postgres else query

    upsert = make_insert(table)
    put = upsert.on_conflict_do_update(index_elements=[table.c.key], set_={
        "failures": upsert.excluded.failures, "next_allowed_at": upsert.excluded.next_allowed_at,
        "updated_at": upsert.excluded.updated_at})
    make = make_insert(table).values(failures=0, next_allowed_at=None).on_conflict_do_nothing() if postgres else None
    return _ThrottleStatements(make=make, read=read, put=put)


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
