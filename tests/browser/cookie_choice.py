"""Opening a page with the cookie choice already made, so screenshots show the page and not the banner."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def visit(page: Page, path: str) -> None:
    """Open ``path``; if the cookie banner is there, decline analytics and open ``path`` again."""
    page.goto(path)
    banner = page.get_by_role("button", name="Only necessary cookies")
    if banner.count():
        banner.click()
        expect(banner).to_have_count(0)
        page.goto(path)
