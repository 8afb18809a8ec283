"""linking's part of privacy requests: the export section and the erasure, against in-memory fakes."""

from __future__ import annotations

from services.linking.domain.model import Caller, RequestStatus, Role
from services.linking.handlers import companies, link_requests, privacy, projection
from shared.events import new_event
from shared.events.privacy import ErasureRequest
from tests.unit.linking.conftest import ADMIN, PRIMARY, ask, contact, join, know


def erase(uow, request_id: str, user_id: str):
    return privacy.erase_person(uow, ErasureRequest(request_id, user_id), None)  # linking reads no settings


def second_company(uow, directory, primary: str):
    know(uow, contact(primary))
    created = companies.create_company(companies.CreateCompany("Beta Ltd", None, primary), ADMIN, uow, directory)
    uow.committed.clear()
    return created


def test_export_holds_contact_requests_shares_memberships_and_decisions(uow, directory, company):
    join(uow, directory, company, "u-1")
    companies.change_role(company.id, "u-1", Role.MANAGER, PRIMARY, uow)
    beta = second_company(uow, directory, "p-2")
    ask(uow, directory, beta, "u-1", message="Hello Beta")
    asked = ask(uow, directory, company, "u-2")
    link_requests.reject_link_request(asked.id, "not now", Caller("u-1"), uow)

    data = privacy.export_person(uow, "u-1")

    assert data["contact_details"] == {"name": "Person u-1", "email": "u-1@example.test", "phone": "+32 2 555 01 01"}
    by_company = {r["company"]["name"]: r for r in data["link_requests"]}
    assert by_company["Beta Ltd"]["message"] == "Hello Beta" and by_company["Beta Ltd"]["status"] == "pending"
    assert by_company["Acme Corp"]["status"] == "approved"
    assert {s["company"]["name"] for s in data["contact_shares"]} == {"Acme Corp", "Beta Ltd"}
    assert all(s["legal_basis"] == "consent" and "email" in s["data_categories"] for s in data["contact_shares"])
    assert [(m["company"]["name"], m["role"], m["primary_contact"]) for m in data["memberships"]] == [
        ("Acme Corp", "manager", False)]
    # a decision they made about someone else: the outcome, never the other person's details
    assert data["decisions_made"] == [{"request_id": asked.id, "company": {"id": company.id, "name": "Acme Corp"},
                                       "outcome": "rejected", "decided_at": data["decisions_made"][0]["decided_at"]}]
    assert privacy.export_person(uow, "nobody") == {"contact_details": None, "link_requests": [],
                                                    "contact_shares": [], "memberships": [], "decisions_made": []}


def test_erasure_removes_memberships_withdraws_and_anonymizes_requests(uow, directory, company):
    join(uow, directory, company, "u-1")
    beta = second_company(uow, directory, "p-2")
    pending = ask(uow, directory, beta, "u-1", message="my phone is 555")
    uow.committed.clear()

    report = erase(uow, "req-9", "u-1")

    assert not [m for m in uow.state.members.values() if m.user_id == "u-1"]
    assert "u-1" not in uow.state.users and uow.state.erased == {"u-1": "req-9"}
    mine = [r for r in uow.state.requests.values() if r.company_id in (company.id, beta.id)
            and r.user_id not in (PRIMARY.user_id, "p-2")]
    assert len(mine) == 2
    assert all(r.user_id.startswith("erased:") and r.message is None and r.reason is None for r in mine)
    assert uow.state.requests[pending.id].status is RequestStatus.WITHDRAWN
    assert uow.types() == ["linking.member.removed", "linking.link.withdrawn", "linking.privacy.erasure_completed"]
    removed = uow.of_type("linking.member.removed")[0].payload
    assert (removed["user_id"], removed["reason"]) == ("u-1", "erased")
    answer = uow.of_type("linking.privacy.erasure_completed")[0]
    assert answer.payload["request_id"] == "req-9" and answer.payload["user_id"] == "u-1"
    assert answer.payload["erased"] == report.erased and len(report.erased) == 4
    assert [k["until"] for k in answer.payload["kept"]] == [None, None]
    # nothing identifying in the answer: counts and categories only
    assert "555" not in str(answer.payload) and "Beta" not in str(answer.payload)


def test_erasure_is_idempotent_and_keeps_the_person_out_of_the_projection(uow, directory, company):
    join(uow, directory, company, "u-1")
    erase(uow, "req-1", "u-1")
    uow.committed.clear()

    again = erase(uow, "req-1", "u-1")

    assert again.erased == [] and len(again.kept) == 1
    assert uow.types() == ["linking.privacy.erasure_completed"]
    late = new_event("identity.user.updated", producer="identity", actor="u-1", subject="u-1",
                     payload={"user_id": "u-1", "changed": ["name"], "name": "Back", "email": "b@x.test"})
    projection.user_updated(uow, late)
    assert "u-1" not in uow.state.users


def test_a_primary_contact_hands_over_to_the_longest_serving_manager(uow, directory, company):
    join(uow, directory, company, "u-1")
    join(uow, directory, company, "u-2")
    companies.change_role(company.id, "u-2", Role.MANAGER, PRIMARY, uow)
    companies.change_role(company.id, "u-1", Role.MANAGER, PRIMARY, uow)
    uow.committed.clear()

    report = erase(uow, "req-2", PRIMARY.user_id)

    assert uow.state.companies[company.id].primary_contact_user_id == "u-1"
    transferred = uow.of_type("linking.primary_contact.transferred")[0].payload
    assert (transferred["from_user_id"], transferred["to_user_id"]) == (PRIMARY.user_id, "u-1")
    assert uow.types()[:3] == ["linking.primary_contact.transferred", "linking.manager.removed",
                               "linking.member.removed"]
    assert any("passed to another manager" in e for e in report.erased)


def test_a_sole_primary_contact_leaves_the_company_to_an_administrator(uow, company):
    report = erase(uow, "req-3", PRIMARY.user_id)
    assert uow.state.companies[company.id].primary_contact_user_id == privacy.ERASED
    assert not uow.state.members
    assert any("administrator" in e for e in report.erased)


def test_an_administrator_gives_a_company_left_without_manager_a_new_primary_contact(uow, directory, company):
    """After its sole manager is erased, a company is not stuck: someone asks to join, an administrator
    approves and names them primary contact, and they manage the company from then on."""
    erase(uow, "req-5", PRIMARY.user_id)
    asked = ask(uow, directory, company, "u-9")
    link_requests.approve_link_request(asked.id, ADMIN, uow)
    named = companies.transfer_primary_contact(company.id, "u-9", ADMIN, uow)
    assert named.primary_contact_user_id == "u-9"
    assert uow.state.members[(company.id, "u-9")].role == Role.MANAGER
    transferred = uow.of_type("linking.primary_contact.transferred")[-1].payload
    assert transferred["from_user_id"] == privacy.ERASED and transferred["to_user_id"] == "u-9"
    other = ask(uow, directory, company, "u-10")
    link_requests.approve_link_request(other.id, Caller("u-9"), uow)  # the new manager decides requests


def test_decisions_made_by_an_erased_manager_no_longer_name_them(uow, directory, company):
    join(uow, directory, company, "u-1")
    companies.change_role(company.id, "u-1", Role.MANAGER, PRIMARY, uow)
    asked = ask(uow, directory, company, "u-2")
    link_requests.approve_link_request(asked.id, Caller("u-1"), uow)

    erase(uow, "req-4", "u-1")

    assert uow.state.requests[asked.id].decided_by == privacy.ERASED
    assert uow.state.requests[asked.id].user_id == "u-2"  # the other person's record is theirs
