"""Staff in a real browser: an editor creates a company-only item and uploads a file with progress (and
without JavaScript), a member of that company downloads it and a non-member cannot; support answers a
query (the customer sees the reply) and works a complaint case (owner, due date, follow-up); an admin
grants a role, places and lifts a legal hold, publishes a policy version; everyone else gets 403 pages.
axe on every page, screenshots `staff-*`."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import check_page, logged_in, open_page, screenshots
from tests.browser.cookie_choice import visit
from tests.support.people import Person, grant, log_in, person, register
from tests.support.platform import Platform

T = 30

FILE = b"%PDF-1.7\n" + bytes(range(256)) * 8192  # 2 MiB: enough for the browser to report progress


def eventually(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.25)


def staff_person(platform: Platform, first: str, *roles: str) -> Person:
    user_id, address = register(platform.url, first)
    for role in roles:
        grant(platform, address, role)
    return Person(user_id, address, first.title(), log_in(platform.url, address))


@pytest.fixture
def company(platform: Platform):
    """A company whose primary contact (a member) is ``company["member"]``."""
    member = person(platform, "Mel")
    admin = person(platform, "Adele", "admin")
    resp = admin.http.post(f"{platform.url}/api/linking/companies", timeout=T, json={
        "name": f"Globex {uuid.uuid4().hex[:8]}", "primary_contact_user_id": member.id})
    assert resp.status_code == 201, resp.text
    return {**resp.json(), "member": member}


def file_input(page: Page):
    return page.get_by_role("button", name="File (PDF")


def watch_progress(page: Page) -> list[str]:
    """Every text the upload's progress line shows (kept across the navigation that follows)."""
    seen: list[str] = []
    page.expose_binding("reportProgress", lambda _source, text: seen.append(text))
    page.add_init_script("""
      document.addEventListener("DOMContentLoaded", () => {
        const line = document.querySelector("[data-progress-text]");
        if (line) new MutationObserver(() => window.reportProgress(line.textContent))
          .observe(line, {childList: true, characterData: true, subtree: true});
      });""")
    return seen


def test_an_editor_publishes_a_company_file_only_its_members_can_download(platform: Platform, login_as, company,
                                                                        browser):
    page, _ = login_as("editor", "Eddie")
    seen = watch_progress(page)
    visit(page, "/staff/items/new")
    check_page(page)
    page.get_by_role("radio", name="Members of one company").check()
    page.get_by_role("button", name="Create the item").click()  # no title, no company: both said
    expect(page.locator("#f-title-error")).to_be_visible()
    expect(page.locator("#f-company_id-error")).to_be_visible()
    expect(page.get_by_role("radio", name="Members of one company")).to_be_checked()
    check_page(page)
    screenshots(page, "staff-item-errors")
    page.get_by_label("Title", exact=True).fill("Globex price list 2030")
    page.get_by_label("Text", exact=True).fill("For our partners at Globex.")
    page.get_by_label("Company (for").select_option(company["id"])
    page.get_by_role("button", name="Create the item").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    item_path = page.url.split(platform.url, 1)[-1]

    file_input(page).set_input_files({"name": "prices.pdf", "mimeType": "application/pdf", "buffer": FILE})
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_contain_text("prices.pdf is uploaded")
    assert any(t.startswith("Uploaded ") and t != "Uploaded 0%" for t in seen), seen  # progress was shown
    assert any("100%" in t for t in seen), seen
    link = page.get_by_role("link", name="prices.pdf")
    collateral_id = link.get_attribute("href").split("/")[-1]
    item_id = item_path.rsplit("/", 1)[-1]
    check_page(page)
    screenshots(page, "staff-item")

    member, stranger = company["member"], person(platform, "Stan")
    url = f"{platform.url}/api/content/collaterals/{collateral_id}/download"
    got = eventually(lambda: (r := member.http.get(url, timeout=T)).status_code == 200 and r)  # projection lag
    assert got and got.content == FILE
    assert stranger.http.get(url, timeout=T).status_code == 404
    member_page = logged_in(browser, platform, member)  # the member, in a browser, from the catalogue
    member_page.goto(f"/catalogue/{item_id}")
    with member_page.expect_download() as download:
        member_page.get_by_role("link", name="prices.pdf").click()
    assert download.value.suggested_filename == "prices.pdf"
    assert Path(download.value.path()).read_bytes() == FILE
    member_page.context.close()
    stranger_page = logged_in(browser, platform, stranger)
    assert stranger_page.goto(f"/catalogue/{item_id}").status == 404
    stranger_page.context.close()

    page.goto("/staff/items")
    expect(page.get_by_role("link", name="Globex price list 2030")).to_be_visible()
    check_page(page)
    screenshots(page, "staff-items")
    page.goto(item_path)
    page.get_by_role("button", name="Remove prices.pdf").click()
    expect(page.get_by_role("status")).to_contain_text("removed")
    assert member.http.get(url, timeout=T).status_code == 404


def test_an_upload_works_without_javascript_and_a_wrong_type_is_said_next_to_the_field(
        browser, platform: Platform):
    eddie = person(platform, "Edna", "editor")
    context = browser.new_context(base_url=platform.url, java_script_enabled=False)
    context.add_cookies([{"name": c.name, "value": c.value or "", "url": platform.url} for c in eddie.http.cookies])
    page = open_page(context)
    page.goto("/staff/items/new")
    page.get_by_label("Title", exact=True).fill("Public leaflet")
    page.get_by_role("button", name="Create the item").click()
    file_input(page).set_input_files({"name": "page.html", "mimeType": "text/html", "buffer": b"<p>x</p>"})
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#f-file-error")).to_contain_text("not accepted")
    file_input(page).set_input_files({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"})
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_contain_text("notes.txt is uploaded")
    context.close()


def test_support_answers_a_question_and_the_customer_sees_the_reply(platform: Platform, login_as, browser):
    customer = person(platform, "Cleo")
    resp = customer.http.post(f"{platform.url}/api/content/queries", timeout=T, json={
        "subject": "Where is my invoice?", "body": "I cannot find the March invoice.", "kind": "question"})
    assert resp.status_code == 201, resp.text
    query_id = resp.json()["id"]
    page, _ = login_as("support", "Sam")
    visit(page, "/staff/queries")
    check_page(page)
    screenshots(page, "staff-queries")
    page.get_by_role("link", name="Where is my invoice?").first.click()
    page.get_by_role("button", name="Send").click()  # empty: said next to the field
    expect(page.locator("#f-body-error")).to_be_visible()
    page.get_by_label("Your answer").fill("It is in your account under Invoices.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("reply is sent")
    expect(page.locator("[data-history]")).to_contain_text("It is in your account under Invoices.")
    check_page(page)
    customer_page = logged_in(browser, platform, customer)  # the customer reads it on their query's page
    customer_page.goto(f"/queries/{query_id}")
    expect(customer_page.locator("main")).to_contain_text("It is in your account under Invoices.")
    customer_page.context.close()
    seen = customer.http.get(f"{platform.url}/api/content/queries/{query_id}", timeout=T).json()
    assert seen["status"] == "answered"
    assert [e["body"] for e in seen["history"] if e["kind"] == "reply"] == ["It is in your account under Invoices."]


def test_support_works_a_complaint_case(platform: Platform, login_as, browser):
    customer = person(platform, "Cora")
    resp = customer.http.post(f"{platform.url}/api/content/queries", timeout=T, json={
        "subject": "My data was shared", "body": "You sent my address to a partner.", "kind": "complaint"})
    assert resp.status_code == 201, resp.text
    query_id = resp.json()["id"]
    page, _ = login_as("support", "Sue")
    visit(page, f"/staff/queries/{query_id}")
    check_page(page)
    page.get_by_label("New due date").fill((date.today() - timedelta(days=3)).isoformat())
    page.get_by_role("button", name="Update the case").click()  # in the past: said next to the date
    expect(page.locator("#f-due_date-error")).to_be_visible()
    due = (date.today() + timedelta(days=14)).isoformat()
    page.get_by_label("Owner").select_option("me")
    page.get_by_label("Status").select_option("acknowledged")
    page.get_by_label("New due date").fill(due)
    page.get_by_label("Note for the record").fill("Checking with the partner team.")
    page.get_by_role("button", name="Update the case").click()
    expect(page.get_by_role("status")).to_contain_text("case is updated")
    expect(page.locator("[data-case-owner]")).to_have_text("you")
    expect(page.locator("[data-case-due]")).to_have_text(due)
    expect(page.locator("[data-case-status]")).to_have_text("Acknowledged")
    page.get_by_role("textbox", name="Follow-up").fill("We have asked the partner to delete your address.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("[data-history]")).to_contain_text("asked the partner to delete")
    check_page(page)
    screenshots(page, "staff-complaint")
    customer_page = logged_in(browser, platform, customer)  # the complainant follows the case
    customer_page.goto(f"/queries/{query_id}")
    expect(customer_page.locator("main")).to_contain_text("acknowledged")
    expect(customer_page.locator("main")).to_contain_text("asked the partner to delete")
    customer_page.context.close()
    seen = customer.http.get(f"{platform.url}/api/content/queries/{query_id}", timeout=T).json()
    assert seen["status"] == "acknowledged" and seen["due_at"].startswith(due)


def test_an_admin_grants_a_role_holds_and_publishes(platform: Platform, browser):
    boss = staff_person(platform, "Bea", "admin", "compliance")
    page = logged_in(browser, platform, boss)
    newcomer = person(platform, "Nico", confirmed=True)
    squatter = person(platform, "Sly")  # registered an address and never confirmed it
    visit(page, "/staff/roles")
    check_page(page)
    page.get_by_label("Their email address").fill(squatter.email)
    page.get_by_label("Role").select_option("editor")
    page.get_by_role("button", name="Grant the role").click()
    expect(page.locator("#f-email-error")).to_contain_text("Not confirmed")
    page.get_by_label("Their email address").fill("nobody-" + newcomer.email)
    page.get_by_label("Role").select_option("editor")
    page.get_by_role("button", name="Grant the role").click()
    expect(page.locator("#f-email-error")).to_be_visible()
    expect(page.get_by_label("Their email address")).to_have_value("nobody-" + newcomer.email)
    page.get_by_label("Their email address").fill(newcomer.email)
    page.get_by_role("button", name="Grant the role").click()
    expect(page.get_by_role("status")).to_contain_text("now has the editor role")
    expect(page.locator(f"[data-staff='{newcomer.email}']")).to_contain_text("editor")
    check_page(page)
    screenshots(page, "staff-roles")

    page.goto("/staff/holds")
    page.get_by_role("button", name="Place the hold").click()
    expect(page.locator("#f-user_id-error")).to_be_visible()
    page.get_by_label("The person’s user id").fill(newcomer.id)
    page.get_by_label("Legal reason").fill("Litigation 2030-17: keep every record.")
    page.get_by_role("button", name="Place the hold").click()
    expect(page.get_by_role("status")).to_contain_text("hold is placed")
    row = page.locator("[data-hold]").filter(has_text=newcomer.id)
    expect(row).to_contain_text("Litigation 2030-17")
    check_page(page)
    screenshots(page, "staff-holds")
    row.get_by_role("button", name="Lift the hold").click()
    expect(page.get_by_role("status")).to_contain_text("lifted")
    expect(page.locator("[data-hold]").filter(has_text=newcomer.id)).to_have_count(0)

    version = f"2030-{uuid.uuid4().hex[:6]}"
    page.goto("/staff/policy")
    page.get_by_label("Version name").fill(version)
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#f-text-error")).to_be_visible()
    page.get_by_label("The policy text").fill("We keep your data only as long as we need it.")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status")).to_contain_text(f"Version {version} is in force")
    expect(page.locator(f"[data-version='{version}']")).to_contain_text("in force")
    check_page(page)
    screenshots(page, "staff-policy")
    assert page.request.get("/api/identity/policy").json()["version"] == version
    page.context.close()


@pytest.mark.parametrize("path", ["/staff/items", "/staff/queries", "/staff/roles", "/staff/holds",
                                  "/staff/policy"])
def test_people_without_the_role_get_the_403_page(login_as, path):
    page, _ = login_as(None, "Una")
    resp = page.goto(path)
    assert resp is not None and resp.status == 403
    expect(page.get_by_role("heading", level=1)).to_contain_text("cannot see this page")
    assert '{"error"' not in page.content()
    check_page(page)
