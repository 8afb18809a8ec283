from __future__ import annotations

import pytest

from services.linking.api.errors import STATUS
from services.linking.domain import errors
from services.linking.domain.model import Caller, RequestStatus, Role
from services.linking.handlers import companies, link_requests
from services.linking.handlers.link_requests import RequestLink
from tests.unit.linking.conftest import ADMIN, PRIMARY, ask, contact, join


def test_share_contact_must_be_true(uow, directory, company):
    for value in (False, None, "true", 1):
        with pytest.raises(errors.ShareContactRequired) as err:
            link_requests.request_link(RequestLink(company.id, value, None), Caller("u-1"), uow, directory)  # type: ignore[arg-type]
        assert STATUS[type(err.value)][0] == 422 and "share_contact" in err.value.fields
    assert uow.state.requests == {} and uow.committed == []


def test_request_is_pending_and_discloses_contact_to_current_managers(uow, directory, company):
    join(uow, directory, company, "manager-2")
    companies.change_role(company.id, "manager-2", Role.MANAGER, PRIMARY, uow)
    uow.committed.clear()
    request = ask(uow, directory, company, "u-1", message="Hello")
    assert request.status is RequestStatus.PENDING and request.message == "Hello"
    assert uow.types() == ["linking.link.requested", "linking.contact.shared"]
    requested = uow.of_type("linking.link.requested")[0]
    assert requested.payload["company_id"] == company.id and requested.payload["user_id"] == "u-1"
    assert "message" not in requested.payload  # free text stays out of the log
    shared = uow.of_type("linking.contact.shared")[0]
    assert shared.subject == "u-1"
    assert shared.payload == {
        "subject_user_id": "u-1", "user_id": "u-1", "company_id": company.id, "company_name": "Acme Corp",
        "recipient": f"managers of company Acme Corp ({company.id})",
        "recipient_manager_ids": sorted([PRIMARY.user_id, "manager-2"]),
        "data_categories": ["name", "email", "phone"], "legal_basis": "consent",
        "link_request_id": request.id, "trigger": "link_requested"}
    assert directory.calls == [PRIMARY.user_id, "manager-2", "u-1"]  # identity asked about each requester


def test_an_unconfirmed_address_cannot_ask_to_join(uow, directory, company):
    directory.contacts["u-7"] = contact("u-7")
    directory.unverified.add("u-7")
    with pytest.raises(errors.EmailUnverified) as err:
        link_requests.request_link(RequestLink(company.id, True, None), Caller("u-7"), uow, directory)
    assert STATUS[type(err.value)] == (403, "email_unverified")
    assert uow.state.requests == {} and uow.committed == []
    directory.unverified.discard("u-7")  # confirmed: it counts at once (identity is asked, not the projection)
    asked = link_requests.request_link(RequestLink(company.id, True, None), Caller("u-7"), uow, directory)
    assert asked.user_id == "u-7"


def test_a_missing_phone_is_not_reported_as_shared(uow, directory, company):
    directory.contacts["u-1"] = contact("u-1", phone=None)
    link_requests.request_link(RequestLink(company.id, True, None), Caller("u-1"), uow, directory)
    assert uow.of_type("linking.contact.shared")[0].payload["data_categories"] == ["name", "email"]


def test_projection_miss_falls_back_to_identity_and_remembers(uow, directory, company):
    directory.contacts["u-9"] = contact("u-9")
    link_requests.request_link(RequestLink(company.id, True, None), Caller("u-9"), uow, directory)
    assert directory.calls[-1] == "u-9" and uow.state.users["u-9"].name == "Person u-9"


@pytest.mark.parametrize("down", [True, False])
def test_contact_details_unavailable_gives_503(uow, directory, company, down):
    directory.down = down  # down, or up but not knowing the caller
    with pytest.raises(errors.IdentityUnavailable) as err:
        link_requests.request_link(RequestLink(company.id, True, None), Caller("u-9"), uow, directory)
    assert STATUS[type(err.value)][0] == 503 and uow.state.requests == {}


def test_one_pending_request_per_user_and_company(uow, directory, company):
    ask(uow, directory, company, "u-1")
    with pytest.raises(errors.DuplicateLinkRequest) as err:
        ask(uow, directory, company, "u-1")
    assert STATUS[type(err.value)][0] == 409 and len(uow.state.requests) == 1


def test_members_cannot_ask_again_and_unknown_company_is_404(uow, directory, company):
    join(uow, directory, company, "u-1")
    with pytest.raises(errors.AlreadyMember):
        ask(uow, directory, company, "u-1")
    with pytest.raises(errors.CompanyNotFound):
        link_requests.request_link(RequestLink("missing", True, None), Caller("u-1"), uow, directory)


def test_managers_see_pending_requests_with_exactly_the_shared_contact(uow, directory, company):
    first = ask(uow, directory, company, "u-1", message="Hi")
    decided = ask(uow, directory, company, "u-2")
    link_requests.reject_link_request(decided.id, None, PRIMARY, uow)
    page = link_requests.list_pending_requests(company.id, 10, 0, PRIMARY, uow)
    assert [(p.request.id, p.contact) for p in page.items] == [(first.id, contact("u-1"))]
    assert link_requests.list_pending_requests(company.id, 10, 0, ADMIN, uow).items


@pytest.mark.parametrize("who", ["u-1", "member-1", "other-manager", "stranger"])
def test_no_one_but_managers_sees_pending_requests(uow, directory, company, who):
    ask(uow, directory, company, "u-1")
    join(uow, directory, company, "member-1")
    other = companies.create_company(companies.CreateCompany("Other", None, "other-manager"), ADMIN, uow,
                                     type(directory)(contact("other-manager")))
    assert other.id
    with pytest.raises(errors.NotAManager):
        link_requests.list_pending_requests(company.id, 10, 0, Caller(who), uow)


def test_approval_makes_a_member_and_tells_the_requester(uow, directory, company):
    request = ask(uow, directory, company, "u-1")
    uow.committed.clear()
    approved = link_requests.approve_link_request(request.id, PRIMARY, uow)
    assert approved.status is RequestStatus.APPROVED and approved.decided_by == PRIMARY.user_id
    assert uow.state.members[(company.id, "u-1")].role is Role.MEMBER
    assert uow.types() == ["linking.link.approved", "linking.member.added"]
    mail = uow.of_type("linking.link.approved")[0].payload
    assert mail["user_id"] == "u-1" and mail["company_name"] == "Acme Corp"
    added = uow.of_type("linking.member.added")[0].payload
    assert (added["company_id"], added["user_id"], added["role"]) == (company.id, "u-1", "member")


def test_a_request_is_decided_once(uow, directory, company):
    request = ask(uow, directory, company, "u-1")
    link_requests.approve_link_request(request.id, ADMIN, uow)
    for decide in (lambda: link_requests.approve_link_request(request.id, PRIMARY, uow),
                   lambda: link_requests.reject_link_request(request.id, "late", PRIMARY, uow),
                   lambda: link_requests.withdraw_link_request(request.id, Caller("u-1"), uow)):
        with pytest.raises(errors.RequestNotPending) as err:
            decide()
        assert STATUS[type(err.value)][0] == 409


def test_rejection_carries_its_reason_and_adds_no_member(uow, directory, company):
    request = ask(uow, directory, company, "u-1")
    uow.committed.clear()
    rejected = link_requests.reject_link_request(request.id, "We do not know you", PRIMARY, uow)
    assert rejected.status is RequestStatus.REJECTED and rejected.reason == "We do not know you"
    assert uow.types() == ["linking.link.rejected"]
    assert uow.of_type("linking.link.rejected")[0].payload["reason"] == "We do not know you"
    assert (company.id, "u-1") not in uow.state.members


@pytest.mark.parametrize("who", ["u-1", "member-1", "stranger"])
def test_only_managers_decide(uow, directory, company, who):
    request = ask(uow, directory, company, "u-1")
    join(uow, directory, company, "member-1")
    with pytest.raises(errors.NotAManager):
        link_requests.approve_link_request(request.id, Caller(who), uow)
    with pytest.raises(errors.NotAManager):
        link_requests.reject_link_request(request.id, None, Caller(who), uow)
    assert uow.state.requests[request.id].status is RequestStatus.PENDING


def test_unknown_request_is_404(uow, company):
    for act in (lambda: link_requests.approve_link_request("nope", PRIMARY, uow),
                lambda: link_requests.reject_link_request("nope", None, PRIMARY, uow),
                lambda: link_requests.withdraw_link_request("nope", PRIMARY, uow)):
        with pytest.raises(errors.LinkRequestNotFound):
            act()


def test_requester_withdraws_and_may_ask_again(uow, directory, company):
    request = ask(uow, directory, company, "u-1")
    with pytest.raises(errors.NotTheRequester):
        link_requests.withdraw_link_request(request.id, PRIMARY, uow)
    uow.committed.clear()
    withdrawn = link_requests.withdraw_link_request(request.id, Caller("u-1"), uow)
    assert withdrawn.status is RequestStatus.WITHDRAWN
    assert uow.types() == ["linking.link.withdrawn"]
    assert link_requests.list_pending_requests(company.id, 10, 0, PRIMARY, uow).items == []
    assert ask(uow, directory, company, "u-1").status is RequestStatus.PENDING


def test_own_requests_list_the_company(uow, directory, company):
    ask(uow, directory, company, "u-1")
    page = link_requests.list_own_requests(10, 0, Caller("u-1"), uow)
    assert [(r.company.name, r.request.status) for r in page.items] == [("Acme Corp", RequestStatus.PENDING)]
    assert link_requests.list_own_requests(10, 0, Caller("u-2"), uow).items == []


def test_an_admin_reading_requests_is_a_recorded_staff_read(uow, directory, company):
    ask(uow, directory, company, "u-1")
    uow.committed.clear()
    link_requests.list_pending_requests(company.id, 10, 0, PRIMARY, uow)
    assert uow.committed == []  # the manager is the recipient the requester agreed to
    link_requests.list_pending_requests(company.id, 10, 0, ADMIN, uow)
    (read,) = uow.committed
    assert read.type == "linking.pii.accessed" and read.subject == "u-1"
    assert read.payload == {"accessor_id": ADMIN.user_id, "subject_user_id": "u-1", "company_id": company.id,
                            "reason": "link_requests_listed", "fields": ["name", "email", "phone"]}
