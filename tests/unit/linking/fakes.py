"""In-memory stand-ins for linking's ports: the unit of work with its repositories, and identity."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

from services.linking.adapters.identity_client import Account
from services.linking.domain import errors
from services.linking.domain.model import Company, Contact, LinkRequest, Member, RequestStatus, Role, normalize_name
from services.linking.domain.users import UserRecord
from shared.events import Event, new_event
from shared.identity import Identity


@dataclass
class State:
    companies: dict[str, Company] = field(default_factory=dict)
    members: dict[tuple[str, str], Member] = field(default_factory=dict)
    requests: dict[str, LinkRequest] = field(default_factory=dict)
    users: dict[str, UserRecord] = field(default_factory=dict)
    erased: dict[str, str] = field(default_factory=dict)  # user id -> the erasure request


class FakeCompanies:
    def __init__(self, state: State) -> None:
        self.s = state

    def add(self, company: Company) -> None:
        if any(normalize_name(c.name) == normalize_name(company.name) for c in self.s.companies.values()):
            raise errors.CompanyExists("exists")
        self.s.companies[company.id] = company

    def get(self, company_id: str, lock: bool = False) -> Company | None:
        return self.s.companies.get(company_id)

    def search(self, text: str | None, limit: int, offset: int) -> list[Company]:
        found = sorted((c for c in self.s.companies.values()
                        if not text or normalize_name(text) in normalize_name(c.name)),
                       key=lambda c: (normalize_name(c.name), c.id))
        return found[offset:offset + limit]

    def many(self, ids) -> dict[str, Company]:
        return {i: self.s.companies[i] for i in set(ids)}

    def set_primary_contact(self, company_id: str, user_id: str) -> None:
        self.s.companies[company_id] = replace(self.s.companies[company_id], primary_contact_user_id=user_id)

    def led_by(self, user_id: str) -> list[Company]:
        return sorted((c for c in self.s.companies.values() if c.primary_contact_user_id == user_id),
                      key=lambda c: c.created_at)


class FakeMembers:
    def __init__(self, state: State) -> None:
        self.s = state

    def add(self, member: Member) -> None:
        assert (member.company_id, member.user_id) not in self.s.members
        self.s.members[(member.company_id, member.user_id)] = member

    def get(self, company_id: str, user_id: str) -> Member | None:
        return self.s.members.get((company_id, user_id))

    def set_role(self, company_id: str, user_id: str, role: Role) -> None:
        key = (company_id, user_id)
        self.s.members[key] = replace(self.s.members[key], role=role)

    def remove(self, company_id: str, user_id: str) -> None:
        del self.s.members[(company_id, user_id)]

    def manager_ids(self, company_id: str) -> list[str]:
        return sorted(m.user_id for m in self.s.members.values() if m.company_id == company_id and m.is_manager)

    def count_managers(self, company_id: str) -> int:
        return len(self.manager_ids(company_id))

    def page(self, company_id: str, limit: int, offset: int) -> list[Member]:
        found = sorted((m for m in self.s.members.values() if m.company_id == company_id),
                       key=lambda m: (m.joined_at, m.user_id))
        return found[offset:offset + limit]

    def of_user(self, user_id: str) -> list[Member]:
        return sorted((m for m in self.s.members.values() if m.user_id == user_id), key=lambda m: m.joined_at)


class FakeRequests:
    def __init__(self, state: State) -> None:
        self.s = state

    def add(self, request: LinkRequest) -> None:
        if self.pending_of(request.company_id, request.user_id):
            raise errors.DuplicateLinkRequest("duplicate")
        self.s.requests[request.id] = request

    def get(self, request_id: str, lock: bool = False) -> LinkRequest | None:
        return self.s.requests.get(request_id)

    def pending_of(self, company_id: str, user_id: str) -> LinkRequest | None:
        return next((r for r in self.s.requests.values() if r.company_id == company_id and r.user_id == user_id
                     and r.status is RequestStatus.PENDING), None)

    def pending(self, company_id: str, limit: int | None = None, offset: int = 0) -> list[LinkRequest]:
        found = sorted((r for r in self.s.requests.values()
                        if r.company_id == company_id and r.status is RequestStatus.PENDING),
                       key=lambda r: (r.created_at, r.id))
        return found[offset:] if limit is None else found[offset:offset + limit]

    def of_user(self, user_id: str, limit: int, offset: int) -> list[LinkRequest]:
        found = sorted((r for r in self.s.requests.values() if r.user_id == user_id),
                       key=lambda r: r.created_at, reverse=True)
        return found[offset:offset + limit]

    def save_decision(self, request: LinkRequest) -> None:
        self.s.requests[request.id] = request

    def all_of_user(self, user_id: str) -> list[LinkRequest]:
        return sorted((r for r in self.s.requests.values() if r.user_id == user_id),
                      key=lambda r: (r.created_at, r.id))

    def decided_by(self, user_id: str) -> list[LinkRequest]:
        return [r for r in self.s.requests.values() if r.decided_by == user_id]

    def anonymize_requester(self, user_id: str, pseudonym: str) -> int:
        mine = self.all_of_user(user_id)
        for r in mine:
            self.s.requests[r.id] = replace(r, user_id=pseudonym, message=None, reason=None)
        return len(mine)

    def forget_decider(self, user_id: str, marker: str) -> int:
        theirs = self.decided_by(user_id)
        for r in theirs:
            self.s.requests[r.id] = replace(r, decided_by=marker)
        return len(theirs)


class FakeUsers:
    def __init__(self, state: State) -> None:
        self.s = state

    def get(self, user_id: str) -> UserRecord | None:
        return self.s.users.get(user_id)

    def many(self, user_ids) -> dict[str, UserRecord]:
        return {u: self.s.users[u] for u in set(user_ids) if u in self.s.users}

    def put(self, record: UserRecord) -> None:
        self.s.users[record.user_id] = record

    def remove(self, user_id: str) -> bool:
        return self.s.users.pop(user_id, None) is not None

    def erased(self, user_id: str) -> bool:
        return user_id in self.s.erased

    def mark_erased(self, user_id: str, request_id: str, at) -> None:
        self.s.erased.setdefault(user_id, request_id)


class FakeUnitOfWork:
    """Same contract as ``LinkingUnitOfWork``: changes and events exist only once committed."""

    def __init__(self, state: State | None = None, context: Identity | None = None) -> None:
        self.state = state or State()
        self.context = context or Identity(user_id="someone", request_id="req-1")
        self.committed: list[Event] = []
        self.events: list[Event] = []
        self.commits = 0

    def as_user(self, user_id: str) -> FakeUnitOfWork:
        """A unit of work on the same state for another caller (events recorded separately)."""
        return FakeUnitOfWork(self.state, Identity(user_id=user_id, request_id="req-1"))

    def __enter__(self) -> FakeUnitOfWork:
        self._before = copy.deepcopy(self.state)
        self._done = False
        self.events = []
        self.companies, self.members = FakeCompanies(self.state), FakeMembers(self.state)
        self.requests, self.users = FakeRequests(self.state), FakeUsers(self.state)
        return self

    def __exit__(self, *exc) -> None:
        if not self._done:
            self.rollback()

    def emit(self, type_: str, *, subject: str, payload: dict, actor: str | None = None) -> Event:
        event = new_event(type_, producer="linking", actor=actor or self.context.actor, subject=subject,
                          payload=payload, correlation_id=self.context.request_id)  # checks the schema
        self.events.append(event)
        return event

    def forget_copies(self, user_id: str) -> int:
        return 0  # the fake keeps no outbox or dead letters of its own

    def commit(self) -> None:
        self.committed.extend(self.events)
        self.events = []
        self.commits += 1
        self._done = True

    def rollback(self) -> None:
        self.state.__dict__.update(copy.deepcopy(self._before).__dict__)
        self.events = []

    def types(self) -> list[str]:
        return [e.type for e in self.committed]

    def of_type(self, type_: str) -> list[Event]:
        return [e for e in self.committed if e.type == type_]


class FakeDirectory:
    """identity's ``GET /internal/users/<id>``: knows some people, or is down."""

    def __init__(self, *contacts: Contact) -> None:
        self.contacts = {c.user_id: c for c in contacts}
        self.calls: list[str] = []
        self.down = False
        self.unverified: set[str] = set()  # people who have not confirmed their address

    def lookup(self, user_id: str, request_id: str | None = None) -> Account | None:
        self.calls.append(user_id)
        if self.down:
            raise errors.IdentityUnavailable("identity is down")
        found = self.contacts.get(user_id)
        return Account(found, email_verified=user_id not in self.unverified) if found else None

    def find(self, user_id: str, request_id: str | None = None) -> Contact | None:
        account = self.lookup(user_id, request_id)
        return account.contact if account else None
