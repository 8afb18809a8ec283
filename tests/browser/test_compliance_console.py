"""The compliance console in a real browser, every process real: a reviewer finds a customer's accesses,
pages with the cursor, opens an event, exports CSV, sees integrity OK, reads the usage chart with its
suppressed days, records a disclosure (bad input first), and watches a new access arrive live; someone
without the role gets the 403 page. axe on every console page; screenshots into docs/screenshots/."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import check_page, screenshots
from tests.support.people import Person, person
from tests.support.platform import Platform, running_platform
from tests.support.processes import wait_until

T = 30
LIVE_MS = 20_000  # a new access reaches the live view within a few seconds; generous for a loaded machine


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {"PORTAL_AUDIT_TRENDS_K": "2",  # two viewers publish a group, one does not
           "PORTAL_AUDIT_STREAMS_PER_PROCESS": "1", "PORTAL_AUDIT_STREAM_HEARTBEAT_SECONDS": "2"}
    with running_platform(tmp_path_factory.mktemp("portal-run"), env) as running:
        yield running


def console(page: Page, path: str) -> None:
    """Open a console page; the cookie choice made first, so the screenshots show the page itself."""
    page.goto(path)
    banner = page.get_by_role("button", name="Only necessary cookies")
    if banner.count():
        banner.click()
        expect(banner).to_have_count(0)


def accesses(who: Person, base: str, n: int) -> list[str]:
    """``n`` reads of the person's own profile; their request ids."""
    ids = []
    for _ in range(n):
        resp = who.http.get(f"{base}/api/identity/me", timeout=T)
        assert resp.status_code == 200, resp.text
        ids.append(resp.headers["X-Request-ID"])
    return ids


def stored(reviewer: Person, base: str, request_ids: list[str]) -> None:
    def found() -> bool:
        resp = reviewer.http.get(f"{base}/api/audit/events", params={"correlation_id": request_ids[-1]}, timeout=T)
        assert resp.status_code == 200, resp.text
        return bool(resp.json()["items"])

    wait_until(found, timeout=60, interval=1.0, message="the accesses in the audit store")


def test_reviewer_works_the_console(platform: Platform, login_as):
    base = platform.url
    page, rita = login_as("compliance", "Rita")
    ada = person(platform, "Ada")
    ids = accesses(ada, base, 24)
    stored(rita, base, ids)

    # Search by the customer: her accesses, newest first, paged by the cursor.
    console(page, "/compliance")
    expect(page.get_by_role("heading", name="Audit search")).to_be_visible()
    check_page(page)
    page.get_by_label("Actor (user id or system:…)").fill(ada.id)
    page.get_by_label("Event type").fill("gateway.request.completed")
    page.get_by_label("Events per page").select_option("20")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(20)
    first_page = set(page.locator("table tbody tr td:nth-child(6)").all_inner_texts())
    assert ids[-1] in first_page and ids[0] not in first_page
    expect(page.get_by_label("Actor (user id or system:…)")).to_have_value(ada.id)  # the filter is kept
    screenshots(page, "compliance-search")
    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"cursor="))
    expect(page.get_by_role("link", name="First page")).to_be_visible()
    second_page = set(page.locator("table tbody tr td:nth-child(6)").all_inner_texts())
    assert ids[0] in second_page and not second_page & first_page
    check_page(page)

    # One event in full.
    page.get_by_role("link", name=re.compile(r"^Event \d+ in full$")).first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^Event \d+$"))).to_be_visible()
    expect(page.locator("dl.facts").first).to_contain_text(ada.id)
    expect(page.locator("main")).to_contain_text("/api/identity/me")
    check_page(page)
    screenshots(page, "compliance-event")

    # CSV export of the current filter.
    page.goto(f"/compliance?actor={ada.id}&type=gateway.request.completed")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert {r["correlation_id"] for r in exported} >= set(ids) and {r["actor"] for r in exported} == {ada.id}

    # Integrity.
    page.goto("/compliance/integrity")
    expect(page.get_by_role("status")).to_contain_text("Integrity OK")
    expect(page.locator("main")).to_contain_text("BEGIN PUBLIC KEY")  # what verifies the signed heads
    check_page(page)
    screenshots(page, "compliance-integrity")

    # Bad filters: the API's messages next to the field, what was typed kept, no raw JSON.
    page.goto("/compliance?since=yesterday")
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.locator("#f-since-error")).to_be_visible()
    assert '{"error"' not in page.content() and "Traceback" not in page.content()


def test_usage_trends_chart_shows_suppression(platform: Platform, login_as):
    base = platform.url
    page, _ = login_as("compliance", "Rita")
    editor = person(platform, "Eddie", "editor")
    made = editor.http.post(f"{base}/api/content/items", json={"title": "Annual report", "body": "Figures.",
                                                                "visibility": "public"}, timeout=T)
    assert made.status_code == 201, made.text
    item = made.json()["id"]
    for name in ("Vic", "Val"):  # two people: at k = 2 the group is published
        viewer = person(platform, name)
        assert viewer.http.get(f"{base}/api/content/items/{item}", timeout=T).status_code == 200

    def published() -> bool:
        resp = editor.http.get(f"{base}/api/audit/trends", timeout=T)
        return any(i["item_id"] == item for i in resp.json()["items"])

    wait_until(published, timeout=90, interval=1.0, message="the item's views in the trends")
    console(page, "/compliance/trends")
    expect(page.get_by_role("img", name=re.compile("Per day"))).to_be_visible()
    table = page.get_by_role("table", name=re.compile("Views and downloads per day"))
    expect(table.get_by_text("Suppressed").first).to_be_visible()  # the days under k people
    expect(page.locator("main")).to_contain_text(item)
    check_page(page)
    screenshots(page, "compliance-trends")


def test_disclosure_register_form(platform: Platform, login_as):
    page, _ = login_as("compliance", "Rita")
    subject = person(platform, "Sue")
    console(page, "/compliance/disclosures")
    check_page(page)
    page.get_by_label("Recipient").fill("Tax office")
    page.get_by_role("button", name="Record the disclosure").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.locator("#f-subject_user_id-error")).to_be_visible()
    expect(page.get_by_label("Recipient")).to_have_value("Tax office")
    check_page(page)
    page.get_by_label("Person (user id)", exact=True).fill(subject.id)
    page.get_by_label("Legal basis").fill("legal obligation")
    page.get_by_label("Data categories").fill("contact_details, payments")
    page.get_by_role("button", name="Record the disclosure").click()
    expect(page.get_by_role("status")).to_contain_text("recorded in the register")
    row = page.locator("table tbody tr", has_text=subject.id)
    expect(row).to_contain_text("contact_details, payments")
    expect(row).to_contain_text("Tax office")
    screenshots(page, "compliance-disclosures")


def test_a_new_access_appears_live(platform: Platform, login_as):
    base = platform.url
    page, rita = login_as("compliance", "Rita")
    ada = person(platform, "Ada")
    stored(rita, base, accesses(ada, base, 1))
    console(page, f"/compliance/live?actor={ada.id}")
    expect(page.get_by_role("heading", name="Live audit stream")).to_be_visible()
    expect(page.locator("[data-live-status]")).to_contain_text("Live:", timeout=LIVE_MS)  # the stream is open
    check_page(page)
    (request_id,) = accesses(ada, base, 1)  # made by another client, over HTTP
    new_row = page.locator("#live-rows tr.live-new", has_text=request_id)
    expect(new_row).to_be_visible(timeout=LIVE_MS)
    expect(new_row).to_contain_text("gateway.request.completed")
    expect(page.locator("[data-live-status]")).to_contain_text("new event")
    screenshots(page, "compliance-live")


def test_someone_without_the_role_gets_the_403_page(login_as):
    page, _ = login_as(None, "Bob")
    for path in ("/compliance", "/compliance/live", "/compliance/disclosures"):
        response = page.goto(path)
        assert response is not None and response.status == 403, path
        assert '{"error"' not in page.content()
    check_page(page)
