"""What several use cases share: pages, contact look-ups, and the event payloads others rely on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.linking.domain import errors
from services.linking.domain.model import Caller, Company, Contact, Member
from services.linking.domain.users import merge
from services.linking.handlers.ports import LinkingUow, UserDirectory
from shared import clock

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_offset: int | None


def page_of(rows: Sequence[T], limit: int, offset: int) -> Page[T]:
    """``rows`` was read with ``limit + 1``: the extra row only tells that there is a next page."""
    more = len(rows) > limit
    return Page(items=list(rows[:limit]), next_offset=offset + limit if more else None)


def get_company(uow: LinkingUow, company_id: str, lock: bool = False) -> Company:
    company = uow.companies.get(company_id, lock=lock)
    if company is None:
        raise errors.CompanyNotFound("No such company.")
    return company


@dataclass(frozen=True)
class ResolvedContact:
    contact: Contact
    from_identity: bool  # True when the projection lacked it and identity answered


def resolve_contact(uow: LinkingUow, directory: UserDirectory, user_id: str) -> ResolvedContact | None:
    """Contact details from the users projection, else from identity's internal API (synchronously).

    Call outside any open write transaction: the HTTP call must not hold the database's write lock.
    """
    with uow:
        record = uow.users.get(user_id)
    contact = record.contact() if record else None
    if contact is not None:
        return ResolvedContact(contact, from_identity=False)
    found = directory.find(user_id, request_id=uow.context.request_id)
    return ResolvedContact(found, from_identity=True) if found else None


def remember_contact(uow: LinkingUow, resolved: ResolvedContact) -> None:
    """Keep what identity told us in the projection, as known now (later events still win)."""
    if not resolved.from_identity:
        return
    c = resolved.contact
    if uow.users.erased(c.user_id):
        return
    merged = merge(uow.users.get(c.user_id), c.user_id, {"name": c.name, "email": c.email, "phone": c.phone},
                   clock.now())
    if merged is not None:
        uow.users.put(merged)


def emit_member_added(uow: LinkingUow, company: Company, member: Member, via: str) -> None:
    uow.emit("linking.member.added", subject=member.user_id, payload={
        "company_id": company.id, "company_name": company.name, "user_id": member.user_id,
        "role": member.role.value, "via": via})


def emit_member_removed(uow: LinkingUow, company: Company, member: Member, reason: str) -> None:
    uow.emit("linking.member.removed", subject=member.user_id, payload={
        "company_id": company.id, "company_name": company.name, "user_id": member.user_id,
        "role": member.role.value, "reason": reason})


def emit_manager_added(uow: LinkingUow, company: Company, user_id: str, via: str) -> None:
    uow.emit("linking.manager.added", subject=user_id, payload={
        "company_id": company.id, "company_name": company.name, "user_id": user_id, "via": via})
    share_pending_with(uow, company, [user_id], trigger="manager_added")


def emit_manager_removed(uow: LinkingUow, company: Company, user_id: str, reason: str) -> None:
    uow.emit("linking.manager.removed", subject=user_id, payload={
        "company_id": company.id, "company_name": company.name, "user_id": user_id, "reason": reason})


def emit_contact_shared(uow: LinkingUow, company: Company, subject_user_id: str, request_id: str,
                        categories: list[str], recipients: list[str], trigger: str) -> None:
    """The disclosure record: whose contact details went to which company's managers, and which ones."""
    uow.emit("linking.contact.shared", subject=subject_user_id, payload={
        "subject_user_id": subject_user_id, "user_id": subject_user_id, "company_id": company.id,
        "company_name": company.name, "recipient": f"managers of company {company.name} ({company.id})",
        "recipient_manager_ids": recipients, "data_categories": categories, "legal_basis": "consent",
        "link_request_id": request_id, "trigger": trigger})


def share_pending_with(uow: LinkingUow, company: Company, recipients: list[str], trigger: str) -> None:
    """A new manager sees the pending requests, so each one is disclosed to them too."""
    pending = uow.requests.pending(company.id)
    records = uow.users.many(r.user_id for r in pending)
    for request in pending:
        record = records.get(request.user_id)
        contact = record.contact() if record else None
        if contact is not None:
            emit_contact_shared(uow, company, request.user_id, request.id, contact.categories, recipients,
                                trigger)


def record_staff_read(uow: LinkingUow, caller: Caller, own: Member | None, company: Company,
                      people: list[str], fields: list[str], reason: str) -> None:
    """An admin reading a company's people without being one of its managers is a staff read of
    personal data: logged per person, so each sees it in their own history (managers reading their
    own company's requests and members are the recipients the person agreed to, not staff)."""
    if not caller.is_admin or (own is not None and own.is_manager):
        return
    for person in people:
        if person != caller.user_id:
            uow.emit("linking.pii.accessed", subject=person, payload={
                "accessor_id": caller.user_id, "subject_user_id": person, "company_id": company.id,
                "reason": reason, "fields": fields})
    if uow.events:
        uow.commit()
