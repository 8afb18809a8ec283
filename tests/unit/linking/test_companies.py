from __future__ import annotations

import pytest

from services.linking.api.errors import STATUS
from services.linking.domain import errors
from services.linking.domain.model import Caller, Role
from services.linking.handlers import companies
from tests.unit.linking.conftest import ADMIN, PRIMARY, ask, contact, join
from tests.unit.linking.fakes import FakeDirectory, FakeUnitOfWork


def create(uow, directory, name="Acme Corp", primary=PRIMARY.user_id, caller=ADMIN):
    return companies.create_company(companies.CreateCompany(name, "acme.test", primary), caller, uow, directory)


def test_admin_creates_a_company_whose_primary_contact_is_its_first_manager(uow, directory):
    company = create(uow, directory, name="  Acme   Corp ")
    assert company.name == "Acme Corp" and company.primary_contact_user_id == PRIMARY.user_id
    member = uow.state.members[(company.id, PRIMARY.user_id)]
    assert member.role is Role.MANAGER
    assert uow.types() == ["linking.company.created", "linking.member.added", "linking.manager.added"]
    added = uow.of_type("linking.member.added")[0]
    assert added.payload["company_id"] == company.id and added.payload["user_id"] == PRIMARY.user_id
    assert added.actor == "someone" and added.correlation_id == "req-1"
    # identity answered for the primary contact: the projection keeps it for later
    assert uow.state.users[PRIMARY.user_id].email == contact(PRIMARY.user_id).email


def test_only_admins_create_companies(uow, directory):
    with pytest.raises(errors.AdminOnly):
        create(uow, directory, caller=PRIMARY)
    assert uow.state.companies == {} and uow.committed == []


def test_primary_contact_must_be_a_known_user(uow):
    with pytest.raises(errors.UnknownUser) as err:
        create(uow, FakeDirectory())
    assert STATUS[type(err.value)][0] == 422 and "primary_contact_user_id" in err.value.fields


def test_identity_down_and_projection_empty_gives_503(uow, directory):
    directory.down = True
    with pytest.raises(errors.IdentityUnavailable) as err:
        create(uow, directory)
    assert STATUS[type(err.value)][0] == 503 and uow.state.companies == {}


def test_company_names_are_unique_whatever_their_case(uow, directory):
    create(uow, directory)
    with pytest.raises(errors.CompanyExists):
        create(uow, directory, name="ACME  corp")
    assert len(uow.state.companies) == 1


def test_search_by_name_pages(uow, directory):
    for name in ("Beta Ltd", "Acme Corp", "Acme Labs", "Gamma"):
        create(uow, directory, name=name)
    page = companies.search_companies("acme", 1, 0, uow)
    assert [c.name for c in page.items] == ["Acme Corp"] and page.next_offset == 1
    page = companies.search_companies("ACME", 1, 1, uow)
    assert [c.name for c in page.items] == ["Acme Labs"] and page.next_offset is None
    assert len(companies.search_companies(None, 10, 0, uow).items) == 4


def test_primary_contact_hands_over_to_a_member_who_becomes_manager(uow, directory, company):
    join(uow, directory, company, "member-1")
    changed = companies.transfer_primary_contact(company.id, "member-1", PRIMARY, uow)
    assert changed.primary_contact_user_id == "member-1"
    assert uow.state.members[(company.id, "member-1")].role is Role.MANAGER
    assert uow.state.members[(company.id, PRIMARY.user_id)].role is Role.MANAGER  # stays a manager
    assert uow.types() == ["linking.manager.added", "linking.primary_contact.transferred"]
    moved = uow.of_type("linking.primary_contact.transferred")[0].payload
    assert (moved["from_user_id"], moved["to_user_id"]) == (PRIMARY.user_id, "member-1")


def test_only_the_primary_contact_or_an_admin_transfers(uow, directory, company):
    join(uow, directory, company, "member-1")
    join(uow, directory, company, "member-2")
    companies.change_role(company.id, "member-1", Role.MANAGER, PRIMARY, uow)
    with pytest.raises(errors.NotPrimaryContact):  # another manager may not take over
        companies.transfer_primary_contact(company.id, "member-1", Caller("member-1"), uow)
    assert companies.transfer_primary_contact(company.id, "member-2", ADMIN, uow).primary_contact_user_id == "member-2"


def test_transfer_to_a_non_member_is_invalid(uow, directory, company):
    with pytest.raises(errors.InvalidInput) as err:
        companies.transfer_primary_contact(company.id, "stranger", PRIMARY, uow)
    assert "user_id" in err.value.fields


def test_transfer_to_oneself_changes_nothing(uow, company):
    companies.transfer_primary_contact(company.id, PRIMARY.user_id, PRIMARY, uow)
    assert uow.committed == []


def test_promoting_a_member_discloses_pending_requests_to_them(uow, directory, company):
    join(uow, directory, company, "member-1")
    pending = ask(uow, directory, company, "asker-1")
    uow.committed.clear()
    member = companies.change_role(company.id, "member-1", Role.MANAGER, PRIMARY, uow)
    assert member.role is Role.MANAGER
    assert uow.types() == ["linking.manager.added", "linking.contact.shared"]
    shared = uow.of_type("linking.contact.shared")[0].payload
    assert shared["subject_user_id"] == "asker-1" and shared["recipient_manager_ids"] == ["member-1"]
    assert shared["link_request_id"] == pending.id and shared["trigger"] == "manager_added"


def test_demoting_keeps_one_manager_and_the_primary_contact(uow, directory, company):
    join(uow, directory, company, "member-1")
    companies.change_role(company.id, "member-1", Role.MANAGER, PRIMARY, uow)
    with pytest.raises(errors.PrimaryContactProtected) as err:
        companies.change_role(company.id, PRIMARY.user_id, Role.MEMBER, Caller("member-1"), uow)
    assert STATUS[type(err.value)][0] == 409
    demoted = companies.change_role(company.id, "member-1", Role.MEMBER, PRIMARY, uow)
    assert demoted.role is Role.MEMBER and uow.types()[-1] == "linking.manager.removed"


def test_role_changes_need_a_manager(uow, directory, company):
    join(uow, directory, company, "member-1")
    with pytest.raises(errors.NotAManager):
        companies.change_role(company.id, "member-1", Role.MANAGER, Caller("member-1"), uow)
    with pytest.raises(errors.MemberNotFound):
        companies.change_role(company.id, "stranger", Role.MANAGER, PRIMARY, uow)
    with pytest.raises(errors.CompanyNotFound):
        companies.change_role("nope", "member-1", Role.MANAGER, PRIMARY, uow)


def test_same_role_is_a_no_op(uow, company):
    companies.change_role(company.id, PRIMARY.user_id, Role.MANAGER, PRIMARY, uow)
    assert uow.committed == []


def test_failed_use_case_leaves_no_trace():
    uow, directory = FakeUnitOfWork(), FakeDirectory(contact("p"))
    create(uow, directory, primary="p")
    before = len(uow.committed)
    with pytest.raises(errors.CompanyExists):
        create(uow, directory, primary="p")
    assert len(uow.committed) == before and len(uow.state.members) == 1
