"""The API reference for people at ``/api/docs``, in a real browser: Swagger UI renders every service's
operations from the merged ``/openapi.json`` under the page's strict Content-Security-Policy (no inline
script or style: a refusal is a console error), with no serious accessibility violation."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, check_page


def test_swagger_ui_renders_the_operations_under_a_strict_csp(page: Page):
    answer = page.goto("/api/docs")
    assert answer is not None and answer.status == 200
    csp = dict(part.strip().split(" ", 1) for part in answer.headers["content-security-policy"].split(";"))
    assert "'unsafe-inline'" not in " ".join(csp.values())
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() > 60  # every service's operations, not the gateway's few
    for tag in ("identity/", "linking/", "content/", "audit/"):
        expect(page.locator(f".opblock-tag[data-tag^='{tag}']").first).to_be_visible()
    register = page.locator(".opblock-post", has=page.locator("[data-path='/api/identity/users']")).first
    register.locator(".opblock-summary").click()  # one operation opened: its responses and error shape
    expect(register.locator(".responses-wrapper")).to_be_visible()
    check_page(page)
    register.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "api-docs-desktop.png"))  # the window, not the 78 operations' page
