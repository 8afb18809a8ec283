"""Members: managers list and remove them; anyone may leave."""

from __future__ import annotations

from dataclasses import dataclass

from services.linking.domain import errors
from services.linking.domain.model import Caller, Company, Member, can_manage, check_removal, ensure_can_manage
from services.linking.handlers.common import (
    Page,
    emit_manager_removed,
    emit_member_removed,
    get_company,
    page_of,
    record_staff_read,
)
from services.linking.handlers.ports import LinkingUow


@dataclass(frozen=True)
class MemberView:
    member: Member
    name: str | None
    email: str | None
    primary_contact: bool


@dataclass(frozen=True)
class Membership:
    company: Company
    member: Member


def list_members(company_id: str, limit: int, offset: int, caller: Caller,
                 uow: LinkingUow) -> Page[MemberView]:
    with uow:
        company = get_company(uow, company_id)
        own = uow.members.get(company_id, caller.user_id)
        ensure_can_manage(caller, own)
        page = page_of(uow.members.page(company_id, limit + 1, offset), limit, offset)
        records = uow.users.many(m.user_id for m in page.items)
        record_staff_read(uow, caller, own, company, [m.user_id for m in page.items if m.user_id in records],
                          ["name", "email"], "members_listed")
    items = []
    for member in page.items:
        record = records.get(member.user_id)
        items.append(MemberView(member, record.name if record else None, record.email if record else None,
                                member.user_id == company.primary_contact_user_id))
    return Page(items=items, next_offset=page.next_offset)


def remove_member(company_id: str, user_id: str, caller: Caller, uow: LinkingUow) -> None:
    """A manager (or admin) removes a member; a member removing themself leaves."""
    leaving = user_id == caller.user_id
    with uow:
        company = get_company(uow, company_id, lock=True)
        own = uow.members.get(company_id, caller.user_id)
        if not leaving and not can_manage(caller, own):
            raise errors.NotAManager("Only this company's managers may remove its members.")
        target = own if leaving else uow.members.get(company_id, user_id)
        if target is None:
            raise errors.MemberNotFound("This user is not a member of the company.")
        check_removal(company, target, uow.members.count_managers(company_id))
        uow.members.remove(company_id, user_id)
        reason = "left" if leaving else "removed"
        if target.is_manager:
            emit_manager_removed(uow, company, user_id, reason=reason)
        emit_member_removed(uow, company, target, reason=reason)
        uow.commit()


def list_own_memberships(caller: Caller, uow: LinkingUow) -> list[Membership]:
    with uow:
        members = uow.members.of_user(caller.user_id)
        companies = uow.companies.many(m.company_id for m in members)
    return [Membership(companies[m.company_id], m) for m in members]
