"""Link requests: a user asks to join a company, sharing their contact details; managers decide."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.linking.domain import errors
from services.linking.domain.model import (
    Caller,
    Company,
    Contact,
    LinkRequest,
    Member,
    RequestStatus,
    Role,
    ensure_can_manage,
)
from services.linking.handlers.common import (
    Page,
    ResolvedContact,
    emit_contact_shared,
    emit_member_added,
    get_company,
    page_of,
    record_staff_read,
    remember_contact,
)
from services.linking.handlers.ports import LinkingUow, UserDirectory
from shared import clock


@dataclass(frozen=True)
class RequestLink:
    company_id: str
    share_contact: bool
    message: str | None


@dataclass(frozen=True)
class PendingRequest:
    """What a manager sees: the request and exactly the contact details the requester shared."""

    request: LinkRequest
    contact: Contact | None  # None only once identity erased the person


@dataclass(frozen=True)
class OwnRequest:
    request: LinkRequest
    company: Company


def request_link(cmd: RequestLink, caller: Caller, uow: LinkingUow, directory: UserDirectory) -> LinkRequest:
    if cmd.share_contact is not True:
        raise errors.ShareContactRequired()
    with uow:
        get_company(uow, cmd.company_id)
    # identity is asked every time (signed, synchronously): only it knows whether the address is confirmed
    # now, and confirming it must count at once, not when an event reaches the projection. Its answer is
    # also the freshest copy of the contact details, so that is what is shared (and kept in the projection).
    account = directory.lookup(caller.user_id, request_id=uow.context.request_id)
    if account is None:  # a logged-in user identity does not know: treat identity as not answering
        raise errors.IdentityUnavailable("Your contact details cannot be read from the identity service.")
    if not account.email_verified:
        raise errors.EmailUnverified(
            "Confirm your email address first (the link we mailed you): a link request shares it with the "
            "company's managers.")
    resolved = ResolvedContact(account.contact, from_identity=True)
    with uow:
        company = get_company(uow, cmd.company_id, lock=True)
        if uow.members.get(company.id, caller.user_id) is not None:
            raise errors.AlreadyMember("You are already a member of this company.")
        if uow.requests.pending_of(company.id, caller.user_id) is not None:
            raise errors.DuplicateLinkRequest("You already asked to join this company.")
        remember_contact(uow, resolved)
        request = LinkRequest(id=str(uuid.uuid4()), company_id=company.id, user_id=caller.user_id,
                              status=RequestStatus.PENDING, message=cmd.message, created_at=clock.now())
        uow.requests.add(request)
        uow.emit("linking.link.requested", subject=caller.user_id, payload={
            "request_id": request.id, "company_id": company.id, "company_name": company.name,
            "user_id": caller.user_id, "share_contact": True})
        emit_contact_shared(uow, company, caller.user_id, request.id, resolved.contact.categories,
                            uow.members.manager_ids(company.id), trigger="link_requested")
        uow.commit()
    return request


def list_pending_requests(company_id: str, limit: int, offset: int, caller: Caller,
                          uow: LinkingUow) -> Page[PendingRequest]:
    with uow:
        company = get_company(uow, company_id)
        own = uow.members.get(company_id, caller.user_id)
        ensure_can_manage(caller, own)
        page = page_of(uow.requests.pending(company_id, limit + 1, offset), limit, offset)
        records = uow.users.many(r.user_id for r in page.items)
        record_staff_read(uow, caller, own, company, [r.user_id for r in page.items if r.user_id in records],
                          ["name", "email", "phone"], "link_requests_listed")
    items = []
    for request in page.items:
        record = records.get(request.user_id)
        items.append(PendingRequest(request, record.contact() if record else None))
    return Page(items=items, next_offset=page.next_offset)


def _decide(request_id: str, status: RequestStatus, reason: str | None, caller: Caller,
            uow: LinkingUow) -> LinkRequest:
    """Approve or reject: a manager of the request's company (or an admin), once, and only while pending."""
    with uow:
        found = uow.requests.get(request_id)
        if found is None:
            raise errors.LinkRequestNotFound("No such link request.")
        company = get_company(uow, found.company_id, lock=True)  # lock order: company, then request
        ensure_can_manage(caller, uow.members.get(company.id, caller.user_id))
        request = uow.requests.get(request_id, lock=True) or found
        decided = request.decide(status, by=caller.user_id, at=clock.now(), reason=reason)
        uow.requests.save_decision(decided)
        outcome = "approved" if status is RequestStatus.APPROVED else "rejected"
        # What the mailer needs to tell the requester; it reads their address from its own records.
        uow.emit(f"linking.link.{outcome}", subject=request.user_id, payload={
            "request_id": request.id, "company_id": company.id, "company_name": company.name,
            "user_id": request.user_id, "decided_by": caller.user_id, "reason": reason})
        if status is RequestStatus.APPROVED and uow.members.get(company.id, request.user_id) is None:
            member = Member(company_id=company.id, user_id=request.user_id, role=Role.MEMBER,
                            joined_at=decided.decided_at or clock.now())
            uow.members.add(member)
            emit_member_added(uow, company, member, via="link_approved")
        uow.commit()
    return decided


def approve_link_request(request_id: str, caller: Caller, uow: LinkingUow) -> LinkRequest:
    return _decide(request_id, RequestStatus.APPROVED, None, caller, uow)


def reject_link_request(request_id: str, reason: str | None, caller: Caller, uow: LinkingUow) -> LinkRequest:
    return _decide(request_id, RequestStatus.REJECTED, reason, caller, uow)


def withdraw_link_request(request_id: str, caller: Caller, uow: LinkingUow) -> LinkRequest:
    """Only the requester withdraws their own request, while it is still pending."""
    with uow:
        request = uow.requests.get(request_id, lock=True)
        if request is None:
            raise errors.LinkRequestNotFound("No such link request.")
        if request.user_id != caller.user_id:
            raise errors.NotTheRequester("Only the person who asked can withdraw a link request.")
        withdrawn = request.decide(RequestStatus.WITHDRAWN, by=caller.user_id, at=clock.now())
        uow.requests.save_decision(withdrawn)
        uow.emit("linking.link.withdrawn", subject=caller.user_id, payload={
            "request_id": request.id, "company_id": request.company_id, "user_id": caller.user_id})
        uow.commit()
    return withdrawn


def list_own_requests(limit: int, offset: int, caller: Caller, uow: LinkingUow) -> Page[OwnRequest]:
    with uow:
        page = page_of(uow.requests.of_user(caller.user_id, limit + 1, offset), limit, offset)
        companies = uow.companies.many(r.company_id for r in page.items)
    return Page(items=[OwnRequest(r, companies[r.company_id]) for r in page.items], next_offset=page.next_offset)
