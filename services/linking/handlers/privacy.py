"""Privacy requests: what linking holds about a person, for their export; and their erasure,
answered with ``linking.privacy.erasure_completed`` (docs/internal-contracts.md, "Privacy requests")."""

from __future__ import annotations

import uuid
from typing import Any

from services.linking.config import SERVICE, Settings
from services.linking.domain.model import Company, LinkRequest, RequestStatus
from services.linking.handlers.common import emit_manager_removed, emit_member_removed
from services.linking.handlers.ports import LinkingUow
from shared import clock
from shared.events.privacy import ErasureAnswer, ErasureRequest, actor, erasure_completed

ERASED = "erased"  # stands in for an erased account's id where a record must name someone
WORKER = actor(SERVICE)


def _iso(value: Any) -> str | None:
    return None if value is None else clock.isoformat(value)


def _company(company: Company | None, company_id: str) -> dict[str, Any]:
    return {"id": company_id, "name": company.name if company else None}


def export_person(uow: LinkingUow, user_id: str) -> dict[str, Any]:
    """Everything linking holds about the person: the contact details managers see, their link
    requests (with what they shared, with whom), their memberships, and the decisions they made as a
    manager (without the other requesters' details)."""
    with uow:
        record = uow.users.get(user_id)
        requests = uow.requests.all_of_user(user_id)
        memberships = uow.members.of_user(user_id)
        decisions = [r for r in uow.requests.decided_by(user_id) if r.user_id != user_id]
        companies = uow.companies.many([r.company_id for r in requests + decisions]
                                       + [m.company_id for m in memberships])
    contact = record.contact() if record else None
    categories = contact.categories if contact else ["name", "email", "phone"]
    return {
        "contact_details": None if record is None else {"name": record.name, "email": record.email,
                                                        "phone": record.phone},
        "link_requests": [{
            "id": r.id, "company": _company(companies.get(r.company_id), r.company_id), "status": r.status.value,
            "message": r.message, "created_at": _iso(r.created_at), "decided_at": _iso(r.decided_at),
            "reason": r.reason, "contact_shared": True} for r in requests],
        "contact_shares": [{
            "link_request_id": r.id, "company": _company(companies.get(r.company_id), r.company_id),
            "recipients": "the company's managers", "data_categories": categories, "legal_basis": "consent",
            "shared_at": _iso(r.created_at),
            "still_visible": r.status is RequestStatus.PENDING} for r in requests],
        "memberships": [{
            "company": _company(companies.get(m.company_id), m.company_id), "role": m.role.value,
            "joined_at": _iso(m.joined_at),
            "primary_contact": bool(companies.get(m.company_id)
                                    and companies[m.company_id].primary_contact_user_id == user_id)}
            for m in memberships],
        "decisions_made": [{
            "request_id": r.id, "company": _company(companies.get(r.company_id), r.company_id),
            "outcome": r.status.value, "decided_at": _iso(r.decided_at)} for r in decisions],
    }


def erase_person(uow: LinkingUow, request: ErasureRequest, settings: Settings) -> ErasureAnswer:
    """Erase or anonymize everything linking holds about the person, and say what was done (idempotent:
    a replay erases what a restored backup brought back, and answers again). ``settings``: the
    participant contract's; linking keeps nothing for a set time, so it reads none of them.

    - memberships end (``linking.member.removed``, reason ``erased``: content drops their access); a
      primary contact's role passes to the longest-serving other manager, else the company is left
      without one for an administrator to fix;
    - pending requests are withdrawn; every request of theirs is kept only as an anonymized record
      (a random pseudonym for their id, no message, no reason);
    - their id on decisions they made as a manager becomes ``erased``;
    - their contact details leave the users projection, and the account is remembered as erased so no
      late event brings them back.
    """
    user_id, now = request.user_id, clock.now()
    erased: list[str] = []
    with uow:
        transferred = orphaned = 0
        for led in uow.companies.led_by(user_id):
            company = uow.companies.get(led.id, lock=True) or led
            successor = _successor(uow, company, user_id)
            uow.companies.set_primary_contact(company.id, successor or ERASED)
            if successor:
                transferred += 1
                uow.emit("linking.primary_contact.transferred", subject=f"company:{company.id}", payload={
                    "company_id": company.id, "company_name": company.name, "from_user_id": user_id,
                    "to_user_id": successor})
            else:
                orphaned += 1
        memberships = uow.members.of_user(user_id)
        for member in memberships:
            of = uow.companies.get(member.company_id, lock=True)
            assert of is not None  # a membership's company always exists (foreign key)
            uow.members.remove(member.company_id, user_id)
            if member.is_manager:
                emit_manager_removed(uow, of, user_id, reason="erased")
            emit_member_removed(uow, of, member, reason="erased")
        withdrawn = _withdraw_pending(uow, user_id, now)
        requests = uow.requests.anonymize_requester(user_id, f"{ERASED}:{uuid.uuid4()}")
        decisions = uow.requests.forget_decider(user_id, ERASED)
        had_contact = uow.users.remove(user_id)
        uow.users.mark_erased(user_id, request.request_id, now)
        if had_contact:
            erased.append("your contact details (name, email, phone) as shown to company managers")
        if memberships:
            erased.append(f"{len(memberships)} company membership(s): ended, company-only content is no longer "
                          "shown to you")
        if transferred:
            erased.append(f"your primary contact role in {transferred} company(ies), passed to another manager")
        if orphaned:
            erased.append(f"your primary contact role in {orphaned} company(ies) with no other manager "
                          "(an administrator names a new one)")
        if withdrawn:
            erased.append(f"{withdrawn} pending link request(s), withdrawn")
        if requests:
            erased.append(f"your account id, messages and the managers' reasons on {requests} link request(s)")
        if decisions:
            erased.append(f"your account id on {decisions} decision(s) you made as a manager")
        copies = uow.forget_copies(user_id)
        if copies:
            erased.append(f"copies of events naming you (published outbox rows, dead letters): {copies}")
        answer = ErasureAnswer(erased, _kept(requests))
        uow.emit(erasure_completed(SERVICE), subject=user_id, actor=WORKER, payload=answer.payload(request))
        uow.commit()
    return answer


def _successor(uow: LinkingUow, company: Company, leaving: str) -> str | None:
    """The longest-serving other manager, who takes over as primary contact."""
    managers = [m for m in uow.members.page(company.id, 10_000, 0) if m.is_manager and m.user_id != leaving]
    return managers[0].user_id if managers else None


def _withdraw_pending(uow: LinkingUow, user_id: str, now: Any) -> int:
    pending: list[LinkRequest] = [r for r in uow.requests.all_of_user(user_id) if r.status is RequestStatus.PENDING]
    for request in pending:
        uow.requests.save_decision(request.decide(RequestStatus.WITHDRAWN, by=WORKER, at=now))
        uow.emit("linking.link.withdrawn", subject=user_id, payload={
            "request_id": request.id, "company_id": request.company_id, "user_id": user_id})
    return len(pending)


def _kept(anonymized_requests: int) -> list[dict[str, Any]]:
    kept = [{"data": "a one-way key of your account id in linking's list of erased accounts",
             "reason": "so that delayed or replayed events can never bring your contact details back",
             "until": None}]
    if anonymized_requests:
        kept.insert(0, {
            "data": f"{anonymized_requests} anonymized link request record(s): company, status and dates, "
                    "with no account id, contact details or message",
            "reason": "the companies' record of who was granted access and when; it no longer identifies you",
            "until": None})
    return kept
