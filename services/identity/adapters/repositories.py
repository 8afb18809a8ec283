"""SQL repositories for accounts, sessions and policy versions (one SQLAlchemy session each)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from services.identity.adapters import tables as t
from services.identity.domain.model import LoginSession, PolicyVersion, User

_USER_COLS = ("id", "name", "email", "phone", "password_hash", "email_verified", "created_at",
              "updated_at", "password_changed_at", "erased_at")
_SESSION_COLS = ("id", "user_id", "token_hash", "csrf_hash", "user_agent", "client_ip", "created_at",
                 "last_seen_at", "auth_time", "expires_at", "ended_at", "end_reason")
# An account with its roles, one row per role (one row with a NULL role for an account without any): one
# statement where two were. The statements a login runs are built once, with bound parameters, so executing
# them neither builds a statement nor computes its cache key (SQLAlchemy compiles each once per process).
_USER_ROWS = select(*(t.users.c[c] for c in _USER_COLS), t.user_roles.c.role).select_from(
    t.users.outerjoin(t.user_roles, t.user_roles.c.user_id == t.users.c.id))
_USER_BY_ID = _USER_ROWS.where(t.users.c.id == bindparam("value"))
_USER_BY_EMAIL = _USER_ROWS.where(t.users.c.email == bindparam("value"))
_ADD_SESSION = insert(t.sessions)
_SESSION_BY_ID = select(t.sessions).where(t.sessions.c.id == bindparam("value"))
_SESSION_BY_TOKEN = select(t.sessions).where(t.sessions.c.token_hash == bindparam("value"))


def _changed(result: Any) -> bool:
    """Whether an UPDATE/DELETE touched a row (its result is a CursorResult, which has rowcount)."""
    return bool(getattr(result, "rowcount", 0))


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, user: User) -> None:
        self.s.execute(insert(t.users).values({c: getattr(user, c) for c in _USER_COLS}))

    def _one(self, query: Any, value: str) -> User | None:
        rows = self.s.execute(query, {"value": value}).all()
        if not rows:
            return None
        columns = dict(zip(_USER_COLS, rows[0], strict=False))
        return User(**columns, roles=frozenset(row[-1] for row in rows if row[-1] is not None))

    def get(self, user_id: str) -> User | None:
        return self._one(_USER_BY_ID, user_id)

    def by_email(self, email: str) -> User | None:
        return self._one(_USER_BY_EMAIL, email)

    def update(self, user_id: str, **values: Any) -> None:
        self.s.execute(update(t.users).where(t.users.c.id == user_id).values(**values))

    def roles(self, user_id: str) -> frozenset[str]:
        rows = self.s.execute(select(t.user_roles.c.role).where(t.user_roles.c.user_id == user_id))
        return frozenset(r[0] for r in rows)

    def add_role(self, user_id: str, role: str, at: datetime, by: str) -> bool:
        if role in self.roles(user_id):
            return False
        self.s.execute(insert(t.user_roles).values(user_id=user_id, role=role, granted_at=at, granted_by=by))
        return True

    def remove_role(self, user_id: str, role: str) -> bool:
        result = self.s.execute(delete(t.user_roles).where(t.user_roles.c.user_id == user_id,
                                                           t.user_roles.c.role == role))
        return _changed(result)

    def with_roles(self) -> list[User]:
        """Accounts (not erased) that hold at least one staff role, by email."""
        ids = select(t.user_roles.c.user_id).distinct()
        rows = self.s.execute(select(t.users).where(t.users.c.id.in_(ids), t.users.c.erased_at.is_(None))
                              .order_by(t.users.c.email)).mappings()
        return [User(**{c: row[c] for c in _USER_COLS}, roles=self.roles(row["id"])) for row in rows]

    def active_recipients(self) -> list[tuple[str, str, str]]:
        """``(id, email, name)`` of every account not erased (policy notices go to all of them)."""
        rows = self.s.execute(select(t.users.c.id, t.users.c.email, t.users.c.name)
                              .where(t.users.c.erased_at.is_(None)).order_by(t.users.c.created_at))
        return [(r[0], r[1], r[2]) for r in rows]


class SessionRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    def add(self, ls: LoginSession) -> None:
        self.s.execute(_ADD_SESSION, {c: getattr(ls, c) for c in _SESSION_COLS})

    def _one(self, query: Any, value: str) -> LoginSession | None:
        row = self.s.execute(query, {"value": value}).mappings().first()
        return None if row is None else LoginSession(**{c: row[c] for c in _SESSION_COLS})

    def get(self, session_id: str) -> LoginSession | None:
        return self._one(_SESSION_BY_ID, session_id)

    def by_token_hash(self, token_hash: str) -> LoginSession | None:
        return self._one(_SESSION_BY_TOKEN, token_hash)

    def active_for_user(self, user_id: str) -> list[LoginSession]:
        rows = self.s.execute(select(t.sessions).where(t.sessions.c.user_id == user_id,
                                                       t.sessions.c.ended_at.is_(None))
                              .order_by(t.sessions.c.created_at)).mappings()
        return [LoginSession(**{c: r[c] for c in _SESSION_COLS}) for r in rows]

    def end(self, session_id: str, at: datetime, reason: str) -> bool:
        """End an open session; False when it had already ended (two logouts race)."""
        result = self.s.execute(update(t.sessions)
                                .where(t.sessions.c.id == session_id, t.sessions.c.ended_at.is_(None))
                                .values(ended_at=at, end_reason=reason))
        return _changed(result)

    def touch(self, session_id: str, at: datetime) -> None:
        self.s.execute(update(t.sessions).where(t.sessions.c.id == session_id).values(last_seen_at=at))

    def set_auth_time(self, session_id: str, at: datetime) -> None:
        self.s.execute(update(t.sessions).where(t.sessions.c.id == session_id).values(auth_time=at))


class PolicyRepository:
    def __init__(self, session: Session) -> None:
        self.s = session

    @staticmethod
    def _policy(row: Any) -> PolicyVersion:
        return PolicyVersion(version=row["version"], seq=row["seq"], published_at=row["published_at"],
                             reduces_rights=row["reduces_rights"], text=row["text"])

    def current(self) -> PolicyVersion | None:
        row = self.s.execute(select(t.policy_versions).order_by(t.policy_versions.c.seq.desc())
                             .limit(1)).mappings().first()
        return None if row is None else self._policy(row)

    def all(self) -> list[PolicyVersion]:
        rows = self.s.execute(select(t.policy_versions).order_by(t.policy_versions.c.seq.desc())).mappings()
        return [self._policy(row) for row in rows]

    def get(self, version: str) -> PolicyVersion | None:
        row = self.s.execute(select(t.policy_versions).where(t.policy_versions.c.version == version)
                             ).mappings().first()
        return None if row is None else self._policy(row)

    def add(self, version: str, reduces_rights: bool, text: str, at: datetime) -> PolicyVersion:
        seq = int(self.s.execute(select(func.coalesce(func.max(t.policy_versions.c.seq), 0))).scalar_one()) + 1
        policy = PolicyVersion(version=version, seq=seq, published_at=at, reduces_rights=reduces_rights,
                               text=text)
        self.s.execute(insert(t.policy_versions).values(version=version, seq=seq, published_at=at,
                                                        reduces_rights=reduces_rights, text=text))
        return policy

    def accept(self, user_id: str, version: str, at: datetime) -> bool:
        pa = t.policy_acceptances
        exists = self.s.execute(select(pa.c.id).where(pa.c.user_id == user_id, pa.c.version == version)).first()
        if exists:
            return False
        self.s.execute(insert(pa).values(user_id=user_id, version=version, accepted_at=at))
        return True

    def accepted(self, user_id: str) -> list[tuple[str, datetime]]:
        pa = t.policy_acceptances
        rows = self.s.execute(select(pa.c.version, pa.c.accepted_at).where(pa.c.user_id == user_id)
                              .order_by(pa.c.accepted_at))
        return [(r[0], r[1]) for r in rows]

    def acceptance_required(self, user_id: str) -> bool:
        """True while a rights-reducing version was published after the newest one the user accepted."""
        pa, pv = t.policy_acceptances, t.policy_versions
        accepted_seq = (select(func.coalesce(func.max(pv.c.seq), 0))
                        .select_from(pa.join(pv, pa.c.version == pv.c.version))
                        .where(pa.c.user_id == user_id).scalar_subquery())
        row = self.s.execute(select(pv.c.seq).where(pv.c.reduces_rights, pv.c.seq > accepted_seq)
                             .limit(1)).first()
        return row is not None
