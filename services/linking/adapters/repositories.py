"""SQL repositories: linking's domain objects in and out of its own tables, inside a unit of work."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.linking.adapters.tables import companies, erased_users, link_requests, members, users
from services.linking.domain import errors
from services.linking.domain.model import Company, LinkRequest, Member, RequestStatus, Role, normalize_name
from services.linking.domain.users import UserRecord, erased_key


def _company(row: Any) -> Company:
    return Company(id=row.id, name=row.name, domain=row.domain,
                   primary_contact_user_id=row.primary_contact_user_id, created_at=row.created_at)


def _member(row: Any) -> Member:
    return Member(company_id=row.company_id, user_id=row.user_id, role=Role(row.role), joined_at=row.joined_at)


def _request(row: Any) -> LinkRequest:
    return LinkRequest(id=row.id, company_id=row.company_id, user_id=row.user_id,
                       status=RequestStatus(row.status), message=row.message, created_at=row.created_at,
                       decided_at=row.decided_at, decided_by=row.decided_by, reason=row.reason)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class CompanyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, company: Company) -> None:
        try:
            with self.session.begin_nested():  # a savepoint, so a duplicate leaves the transaction usable
                self.session.execute(insert(companies).values(
                    id=company.id, name=company.name, name_key=normalize_name(company.name),
                    domain=company.domain, primary_contact_user_id=company.primary_contact_user_id,
                    created_at=company.created_at))
        except IntegrityError as exc:
            raise errors.CompanyExists("A company with this name already exists.") from exc

    def get(self, company_id: str, lock: bool = False) -> Company | None:
        """``lock`` serialises changes to one company's members (a row lock on PostgreSQL; SQLite
        write transactions are serial already)."""
        query = select(companies).where(companies.c.id == company_id)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return _company(row) if row else None

    def search(self, text: str | None, limit: int, offset: int) -> list[Company]:
        query = select(companies).order_by(companies.c.name_key, companies.c.id).limit(limit).offset(offset)
        if text:
            query = query.where(companies.c.name_key.like(_like_pattern(normalize_name(text)), escape="\\"))
        return [_company(r) for r in self.session.execute(query)]

    def many(self, ids: Iterable[str]) -> dict[str, Company]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        rows = self.session.execute(select(companies).where(companies.c.id.in_(wanted)))
        return {r.id: _company(r) for r in rows}

    def set_primary_contact(self, company_id: str, user_id: str) -> None:
        self.session.execute(update(companies).where(companies.c.id == company_id)
                             .values(primary_contact_user_id=user_id))

    def led_by(self, user_id: str) -> list[Company]:
        """The companies whose primary contact this user is."""
        rows = self.session.execute(select(companies).where(companies.c.primary_contact_user_id == user_id)
                                    .order_by(companies.c.created_at))
        return [_company(r) for r in rows]


class MemberRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, member: Member) -> None:
        self.session.execute(insert(members).values(
            company_id=member.company_id, user_id=member.user_id, role=member.role.value,
            joined_at=member.joined_at))

    def get(self, company_id: str, user_id: str) -> Member | None:
        row = self.session.execute(select(members).where(
            members.c.company_id == company_id, members.c.user_id == user_id)).first()
        return _member(row) if row else None

    def set_role(self, company_id: str, user_id: str, role: Role) -> None:
        self.session.execute(update(members).where(
            members.c.company_id == company_id, members.c.user_id == user_id).values(role=role.value))

    def remove(self, company_id: str, user_id: str) -> None:
        self.session.execute(delete(members).where(
            members.c.company_id == company_id, members.c.user_id == user_id))

    def manager_ids(self, company_id: str) -> list[str]:
        rows = self.session.execute(select(members.c.user_id).where(
            members.c.company_id == company_id, members.c.role == Role.MANAGER.value).order_by(members.c.user_id))
        return [r[0] for r in rows]

    def count_managers(self, company_id: str) -> int:
        return int(self.session.execute(select(func.count()).select_from(members).where(
            members.c.company_id == company_id, members.c.role == Role.MANAGER.value)).scalar_one())

    def page(self, company_id: str, limit: int, offset: int) -> list[Member]:
        rows = self.session.execute(select(members).where(members.c.company_id == company_id)
                                    .order_by(members.c.joined_at, members.c.user_id).limit(limit).offset(offset))
        return [_member(r) for r in rows]

    def of_user(self, user_id: str) -> list[Member]:
        rows = self.session.execute(select(members).where(members.c.user_id == user_id)
                                    .order_by(members.c.joined_at))
        return [_member(r) for r in rows]


class LinkRequestRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, request: LinkRequest) -> None:
        try:
            with self.session.begin_nested():
                self.session.execute(insert(link_requests).values(
                    id=request.id, company_id=request.company_id, user_id=request.user_id,
                    status=request.status.value, message=request.message, created_at=request.created_at))
        except IntegrityError as exc:  # a concurrent duplicate got in first
            raise errors.DuplicateLinkRequest("You already asked to join this company.") from exc

    def get(self, request_id: str, lock: bool = False) -> LinkRequest | None:
        query = select(link_requests).where(link_requests.c.id == request_id)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return _request(row) if row else None

    def pending_of(self, company_id: str, user_id: str) -> LinkRequest | None:
        row = self.session.execute(select(link_requests).where(
            link_requests.c.company_id == company_id, link_requests.c.user_id == user_id,
            link_requests.c.status == RequestStatus.PENDING.value)).first()
        return _request(row) if row else None

    def pending(self, company_id: str, limit: int | None = None, offset: int = 0) -> list[LinkRequest]:
        query = (select(link_requests)
                 .where(link_requests.c.company_id == company_id,
                        link_requests.c.status == RequestStatus.PENDING.value)
                 .order_by(link_requests.c.created_at, link_requests.c.id).offset(offset))
        if limit is not None:
            query = query.limit(limit)
        return [_request(r) for r in self.session.execute(query)]

    def of_user(self, user_id: str, limit: int, offset: int) -> list[LinkRequest]:
        rows = self.session.execute(select(link_requests).where(link_requests.c.user_id == user_id)
                                    .order_by(link_requests.c.created_at.desc(), link_requests.c.id)
                                    .limit(limit).offset(offset))
        return [_request(r) for r in rows]

    def all_of_user(self, user_id: str) -> list[LinkRequest]:
        rows = self.session.execute(select(link_requests).where(link_requests.c.user_id == user_id)
                                    .order_by(link_requests.c.created_at, link_requests.c.id))
        return [_request(r) for r in rows]

    def decided_by(self, user_id: str) -> list[LinkRequest]:
        rows = self.session.execute(select(link_requests).where(link_requests.c.decided_by == user_id)
                                    .order_by(link_requests.c.decided_at, link_requests.c.id))
        return [_request(r) for r in rows]

    def anonymize_requester(self, user_id: str, pseudonym: str) -> int:
        """Detach a person's requests from them: a pseudonym instead of their id, no message, no reason."""
        result = self.session.execute(update(link_requests).where(link_requests.c.user_id == user_id)
                                      .values(user_id=pseudonym, message=None, reason=None))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def forget_decider(self, user_id: str, marker: str) -> int:
        result = self.session.execute(update(link_requests).where(link_requests.c.decided_by == user_id)
                                      .values(decided_by=marker))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def save_decision(self, request: LinkRequest) -> None:
        self.session.execute(update(link_requests).where(link_requests.c.id == request.id).values(
            status=request.status.value, decided_at=request.decided_at, decided_by=request.decided_by,
            reason=request.reason))


class UserRepository:
    """The users projection (contact details from identity's events)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, user_id: str) -> UserRecord | None:
        row = self.session.execute(select(users).where(users.c.user_id == user_id)).first()
        return UserRecord(**row._mapping) if row else None

    def many(self, user_ids: Iterable[str]) -> dict[str, UserRecord]:
        wanted = list(set(user_ids))
        if not wanted:
            return {}
        rows = self.session.execute(select(users).where(users.c.user_id.in_(wanted)))
        return {r.user_id: UserRecord(**r._mapping) for r in rows}

    def put(self, record: UserRecord) -> None:
        values = {k: getattr(record, k) for k in ("name", "email", "phone", "name_as_of", "email_as_of",
                                                   "phone_as_of")}
        change = update(users).where(users.c.user_id == record.user_id).values(**values)
        if self.session.execute(change).rowcount:  # type: ignore[attr-defined]
            return
        try:
            with self.session.begin_nested():
                self.session.execute(insert(users).values(user_id=record.user_id, **values))
        except IntegrityError:  # inserted meanwhile by the worker (or a concurrent request)
            self.session.execute(change)

    def remove(self, user_id: str) -> bool:
        return bool(self.session.execute(delete(users).where(users.c.user_id == user_id)).rowcount)  # type: ignore[attr-defined]

    def erased(self, user_id: str) -> bool:
        """Whether identity erased this account (its contact details must never come back)."""
        return self.session.execute(select(erased_users.c.user_key)
                                    .where(erased_users.c.user_key == erased_key(user_id))).first() is not None

    def mark_erased(self, user_id: str, request_id: str, at: Any) -> None:
        if not self.erased(user_id):
            self.session.execute(insert(erased_users).values(user_key=erased_key(user_id), request_id=request_id,
                                                             erased_at=at))
