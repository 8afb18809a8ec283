"""A visitor in a real browser: cookie banner (before any login, remembered, changed later from the
footer, no analytics id until allowed), sign-up with bad then good input, the mailed verification link
(token in the fragment), log in and back to where they were going."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import check_page, screenshots
from tests.support.mailbox import wait_for_token
from tests.support.people import PASSWORD, person, unique_email
from tests.support.platform import Platform
from tests.support.processes import wait_until


def cookie_names(page: Page) -> set[str]:
    return {c["name"] for c in page.context.cookies()}


def test_cookie_banner_choices_are_remembered_and_can_change(page: Page):
    page.goto("/")
    banner = page.locator("[data-cookie-banner]")
    expect(banner).to_be_visible()
    check_page(page)
    screenshots(page, "home")
    page.get_by_role("button", name="Only necessary cookies").click()
    expect(page.get_by_role("status")).to_contain_text("only the cookies the portal needs")
    expect(banner).to_have_count(0)
    assert "portal_anon" not in cookie_names(page)  # no analytics id without consent
    page.reload()
    expect(banner).to_have_count(0)  # remembered

    page.get_by_role("contentinfo").get_by_role("link", name="Cookie settings").click()
    expect(page).to_have_url(re.compile(r"/cookies$"))
    check_page(page)
    page.get_by_label("Allow analytics cookies", exact=True).check()
    page.get_by_role("button", name="Save cookie choices").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    assert "portal_anon" in cookie_names(page)
    page.get_by_label("Do not allow analytics cookies").check()
    page.get_by_role("button", name="Save cookie choices").click()
    assert "portal_anon" not in cookie_names(page)


def test_sign_up_verify_and_log_in(platform: Platform, page: Page):
    page.goto("/signup")
    page.get_by_label("Full name").fill("Vera Visitor")
    page.get_by_label("Email address").fill("not-an-address")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.locator("#f-email-error")).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Vera Visitor")  # what was typed is kept
    expect(page.get_by_label("Email address")).to_have_value("not-an-address")
    assert "Traceback" not in page.content() and '{"error"' not in page.content()
    check_page(page)
    screenshots(page, "signup-errors")

    address = unique_email("vera")
    page.get_by_label("Email address").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_contain_text("We sent an email to that address")
    said = page.get_by_role("status").inner_text()
    # the same address again (a stranger finding out whether it has an account): the same words
    page.goto("/signup")
    page.get_by_label("Full name").fill("Someone Else")
    page.get_by_label("Email address").fill(address)
    page.get_by_label("Password").fill("another long passphrase")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    assert page.get_by_role("status").inner_text() == said

    token = wait_for_token(platform, address, "verify-email")
    page.goto(f"/verify-email#token={token}")  # the script posts the fragment's token
    expect(page.get_by_role("status")).to_contain_text("your email address is confirmed")
    assert token not in page.url

    page.goto("/account/sessions")  # not logged in: to the login page, then back here
    expect(page).to_have_url(re.compile(r"/login\?next=%2Faccount%2Fsessions$"))
    check_page(page)
    screenshots(page, "login")
    page.get_by_label("Email address").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/account/sessions$"))
    expect(page.get_by_text("this device")).to_be_visible()
    assert "portal_device" in cookie_names(page)  # a known device of the account from now on (docs/identity.md)
    check_page(page)

    # Every page view is an access event in the audit store (the static files are not), and the
    # mailed token is nowhere in the store: it travelled in the fragment and a POST body.
    reviewer = person(platform, "Rita", "compliance")
    def page_views() -> list[dict]:
        resp = reviewer.http.get(f"{platform.url}/api/audit/events/export", params={
            "type": "gateway.request.completed", "format": "jsonl"}, timeout=60)
        assert resp.status_code == 200, resp.text[:500]
        return [json.loads(line) for line in resp.text.splitlines() if line.strip()]

    wanted = {"/verify-email", "/login", "/account/sessions", "/signup"}
    views = wait_until(lambda: (found := page_views()) and wanted <= {e["subject"] for e in found} and found,
                       timeout=90, interval=1.0, message="the page views in the audit store")
    web = [e for e in views if e["payload"]["service"] == "web"]
    assert {e["subject"] for e in web} >= wanted
    assert not [e for e in views if e["subject"].startswith("/static/")]
    posted = [e for e in web if e["subject"] == "/verify-email" and e["payload"]["method"] == "POST"]
    assert posted and all(e["payload"]["query"] == "" for e in posted)
    export = reviewer.http.get(f"{platform.url}/api/audit/events/export", params={"format": "jsonl"}, timeout=60)
    assert token not in export.text


def test_without_javascript_cookies_and_a_pasted_reset_code_still_work(platform: Platform, browser):
    """Progressive enhancement: the same pages with JavaScript off (the banner is a form; a mailed token
    is pasted into the form instead of read from the fragment)."""
    context = browser.new_context(java_script_enabled=False, base_url=platform.url)
    page = context.new_page()
    try:
        page.goto("/")
        page.get_by_role("button", name="Allow analytics").click()
        expect(page.get_by_role("status")).to_contain_text("saved")
        assert "portal_anon" in cookie_names(page)

        who = person(platform, "Nora")
        page.goto("/forgot-password")
        page.get_by_label("Email address").fill(who.email)
        page.get_by_role("button", name="Send me a link").click()
        expect(page).to_have_url(re.compile(r"/login$"))
        token = wait_for_token(platform, who.email, "reset-password")
        page.goto(f"/reset-password#token={token}")  # no script: the fragment stays in the browser
        expect(page.get_by_label("Reset code (from the link in the mail)")).to_have_value("")
        screenshots(page, "reset-password")
        page.get_by_label("Reset code (from the link in the mail)").fill("not-the-code")
        page.get_by_label("New password").fill("a new passphrase for nora")
        page.get_by_role("button", name="Change my password").click()
        expect(page.get_by_role("alert")).to_contain_text("does not work")
        expect(page.locator("#f-token-error")).to_contain_text("invalid")
        page.get_by_label("Reset code (from the link in the mail)").fill(token)
        page.get_by_label("New password").fill("a new passphrase for nora")
        page.get_by_role("button", name="Change my password").click()
        expect(page.get_by_role("status")).to_contain_text("Your password is changed")
        page.get_by_label("Email address").fill(who.email)
        page.get_by_label("Password").fill("a new passphrase for nora")
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/account$"))
    finally:
        context.close()


@pytest.mark.parametrize("path", ["/forgot-password", "/reset-password", "/verify-email", "/catalogue", "/policy"])
def test_the_other_visitor_pages_pass_axe(page: Page, path: str):
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check_page(page)
