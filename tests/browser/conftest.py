"""Browser tests: Debian's Chromium driven by Playwright (headless, offline), one real platform
(``portal run``) per test module, axe-core on every page visited, screenshots for the README.

Fixtures: ``platform``; ``browser``; ``page`` (an anonymous visitor, desktop width); ``login_as(role)``
(a new account with that staff role, or none, logged in: ``(page, person)``). Helpers: ``check_page``
(no serious or critical axe violations, no console errors such as a CSP refusal) and ``screenshots``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.support.clock import clocked_platform, moved_clock, offset_file  # noqa: F401 - fixtures
from tests.support.people import Person, person
from tests.support.platform import Platform
from tests.support.processes import REPO

CHROMIUM = "/usr/bin/chromium"  # Debian's package (`make test` installs it); Playwright's download is unreachable
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}
TIMEOUT_MS = 30_000  # a shared two-core machine
BLOCKING = ("serious", "critical")

def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(context: BrowserContext) -> Page:
    """A page that keeps its console errors (a refused inline script or style is one) in ``.console_errors``."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = errors  # type: ignore[attr-defined]
    return page


def new_context(browser: Browser, platform: Platform) -> BrowserContext:
    return browser.new_context(viewport=DESKTOP, base_url=platform.url)


@pytest.fixture
def page(browser: Browser, platform: Platform) -> Iterator[Page]:
    context = new_context(browser, platform)
    yield open_page(context)
    context.close()


def logged_in(browser: Browser, platform: Platform, who: Person) -> Page:
    """A browser holding ``who``'s session (the cookie their API login got), cookie choice made."""
    context = new_context(browser, platform)
    cookies = [{"name": c.name, "value": c.value or "", "url": platform.url} for c in who.http.cookies]
    context.add_cookies(cookies)  # type: ignore[arg-type]
    return open_page(context)


@pytest.fixture
def login_as(browser: Browser, platform: Platform) -> Iterator[Callable[..., tuple[Page, Person]]]:
    """``login_as(role=None, first="Ada", confirmed=False)`` -> (page, person): a new account (with a staff
    role if given, its address confirmed if asked) logged in, in a browser of its own."""
    opened: list[Page] = []

    def make(role: str | None = None, first: str = "Ada", confirmed: bool = False) -> tuple[Page, Person]:
        who = person(platform, first, role, confirmed=confirmed)
        tab = logged_in(browser, platform, who)
        opened.append(tab)
        return tab, who

    yield make
    for tab in opened:
        tab.context.close()


def check_page(page: Page, *, allow_console: tuple[str, ...] = ()) -> None:
    """0 serious or critical axe-core violations, and no console errors (a refused inline script or
    style is one)."""
    results = Axe().run(page)
    bad = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
           for v in results.response["violations"] if v["impact"] in BLOCKING]
    assert not bad, f"axe on {page.url}: {bad}"
    # "Failed to load resource" is how Chromium logs a page answered with 4xx on purpose (403, 404 pages).
    errors = [e for e in getattr(page, "console_errors", [])
              if not e.startswith("Failed to load resource") and not any(a in e for a in allow_console)]
    assert not errors, f"console errors on {page.url}: {errors}"


def screenshots(page: Page, name: str) -> None:
    """``docs/screenshots/<name>-desktop.png`` (1280 px) and ``-phone.png`` (375 px), full page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
