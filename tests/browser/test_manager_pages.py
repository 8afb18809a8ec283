"""A company manager in a real browser: pending link requests with the shared contact details, approve
(the member appears), reject with a reason (the person sees it), promote a member, hand over the primary
contact; a person who manages nothing gets the 403 page. axe on every page, screenshots `manager-*`."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_page, logged_in, screenshots
from tests.browser.cookie_choice import visit
from tests.support.people import Person, person
from tests.support.platform import Platform

T = 30


def create_company(platform: Platform, primary: Person) -> dict:
    admin = person(platform, "Adele", "admin")
    resp = admin.http.post(f"{platform.url}/api/linking/companies", timeout=T, json={
        "name": f"Acme {uuid.uuid4().hex[:8]}", "primary_contact_user_id": primary.id})
    assert resp.status_code == 201, resp.text
    return resp.json()


def ask_to_join(platform: Platform, who: Person, company_id: str, message: str = "I work in sales.") -> dict:
    resp = who.http.post(f"{platform.url}/api/linking/companies/{company_id}/link-requests", timeout=T,
                         json={"share_contact": True, "message": message})
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.fixture
def manager(browser, platform: Platform, login_as):
    """(page, person, company): a logged-in primary contact of a new company."""
    page, who = login_as(None, "Mona")
    return page, who, create_company(platform, who)


def test_a_manager_approves_a_request_and_the_member_appears(platform: Platform, manager):
    page, _, company = manager
    carl = person(platform, "Carl", confirmed=True)
    ask_to_join(platform, carl, company["id"], "Please add me, I run the Berlin office.")
    visit(page, "/manager")
    check_page(page)
    page.get_by_role("link", name=company["name"]).click()
    card = page.locator("[data-request]").filter(has_text=carl.email)
    expect(card).to_contain_text("Carl")
    expect(card).to_contain_text("I run the Berlin office")
    check_page(page)
    screenshots(page, "manager-requests")
    card.get_by_role("button", name="Approve Carl").click()
    expect(page.get_by_role("status")).to_contain_text("approved")
    expect(page.locator("[data-member]").filter(has_text=carl.email)).to_contain_text("Member")
    expect(page.locator("[data-request]")).to_have_count(0)
    check_page(page)
    screenshots(page, "manager-members")


def test_a_rejection_carries_its_reason_to_the_person(platform: Platform, manager, browser):
    page, _, company = manager
    rita = person(platform, "Rita", confirmed=True)
    request_id = ask_to_join(platform, rita, company["id"])["id"]
    visit(page, f"/manager/companies/{company['id']}")
    card = page.locator(f"[data-request='{request_id}']")
    card.get_by_label("Reason for rejecting").fill("x" * 2001)  # over the API's limit: shown, kept
    card.get_by_role("button", name="Reject").click()
    card = page.locator(f"[data-request='{request_id}']")
    expect(card.get_by_role("alert")).to_be_visible()
    expect(card.get_by_label("Reason for rejecting")).to_have_value("x" * 2001)
    assert "Traceback" not in page.content() and '{"error"' not in page.content()
    check_page(page)
    card.get_by_label("Reason for rejecting").fill("We only link people who work for Acme.")
    card.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_contain_text("rejected")
    seen = rita.http.get(f"{platform.url}/api/linking/me/link-requests", timeout=T).json()["items"]
    assert [(r["status"], r["reason"]) for r in seen] == [("rejected", "We only link people who work for Acme.")]
    rita_page = logged_in(browser, platform, rita)  # and on her own companies page
    rita_page.goto("/companies")
    expect(rita_page.get_by_text("Reason: We only link people who work for Acme.")).to_be_visible()
    rita_page.context.close()


def test_promote_a_member_and_hand_over_the_primary_contact(platform: Platform, manager, browser):
    page, mona, company = manager
    pia, ole = person(platform, "Pia", confirmed=True), person(platform, "Ole", confirmed=True)
    for who in (pia, ole):
        request_id = ask_to_join(platform, who, company["id"])["id"]
        resp = mona.http.post(f"{platform.url}/api/linking/link-requests/{request_id}/approve", timeout=T)
        assert resp.status_code == 200, resp.text
    visit(page, f"/manager/companies/{company['id']}")
    page.get_by_role("button", name="Hand over").click()  # nobody chosen: the field says so
    expect(page.locator("#f-user_id-error")).to_be_visible()
    check_page(page)
    page.locator(f"[data-member='{pia.id}']").get_by_role("button", name="Promote Pia to manager").click()
    expect(page.get_by_role("status")).to_contain_text("now a manager")
    expect(page.locator(f"[data-member='{pia.id}']")).to_contain_text("Manager")
    page.get_by_label("New primary contact").select_option(ole.id)
    page.get_by_role("button", name="Hand over").click()
    expect(page.get_by_role("status")).to_contain_text("handed over")
    expect(page.locator(f"[data-member='{ole.id}']")).to_contain_text("Primary contact")
    expect(page.locator(f"[data-member='{mona.id}']")).to_contain_text("Manager")
    expect(page.get_by_role("heading", name="Hand over the primary contact")).to_have_count(0)
    check_page(page)
    # the new primary contact sees the company among those they manage
    ole_page = logged_in(browser, platform, ole)
    visit(ole_page, "/manager")
    expect(ole_page.get_by_role("link", name=company["name"])).to_be_visible()
    expect(ole_page.get_by_text("You are its primary contact.")).to_be_visible()
    screenshots(ole_page, "manager-companies")
    ole_page.context.close()


def test_someone_who_does_not_manage_the_company_gets_the_403_page(platform: Platform, manager, login_as):
    _, _, company = manager
    page, _ = login_as(None, "Nina")
    resp = page.goto(f"/manager/companies/{company['id']}")
    assert resp is not None and resp.status == 403
    expect(page.get_by_role("heading", level=1)).to_contain_text("cannot see this page")
    assert '{"error"' not in page.content()
    check_page(page)
    page.goto("/manager")
    expect(page.get_by_text("You do not manage any company")).to_be_visible()
