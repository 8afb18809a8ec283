"""In-memory fakes of identity's ports: repositories, unit of work, hasher, Redis counters."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.identity.domain.model import Consent, EmailToken, LoginSession, Mail, PolicyVersion, User
from services.identity.domain.privacy import (
    COMPLETED,
    PENDING,
    UNUSABLE_PASSWORD,
    ErasureRequest,
    ErasureResult,
    ExportSection,
    LedgerEntry,
    LegalHold,
    PrivacyExport,
    erased_email,
)
from shared.events import Event, new_event
from shared.identity import Identity


class FakeUsers:
    def __init__(self) -> None:
        self.rows: dict[str, User] = {}
        self.role_rows: dict[str, set[str]] = {}

    def add(self, user: User) -> None:
        if any(u.email == user.email for u in self.rows.values()):
            raise AssertionError("unique email violated")
        self.rows[user.id] = dataclasses.replace(user)

    def _with_roles(self, user: User | None) -> User | None:
        return None if user is None else dataclasses.replace(user, roles=self.roles(user.id))

    def get(self, user_id: str) -> User | None:
        return self._with_roles(self.rows.get(user_id))

    def by_email(self, email: str) -> User | None:
        return self._with_roles(next((u for u in self.rows.values() if u.email == email), None))

    def update(self, user_id: str, **values: Any) -> None:
        self.rows[user_id] = dataclasses.replace(self.rows[user_id], **values)

    def roles(self, user_id: str) -> frozenset[str]:
        return frozenset(self.role_rows.get(user_id, set()))

    def add_role(self, user_id: str, role: str, at: datetime, by: str) -> bool:
        roles = self.role_rows.setdefault(user_id, set())
        if role in roles:
            return False
        roles.add(role)
        return True

    def remove_role(self, user_id: str, role: str) -> bool:
        roles = self.role_rows.setdefault(user_id, set())
        if role not in roles:
            return False
        roles.discard(role)
        return True

    def with_roles(self) -> list[User]:
        users = [self._with_roles(u) for u in self.rows.values() if self.roles(u.id) and u.erased_at is None]
        return sorted((u for u in users if u is not None), key=lambda u: u.email)

    def active_recipients(self) -> list[tuple[str, str, str]]:
        return [(u.id, u.email, u.name) for u in self.rows.values() if u.erased_at is None]


class FakeSessions:
    def __init__(self) -> None:
        self.rows: dict[str, LoginSession] = {}

    def add(self, ls: LoginSession) -> None:
        self.rows[ls.id] = dataclasses.replace(ls)

    def get(self, session_id: str) -> LoginSession | None:
        s = self.rows.get(session_id)
        return dataclasses.replace(s) if s else None

    def by_token_hash(self, token_hash: str) -> LoginSession | None:
        return next((dataclasses.replace(s) for s in self.rows.values() if s.token_hash == token_hash), None)

    def active_for_user(self, user_id: str) -> list[LoginSession]:
        return [dataclasses.replace(s) for s in self.rows.values() if s.user_id == user_id and s.ended_at is None]

    def end(self, session_id: str, at: datetime, reason: str) -> bool:
        s = self.rows.get(session_id)
        if s is None or s.ended_at is not None:
            return False
        s.ended_at, s.end_reason = at, reason
        return True

    def touch(self, session_id: str, at: datetime) -> None:
        self.rows[session_id].last_seen_at = at

    def set_auth_time(self, session_id: str, at: datetime) -> None:
        self.rows[session_id].auth_time = at


class FakePolicies:
    def __init__(self, now: datetime) -> None:
        self.versions: dict[str, PolicyVersion] = {"1": PolicyVersion("1", 1, now, False, "initial")}
        self.acceptances: list[tuple[str, str, datetime]] = []

    def current(self) -> PolicyVersion | None:
        return max(self.versions.values(), key=lambda p: p.seq, default=None)

    def get(self, version: str) -> PolicyVersion | None:
        return self.versions.get(version)

    def all(self) -> list[PolicyVersion]:
        return sorted(self.versions.values(), key=lambda p: p.seq, reverse=True)

    def add(self, version: str, reduces_rights: bool, text: str, at: datetime) -> PolicyVersion:
        seq = max((p.seq for p in self.versions.values()), default=0) + 1
        policy = PolicyVersion(version, seq, at, reduces_rights, text)
        self.versions[version] = policy
        return policy

    def accept(self, user_id: str, version: str, at: datetime) -> bool:
        if any(u == user_id and v == version for u, v, _ in self.acceptances):
            return False
        self.acceptances.append((user_id, version, at))
        return True

    def accepted(self, user_id: str) -> list[tuple[str, datetime]]:
        return [(v, at) for u, v, at in self.acceptances if u == user_id]

    def acceptance_required(self, user_id: str) -> bool:
        seqs = [self.versions[v].seq for u, v, _ in self.acceptances if u == user_id]
        accepted = max(seqs, default=0)
        return any(p.reduces_rights and p.seq > accepted for p in self.versions.values())


class FakeTokens:
    def __init__(self) -> None:
        self.rows: dict[str, EmailToken] = {}

    def add(self, token: EmailToken) -> None:
        self.rows[token.id] = dataclasses.replace(token)

    def by_hash(self, token_hash: str) -> EmailToken | None:
        return next((dataclasses.replace(t) for t in self.rows.values() if t.token_hash == token_hash), None)

    def use(self, token_id: str, at: datetime) -> bool:
        t = self.rows[token_id]
        if t.used_at is not None:
            return False
        t.used_at = at
        return True

    def supersede(self, user_id: str, purpose: str, at: datetime) -> None:
        for t in self.rows.values():
            if t.user_id == user_id and t.purpose == purpose and t.used_at is None:
                t.used_at = at

    def pending_email(self, user_id: str, now: datetime) -> str | None:
        pending = [t for t in self.rows.values() if t.user_id == user_id and t.purpose == "change_email"
                   and t.used_at is None and t.expires_at > now]
        return max(pending, key=lambda t: t.created_at).new_email if pending else None


class FakeThrottle:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[int, datetime | None]] = {}

    def lock(self, keys: Sequence[str], now: datetime) -> list[tuple[int, datetime | None]]:
        return [self.rows.get(key, (0, None)) for key in keys]

    def put(self, rows: Sequence[tuple[str, int, datetime | None]], now: datetime) -> None:
        for key, failures, next_allowed_at in rows:
            self.rows[key] = (failures, next_allowed_at)

    def clear(self, keys: Sequence[str], now: datetime) -> None:
        for key in keys:
            if key in self.rows:
                self.rows[key] = (0, None)

    def failures(self, key: str) -> int:
        return self.rows.get(key, (0, None))[0]


class FakeConsents:
    def __init__(self) -> None:
        self.rows: list[Consent] = []

    def add(self, consent: Consent) -> None:
        self.rows.append(dataclasses.replace(consent))

    def latest_for_user(self, user_id: str) -> Consent | None:
        return next((c for c in reversed(self.rows) if c.user_id == user_id), None)

    def latest_for_browser(self, browser_id: str) -> Consent | None:
        return next((c for c in reversed(self.rows) if c.browser_id == browser_id and c.user_id is None), None)


class FakeMails:
    def __init__(self) -> None:
        self.rows: dict[str, Mail] = {}

    def add(self, mail: Mail) -> None:
        self.rows[mail.id] = dataclasses.replace(mail)

    def pending(self, limit: int) -> list[Mail]:
        return [dataclasses.replace(m) for m in self.rows.values() if m.sent_at is None][:limit]

    def mark_sent(self, mail_id: str, at: datetime) -> None:
        m = self.rows[mail_id]
        m.sent_at, m.body, m.attempts = at, None, m.attempts + 1

    def mark_failed(self, mail_id: str, error: str) -> None:
        m = self.rows[mail_id]
        m.attempts, m.last_error = m.attempts + 1, error

    def for_user(self, user_id: str) -> list[Mail]:
        return [m for m in self.rows.values() if m.user_id == user_id]


class FakePrivacy:
    def __init__(self) -> None:
        self.exports: dict[str, PrivacyExport] = {}
        self.section_rows: dict[tuple[str, str], ExportSection] = {}
        self.erasures: dict[str, ErasureRequest] = {}
        self.results: dict[tuple[str, str], ErasureResult] = {}
        self.ledger_rows: dict[str, LedgerEntry] = {}
        self.holds: dict[str, LegalHold] = {}

    # exports
    def add_export(self, export: PrivacyExport, services: list[str]) -> None:
        self.exports[export.id] = dataclasses.replace(export)
        for service in services:
            self.section_rows[(export.id, service)] = ExportSection(export.id, service, PENDING)

    def export(self, export_id: str) -> PrivacyExport | None:
        e = self.exports.get(export_id)
        return dataclasses.replace(e) if e else None

    def exports_of(self, user_id: str) -> list[PrivacyExport]:
        return [dataclasses.replace(e) for e in self.exports.values() if e.user_id == user_id]

    def pending_export_of(self, user_id: str) -> PrivacyExport | None:
        return next((e for e in self.exports_of(user_id) if e.status == PENDING), None)

    def pending_exports(self) -> list[PrivacyExport]:
        return [dataclasses.replace(e) for e in self.exports.values() if e.status == PENDING]

    def sections(self, export_id: str, with_data: bool = False) -> list[ExportSection]:
        found = [dataclasses.replace(s, data=s.data if with_data else None)
                 for (eid, _), s in self.section_rows.items() if eid == export_id]
        return sorted(found, key=lambda s: s.service)

    def complete_section(self, export_id: str, service: str, data: Any, at: datetime) -> bool:
        s = self.section_rows[(export_id, service)]
        if s.status != PENDING:
            return False
        s.status, s.data, s.received_at, s.attempts, s.last_error = COMPLETED, data, at, s.attempts + 1, None
        return True

    def section_failed(self, export_id: str, service: str, error: str) -> None:
        s = self.section_rows[(export_id, service)]
        s.attempts, s.last_error = s.attempts + 1, error

    def complete_export(self, export_id: str, at: datetime) -> bool:
        e = self.exports[export_id]
        if e.status != PENDING:
            return False
        e.status, e.completed_at = COMPLETED, at
        return True

    def purge_export(self, export_id: str, at: datetime) -> None:
        for (eid, _), s in self.section_rows.items():
            if eid == export_id:
                s.data = None
        self.exports[export_id].purged_at = at

    def completed_unpurged(self) -> list[PrivacyExport]:
        return [dataclasses.replace(e) for e in self.exports.values()
                if e.status == COMPLETED and e.purged_at is None]

    def delete_exports_of(self, user_id: str) -> int:
        ids = [e.id for e in self.exports_of(user_id)]
        for export_id in ids:
            del self.exports[export_id]
            for key in [k for k in self.section_rows if k[0] == export_id]:
                del self.section_rows[key]
        return len(ids)

    # erasures
    def add_erasure(self, request: ErasureRequest) -> None:
        if request.status == PENDING and self.running_erasure_of(request.user_id):
            raise AssertionError("unique running erasure violated")
        self.erasures[request.id] = dataclasses.replace(request, results={})

    def erasure(self, request_id: str, lock: bool = False) -> ErasureRequest | None:
        r = self.erasures.get(request_id)
        if r is None:
            return None
        results = {svc: res for (rid, svc), res in self.results.items() if rid == request_id}
        return dataclasses.replace(r, results=results)

    def erasures_of(self, user_id: str) -> list[ErasureRequest]:
        return [dataclasses.replace(r) for r in self.erasures.values() if r.user_id == user_id]

    def running_erasure_of(self, user_id: str) -> ErasureRequest | None:
        return next((r for r in self.erasures.values() if r.user_id == user_id and r.status == PENDING), None)

    def add_result(self, request_id: str, result: ErasureResult) -> bool:
        if (request_id, result.service) in self.results:
            return False
        self.results[(request_id, result.service)] = result
        return True

    def complete_erasure(self, request_id: str, at: datetime) -> bool:
        r = self.erasures[request_id]
        if r.status != PENDING:
            return False
        r.status, r.completed_at = COMPLETED, at
        return True

    # ledger
    def add_ledger_entry(self, entry: LedgerEntry) -> bool:
        if entry.request_id in self.ledger_rows:
            return False
        self.ledger_rows[entry.request_id] = dataclasses.replace(entry)
        return True

    def ledger(self) -> list[LedgerEntry]:
        return [dataclasses.replace(e) for e in self.ledger_rows.values()]

    def ledger_completed(self, request_id: str, at: datetime) -> None:
        self.ledger_rows[request_id].completed_at = at

    def ledger_replayed(self, request_id: str, at: datetime) -> None:
        self.ledger_rows[request_id].replayed_at = at

    # holds
    def add_hold(self, hold: LegalHold) -> None:
        self.holds[hold.id] = dataclasses.replace(hold)

    def hold(self, hold_id: str) -> LegalHold | None:
        h = self.holds.get(hold_id)
        return dataclasses.replace(h) if h else None

    def holds_of(self, user_id: str | None = None) -> list[LegalHold]:
        return [dataclasses.replace(h) for h in self.holds.values() if user_id is None or h.user_id == user_id]

    def release_hold(self, hold_id: str, at: datetime, by: str) -> bool:
        h = self.holds[hold_id]
        if h.released_at is not None:
            return False
        h.released_at, h.released_by = at, by
        return True


class FakePersonalData:
    """What ``PersonalDataRepository`` does, on the unit of work's in-memory repositories."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow

    def export(self, user_id: str) -> dict[str, Any]:
        u = self.uow
        user = u.users.get(user_id)
        return {
            "profile": None if user is None else {"id": user.id, "name": user.name, "email": user.email,
                                                  "phone": user.phone},
            "sessions": [{"id": s.id, "user_agent": s.user_agent, "client_ip": s.client_ip}
                         for s in u.sessions.rows.values() if s.user_id == user_id],
            "consents": [{"analytics": c.analytics} for c in u.consents.rows if c.user_id == user_id],
            "policy_acceptances": [{"version": v} for v, _ in u.policies.accepted(user_id)],
            "roles": sorted(u.users.roles(user_id)),
            "mails": [{"template": m.template, "to_address": m.to_address} for m in u.mails.for_user(user_id)],
        }

    def erase(self, user_id: str, at: datetime, throttle_key: str | None) -> None:
        u = self.uow
        row = u.users.rows[user_id]
        u.users.rows[user_id] = dataclasses.replace(
            row, name="", email=erased_email(user_id), phone=None, password_hash=UNUSABLE_PASSWORD,
            email_verified=False, updated_at=at, erased_at=row.erased_at or at)
        for s in u.sessions.rows.values():
            if s.user_id == user_id:
                s.user_agent, s.client_ip = "", ""
        u.tokens.rows = {k: t for k, t in u.tokens.rows.items() if t.user_id != user_id}
        u.consents.rows = [c for c in u.consents.rows if c.user_id != user_id]
        u.policies.acceptances = [a for a in u.policies.acceptances if a[0] != user_id]
        u.users.role_rows.pop(user_id, None)
        u.mails.rows = {k: m for k, m in u.mails.rows.items() if m.user_id != user_id or m.sent_at is not None}
        for m in u.mails.rows.values():
            if m.user_id == user_id:
                m.to_address, m.body = "", None
        if throttle_key:
            u.throttle.rows.pop(throttle_key, None)


class FakeStore:
    """The "database": survives across units of work; a unit of work commits a snapshot or nothing."""

    def __init__(self, now: datetime) -> None:
        self.users = FakeUsers()
        self.sessions = FakeSessions()
        self.policies = FakePolicies(now)
        self.tokens = FakeTokens()
        self.throttle = FakeThrottle()
        self.consents = FakeConsents()
        self.mails = FakeMails()
        self.privacy = FakePrivacy()
        self.events: list[Event] = []


_REPOS = ("users", "sessions", "policies", "tokens", "throttle", "consents", "mails", "privacy")


class FakeUnitOfWork:
    """Works on a deep copy of the store; ``commit`` swaps it in, so uncommitted work vanishes."""

    def __init__(self, store: FakeStore, context: Identity | None = None) -> None:
        self.store = store
        self.context = context or Identity()
        self.events: list[Event] = []
        self.commits = 0

    def __enter__(self) -> FakeUnitOfWork:
        import copy

        self._work = copy.deepcopy({name: getattr(self.store, name) for name in _REPOS})
        for name, repo in self._work.items():
            setattr(self, name, repo)
        self.personal_data = FakePersonalData(self)
        self.events = []
        return self

    def __exit__(self, *exc: Any) -> None:
        self.events = []

    def emit(self, type_: str, *, subject: str, payload: dict[str, Any], actor: str | None = None) -> Event:
        event = new_event(type_, producer="identity", actor=actor or self.context.actor, subject=subject,
                          payload=payload, correlation_id=self.context.request_id)
        self.events.append(event)
        return event

    def commit(self) -> None:
        for name, repo in self._work.items():
            setattr(self.store, name, repo)
        self.store.events.extend(self.events)
        self.events = []
        self.commits += 1

    def rollback(self) -> None:
        self.events = []


class FakeHasher:
    """Instant "hashing" so handler tests run in microseconds; counts the dummy checks."""

    def __init__(self, needs_rehash: bool = False) -> None:
        self.wasted = 0
        self.hashed = 0
        self._needs_rehash = needs_rehash

    def hash(self, password: str) -> str:
        self.hashed += 1
        return "fake$" + password[::-1]

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "fake$" + password[::-1]

    def needs_rehash(self, password_hash: str) -> bool:
        return self._needs_rehash

    def waste_time(self, password: str) -> None:
        self.wasted += 1


class FakeCounters:
    def __init__(self) -> None:
        self.epoch = 0
        self.ip: dict[str, int] = {}
        self.resets: dict[str, int] = {}
        self.erased: list[str] = []

    def bump_epoch(self) -> None:
        self.epoch += 1

    def announce_erased(self, user_id: str) -> None:
        self.erased.append(user_id)

    def ip_failures(self, ip: str) -> int:
        return self.ip.get(ip, 0)

    def ip_retry_after(self, ip: str) -> int:
        return 600

    def add_ip_failure(self, ip: str, window: int) -> None:
        self.ip[ip] = self.ip.get(ip, 0) + 1

    def count_address_mail(self, address_key: str, window: int) -> int:
        self.resets[address_key] = self.resets.get(address_key, 0) + 1
        return self.resets[address_key]


class FakeMailer:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail = fail

    def send(self, *, to: str, subject: str, body: str, mail_id: str) -> None:
        if self.fail:
            raise OSError("mail server down")
        self.sent.append({"to": to, "subject": subject, "body": body, "mail_id": mail_id})

    def forget(self, address: str) -> int:
        kept = [m for m in self.sent if m["to"] != address]
        gone, self.sent = len(self.sent) - len(kept), kept
        return gone
