"""A customer in a real browser, through the gateway, every process real: profile, sessions, company
linking, a company-only download, a question, the privacy centre (export, access log, erasure); and the
failure paths: a revoked session (log in, back where they were), 428 re-authentication, 428 policy
re-consent, a forged form (403). Every page is checked with axe-core."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import check_page, screenshots
from tests.support.clock import Clock
from tests.support.people import PASSWORD, Person, log_in, person, portal
from tests.support.platform import Platform
from tests.support.processes import wait_until

T = 30
BROCHURE = b"%PDF-1.4\n" + b"company only brochure " * 200


@pytest.fixture(scope="module")
def world(platform: Platform) -> dict:
    """A company with its manager, and a company-only item with a brochure."""
    base = platform.url
    admin, editor, manager = person(platform, "Adam", "admin"), person(platform, "Edna", "editor"), person(
        platform, "Mona")
    name = f"Acme {uuid.uuid4().hex[:6]}"
    company = admin.http.post(f"{base}/api/linking/companies", json={
        "name": name, "domain": "acme.example.com", "primary_contact_user_id": manager.id}, timeout=T)
    assert company.status_code == 201, company.text
    item = editor.http.post(f"{base}/api/content/items", json={
        "title": "Acme price list", "body": "For Acme's people only.", "visibility": "company",
        "company_id": company.json()["id"], "status": "published"}, timeout=T)
    assert item.status_code == 201, item.text
    up = editor.http.post(f"{base}/api/content/items/{item.json()['id']}/collaterals", timeout=120,
                          files={"file": ("Price list.pdf", BROCHURE, "application/pdf")})
    assert up.status_code == 201, up.text
    public = editor.http.post(f"{base}/api/content/items", json={
        "title": "Product overview", "body": "What we make.\n\nAnd why.", "visibility": "public",
        "status": "published"}, timeout=T)
    assert public.status_code == 201, public.text
    return {"company": company.json(), "name": name, "item": item.json()["id"], "manager": manager,
            "admin": admin, "collateral": up.json()["id"]}


def test_profile_sessions_linking_download_and_question(platform: Platform, world: dict, login_as):
    page, who = login_as(first="Cara", confirmed=True)
    page.goto("/account")
    check_page(page)
    page.get_by_label("Full name").fill("")
    page.get_by_label("Phone number (optional)").fill("+44 20 7946 0999")
    page.get_by_role("button", name="Save my details").click()
    expect(page.locator("#f-name-error")).to_be_visible()
    expect(page.get_by_label("Phone number (optional)")).to_have_value("+44 20 7946 0999")
    check_page(page)
    page.get_by_label("Full name").fill("Cara Customer")
    page.get_by_role("button", name="Save my details").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    expect(page.get_by_label("Full name")).to_have_value("Cara Customer")
    screenshots(page, "account")

    log_in(platform.url, who.email)  # a second device
    page.goto("/account/sessions")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    check_page(page)
    screenshots(page, "sessions")
    page.get_by_role("button", name=re.compile("End the session")).click()
    expect(page.get_by_role("status")).to_contain_text("The session has ended")
    expect(rows).to_have_count(1)

    page.goto("/companies")
    page.get_by_label("Company name or web domain").fill(world["name"])
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=f"Ask to join {world['name']}").click()
    check_page(page)
    page.get_by_role("button", name="Send my request").click()  # without the consent box
    expect(page.get_by_role("alert")).to_contain_text("consent is needed")
    page.get_by_label("A message to the managers (optional)").fill("I run purchasing.")
    page.get_by_label(re.compile("I agree that the managers")).check()
    page.get_by_role("button", name="Send my request").click()
    expect(page.locator("[data-request-status]").first).to_have_text("pending")
    check_page(page)
    screenshots(page, "companies")

    manager: Person = world["manager"]
    pending = manager.http.get(f"{platform.url}/api/linking/companies/{world['company']['id']}/link-requests",
                               timeout=T).json()["items"]
    mine = [p for p in pending if p["contact"] and p["contact"]["email"] == who.email]
    assert mine and mine[0]["message"] == "I run purchasing."
    approved = manager.http.post(f"{platform.url}/api/linking/link-requests/{mine[0]['id']}/approve", timeout=T)
    assert approved.status_code == 200, approved.text
    page.reload()
    expect(page.locator("[data-request-status]").first).to_have_text("approved")

    # content learns the membership from linking's events; then the company-only brochure is theirs
    wait_until(lambda: who.http.get(f"{platform.url}/api/content/items/{world['item']}", timeout=T).status_code == 200,
               timeout=60, interval=0.5, message="content's projection of the new member")
    page.goto(f"/catalogue/{world['item']}")
    check_page(page)
    with page.expect_download() as info:
        page.get_by_role("link", name="Price list.pdf").click()
    assert info.value.suggested_filename == "Price list.pdf"
    assert Path(info.value.path()).read_bytes() == BROCHURE

    page.goto("/queries")
    page.get_by_label("A complaint", exact=False).check()
    page.get_by_label("Subject").fill("Late delivery")
    page.get_by_role("button", name="Send").click()  # no message
    expect(page.locator("#f-body-error")).to_be_visible()
    expect(page.get_by_label("Subject")).to_have_value("Late delivery")
    page.get_by_label("Your message").fill("The order of last week never came.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Late delivery")).to_be_visible()
    check_page(page)
    screenshots(page, "query")


def test_privacy_centre_export_access_log_and_erasure(platform: Platform, login_as):
    page, who = login_as(first="Pia")
    page.goto("/privacy")
    check_page(page)
    page.get_by_role("button", name="Ask for a copy of my data").click()
    expect(page).to_have_url(re.compile(r"/privacy/exports/[\w-]+$"))
    check_page(page)
    link = page.get_by_role("link", name="Download my data (JSON)")
    expect(link).to_be_visible(timeout=90_000)  # the page polls and updates itself
    expect(page.locator("[data-export-status]")).to_have_text("completed")
    screenshots(page, "privacy-export")
    with page.expect_download() as info:
        link.click()
    bundle = json.loads(Path(info.value.path()).read_bytes())
    assert bundle["sections"]["identity"]["profile"]["email"] == who.email

    page.goto("/privacy/access")
    expect(page.locator("tbody tr").first).to_be_visible()
    check_page(page)
    screenshots(page, "privacy-access")
    page.goto("/privacy/disclosures")
    check_page(page)

    page.goto("/privacy/erase")
    check_page(page)
    screenshots(page, "privacy-erase")
    page.get_by_role("button", name="Erase my account").click()  # not confirmed
    expect(page.get_by_role("alert")).to_contain_text("confirm")
    page.get_by_label(re.compile("I understand")).check()
    page.get_by_role("button", name="Erase my account").click()
    expect(page).to_have_url(re.compile(r"/privacy/erasures/[\w-]+$"))
    expect(page.get_by_role("status")).to_contain_text("Your account is erased")
    check_page(page)
    assert requests.post(f"{platform.url}/api/identity/sessions", json={"email": who.email, "password": PASSWORD},
                         timeout=T).status_code == 401
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login\?next="))  # logged out


def test_a_revoked_session_leads_to_login_and_back(platform: Platform, login_as):
    page, who = login_as(first="Rex")
    page.goto("/account")
    assert who.http.delete(f"{platform.url}/api/identity/sessions/current", timeout=T).status_code == 204
    page.goto("/queries?kind=complaint")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fqueries%3Fkind%3Dcomplaint$"))
    expect(page.get_by_role("status")).to_contain_text("Please log in")
    page.get_by_label("Email address").fill(who.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/queries\?kind=complaint$"))
    expect(page.get_by_label("A complaint", exact=False)).to_be_checked()


def test_reauthentication_then_back_to_the_form(platform: Platform, login_as, clock: Clock):
    page, who = login_as(first="Ria")
    clock.set(6 * 60)  # the login is no longer a recent proof of the password
    page.goto("/account/email")
    new_address = f"ria-new-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_label("New email address").fill(new_address)
    page.get_by_role("button", name="Send a confirmation link").click()
    expect(page).to_have_url(re.compile(r"/reauth\?next=%2Faccount%2Femail$"))
    check_page(page)
    screenshots(page, "reauth")
    page.get_by_label("Password").fill("not my password at all")
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.locator("#f-password-error")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page).to_have_url(re.compile(r"/account/email$"))
    page.get_by_label("New email address").fill(new_address)
    page.get_by_role("button", name="Send a confirmation link").click()
    expect(page.get_by_role("status")).to_contain_text("We sent a link to your new address")


def test_forged_forms_are_refused(platform: Platform, login_as):
    page, _who = login_as(first="Fay")
    page.goto("/account")
    forged = page.request.post(f"{platform.url}/account", form={"name": "Mallory", "csrf_token": "0" * 64})
    assert forged.status == 403 and "expired" in forged.text()
    token = page.locator("input[name=csrf_token]").first.input_value()
    cross_site = page.request.post(f"{platform.url}/account", form={"name": "Mallory", "csrf_token": token},
                                   headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert cross_site.status == 403
    same_site = page.request.post(f"{platform.url}/account", form={"name": "Fay Fine", "csrf_token": token},
                                  max_redirects=0)
    assert same_site.status == 303
    for header in ("content-security-policy", "x-frame-options", "referrer-policy"):
        assert header in forged.headers
    assert "'unsafe-inline'" not in forged.headers["content-security-policy"]


def test_policy_reconsent_interstitial_then_back(platform: Platform, login_as, tmp_path):
    """Last in this module: a rights-reducing version gates every session of the platform."""
    page, _who = login_as(first="Paul")
    text = tmp_path / "policy.md"
    text.write_text("We now keep your order history for ten years.\n\nThis reduces your rights.")
    version = f"9.{uuid.uuid4().hex[:6]}"
    published = portal(platform, "policy", "publish", "--version", version, "--file", str(text), "--reduces-rights")
    assert published.returncode == 0, published.stderr[-2000:]
    wait_until(lambda: "/policy/accept" in requests.get(
        f"{platform.url}/companies", cookies=dict(_who.http.cookies), allow_redirects=False,
        timeout=T).headers.get("Location", ""), timeout=30, interval=0.5, message="the policy gate")
    page.goto("/companies")
    expect(page).to_have_url(re.compile(r"/policy/accept\?next=/companies$"))
    expect(page.get_by_role("heading", name="Our privacy policy has changed")).to_be_visible()
    check_page(page)
    screenshots(page, "policy-reconsent")
    page.goto("/privacy")  # the privacy centre stays open meanwhile
    expect(page.get_by_role("heading", name="Privacy centre")).to_be_visible()
    page.goto("/companies")
    page.get_by_role("button", name=f"I accept version {version}").click()
    expect(page).to_have_url(re.compile(r"/companies$"))
    expect(page.get_by_role("status")).to_contain_text("you accepted")
