"""A stranger who knows an address cannot lock its owner out, end to end (``portal run``, through the gateway):
strangers hammering the address from several networks are throttled and then locked out, while the owner's
browser, which logged in before and holds a device cookie, still logs in; the lock lifts by itself, no
password reset needed. A platform of its own behind a trusted proxy (``X-Forwarded-For`` names each
stranger's network), with a small failure limit and a movable clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.clock import Clock
from tests.support.people import PASSWORD, T, assert_error, register
from tests.support.platform import Platform, running_platform

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
FREE, MAX_FAILURES, LOCK_SECONDS = 3, 6, 3600
OWNER_NETWORK = "192.0.2.10"


@pytest.fixture(scope="module")
def clock(tmp_path_factory: pytest.TempPathFactory) -> Clock:
    return Clock(tmp_path_factory.mktemp("clock") / "offset")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, clock: Clock) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("portal-run"), {
            "PORTAL_CLOCK_OFFSET_FILE": str(clock.path), "GATEWAY_TRUSTED_PROXIES": "127.0.0.1",
            "IDENTITY_THROTTLE_FREE_FAILURES": str(FREE), "IDENTITY_THROTTLE_MAX_FAILURES": str(MAX_FAILURES),
            "IDENTITY_THROTTLE_LOCK_SECONDS": str(LOCK_SECONDS)}) as running:
        yield running


def log_in(base: str, address: str, password: str, network: str,
           browser: requests.Session | None = None) -> requests.Response:
    return (browser or requests).post(f"{base}/api/identity/sessions", json={"email": address, "password": password},
                                      headers={"X-Forwarded-For": network}, timeout=T)


def test_strangers_are_locked_out_and_the_owner_is_not(platform: Platform, clock: Clock, tmp_path: Path):
    base = platform.url
    _, address = register(base, "owen")
    owners_browser = requests.Session()
    first = log_in(base, address, PASSWORD, OWNER_NETWORK, owners_browser)
    assert first.status_code == 200, first.text
    assert "portal_device" in owners_browser.cookies  # this browser is now a known device of the account

    # One stranger's network: its first guesses are free, then it must wait (even with the right password).
    for _ in range(FREE):
        assert_error(log_in(base, address, "guess guess guess", "203.0.113.1"), 401, "invalid_credentials")
    waiting = log_in(base, address, PASSWORD, "203.0.113.1")
    assert_error(waiting, 429, "too_many_attempts")
    # More networks: every unknown client's failures on the address add up to the lock.
    for n in range(MAX_FAILURES - FREE):
        assert_error(log_in(base, address, "guess guess guess", f"198.51.100.{n + 1}"), 401, "invalid_credentials")
    locked = log_in(base, address, PASSWORD, "198.51.100.200")  # a fresh network, the right password
    assert_error(locked, 429, "too_many_attempts")
    assert int(locked.headers["Retry-After"]) > LOCK_SECONDS - 120
    a_new_browser_of_the_owner = log_in(base, address, PASSWORD, OWNER_NETWORK)  # no device cookie: unknown
    assert_error(a_new_browser_of_the_owner, 429, "too_many_attempts")

    # The owner's browser logs in all the same, from any network.
    again = log_in(base, address, PASSWORD, "203.0.113.1", owners_browser)
    assert again.status_code == 200, again.text
    assert owners_browser.get(f"{base}/api/identity/me", timeout=T).json()["email"] == address

    # The lock lifts by itself after IDENTITY_THROTTLE_LOCK_SECONDS: no reset, no mail needed.
    try:
        clock.set(LOCK_SECONDS + 60)
        later = log_in(base, address, PASSWORD, "198.51.100.200")
        assert later.status_code == 200, later.text
    finally:
        clock.set(0)
