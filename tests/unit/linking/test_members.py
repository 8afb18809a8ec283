from __future__ import annotations

import pytest

from services.linking.api.errors import STATUS
from services.linking.domain import errors
from services.linking.domain.model import Caller, Role
from services.linking.handlers import companies, members
from tests.unit.linking.conftest import ADMIN, PRIMARY, join


def test_managers_list_members_with_name_and_email(uow, directory, company):
    join(uow, directory, company, "u-1")
    page = members.list_members(company.id, 10, 0, PRIMARY, uow)
    rows = [(v.member.user_id, v.member.role, v.primary_contact, v.email) for v in page.items]
    assert rows == [(PRIMARY.user_id, Role.MANAGER, True, f"{PRIMARY.user_id}@example.test"),
                    ("u-1", Role.MEMBER, False, "u-1@example.test")]
    assert members.list_members(company.id, 1, 0, ADMIN, uow).next_offset == 1
    with pytest.raises(errors.NotAManager):
        members.list_members(company.id, 10, 0, Caller("u-1"), uow)
    with pytest.raises(errors.CompanyNotFound):
        members.list_members("nope", 10, 0, PRIMARY, uow)


def test_manager_removes_a_member(uow, directory, company):
    join(uow, directory, company, "u-1")
    members.remove_member(company.id, "u-1", PRIMARY, uow)
    assert (company.id, "u-1") not in uow.state.members
    assert uow.types() == ["linking.member.removed"]
    removed = uow.of_type("linking.member.removed")[0].payload
    assert (removed["company_id"], removed["user_id"], removed["reason"]) == (company.id, "u-1", "removed")


def test_a_member_leaves(uow, directory, company):
    join(uow, directory, company, "u-1")
    members.remove_member(company.id, "u-1", Caller("u-1"), uow)
    assert uow.of_type("linking.member.removed")[0].payload["reason"] == "left"


def test_a_manager_leaving_is_also_no_longer_a_manager(uow, directory, company):
    join(uow, directory, company, "u-1")
    companies.change_role(company.id, "u-1", Role.MANAGER, PRIMARY, uow)
    uow.committed.clear()
    members.remove_member(company.id, "u-1", Caller("u-1"), uow)
    assert uow.types() == ["linking.manager.removed", "linking.member.removed"]


def test_the_last_manager_and_primary_contact_stay(uow, directory, company):
    with pytest.raises(errors.PrimaryContactProtected) as err:
        members.remove_member(company.id, PRIMARY.user_id, PRIMARY, uow)
    assert STATUS[type(err.value)][0] == 409
    with pytest.raises(errors.PrimaryContactProtected):
        members.remove_member(company.id, PRIMARY.user_id, ADMIN, uow)
    assert uow.state.members[(company.id, PRIMARY.user_id)].is_manager


@pytest.mark.parametrize("who", ["u-2", "stranger"])
def test_members_and_strangers_cannot_remove_others(uow, directory, company, who):
    join(uow, directory, company, "u-1")
    join(uow, directory, company, "u-2")
    with pytest.raises(errors.NotAManager):
        members.remove_member(company.id, "u-1", Caller(who), uow)
    assert (company.id, "u-1") in uow.state.members


def test_removing_a_non_member_is_404(uow, company):
    with pytest.raises(errors.MemberNotFound):
        members.remove_member(company.id, "stranger", PRIMARY, uow)
    with pytest.raises(errors.MemberNotFound):  # leaving a company one is not in
        members.remove_member(company.id, "stranger", Caller("stranger"), uow)


def test_own_memberships(uow, directory, company):
    join(uow, directory, company, "u-1")
    mine = members.list_own_memberships(Caller("u-1"), uow)
    assert [(m.company.id, m.member.role) for m in mine] == [(company.id, Role.MEMBER)]


def test_an_admin_listing_members_is_a_recorded_staff_read(uow, directory, company):
    join(uow, directory, company, "u-1")
    members.list_members(company.id, 10, 0, PRIMARY, uow)
    assert uow.committed == []
    members.list_members(company.id, 10, 0, ADMIN, uow)
    reads = uow.of_type("linking.pii.accessed")
    assert sorted(e.subject for e in reads) == sorted([PRIMARY.user_id, "u-1"])
    assert {e.payload["reason"] for e in reads} == {"members_listed"}
    assert {tuple(e.payload["fields"]) for e in reads} == {("name", "email")}
