"""Companies: creation by an admin, search, and who leads them (primary contact, managers)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.linking.domain import errors
from services.linking.domain.model import (
    Caller,
    Company,
    Member,
    Role,
    check_role_change,
    ensure_can_manage,
)
from services.linking.handlers.common import (
    Page,
    emit_manager_added,
    emit_manager_removed,
    emit_member_added,
    get_company,
    page_of,
    remember_contact,
    resolve_contact,
)
from services.linking.handlers.ports import LinkingUow, UserDirectory
from shared import clock


@dataclass(frozen=True)
class CreateCompany:
    name: str
    domain: str | None
    primary_contact_user_id: str


def create_company(cmd: CreateCompany, caller: Caller, uow: LinkingUow, directory: UserDirectory) -> Company:
    if not caller.is_admin:
        raise errors.AdminOnly("Only administrators create companies.")
    resolved = resolve_contact(uow, directory, cmd.primary_contact_user_id)
    if resolved is None:
        raise errors.UnknownUser("primary_contact_user_id")
    now = clock.now()
    company = Company(id=str(uuid.uuid4()), name=" ".join(cmd.name.split()), domain=cmd.domain,
                      primary_contact_user_id=cmd.primary_contact_user_id, created_at=now)
    first = Member(company_id=company.id, user_id=cmd.primary_contact_user_id, role=Role.MANAGER, joined_at=now)
    with uow:
        remember_contact(uow, resolved)
        uow.companies.add(company)
        uow.members.add(first)
        uow.emit("linking.company.created", subject=f"company:{company.id}", payload={
            "company_id": company.id, "name": company.name, "domain": company.domain,
            "primary_contact_user_id": company.primary_contact_user_id})
        emit_member_added(uow, company, first, via="company_created")
        emit_manager_added(uow, company, first.user_id, via="company_created")
        uow.commit()
    return company


def search_companies(text: str | None, limit: int, offset: int, uow: LinkingUow) -> Page[Company]:
    with uow:
        return page_of(uow.companies.search(text, limit + 1, offset), limit, offset)


def get_company_details(company_id: str, uow: LinkingUow) -> Company:
    with uow:
        return get_company(uow, company_id)


def transfer_primary_contact(company_id: str, user_id: str, caller: Caller, uow: LinkingUow) -> Company:
    """Only the current primary contact (or an admin) hands the role on, to an existing member, who
    becomes a manager if not one already. The previous primary contact stays a manager."""
    with uow:
        company = get_company(uow, company_id, lock=True)
        if not (caller.is_admin or caller.user_id == company.primary_contact_user_id):
            raise errors.NotPrimaryContact(
                "Only the primary contact or an administrator can transfer the primary contact.")
        if user_id == company.primary_contact_user_id:
            return company
        target = uow.members.get(company_id, user_id)
        if target is None:
            raise errors.InvalidInput("Some fields are invalid.", fields={"user_id": ["Not a member of this company."]})
        if not target.is_manager:
            uow.members.set_role(company_id, user_id, Role.MANAGER)
            emit_manager_added(uow, company, user_id, via="primary_contact")
        uow.companies.set_primary_contact(company_id, user_id)
        uow.emit("linking.primary_contact.transferred", subject=f"company:{company_id}", payload={
            "company_id": company_id, "company_name": company.name,
            "from_user_id": company.primary_contact_user_id, "to_user_id": user_id})
        uow.commit()
    return Company(id=company.id, name=company.name, domain=company.domain, primary_contact_user_id=user_id,
                   created_at=company.created_at)


def change_role(company_id: str, user_id: str, role: Role, caller: Caller, uow: LinkingUow) -> Member:
    """Promote a member to manager or demote a manager; a company always keeps one manager."""
    with uow:
        company = get_company(uow, company_id, lock=True)
        ensure_can_manage(caller, uow.members.get(company_id, caller.user_id))
        target = uow.members.get(company_id, user_id)
        if target is None:
            raise errors.MemberNotFound("This user is not a member of the company.")
        if target.role is role:
            return target
        check_role_change(company, target, role, uow.members.count_managers(company_id))
        uow.members.set_role(company_id, user_id, role)
        if role is Role.MANAGER:
            emit_manager_added(uow, company, user_id, via="promoted")
        else:
            emit_manager_removed(uow, company, user_id, reason="demoted")
        uow.commit()
    return Member(company_id=company_id, user_id=user_id, role=role, joined_at=target.joined_at)
