"""Identity throttling per IP across accounts, end to end: a platform of its own (``portal run``) behind a
trusted proxy (``GATEWAY_TRUSTED_PROXIES=127.0.0.1``), so that ``X-Forwarded-For`` names the client and one
test can speak for several networks. Failed logins from one network against many accounts stop that
network, and only that network: nobody's account is locked by it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.support.people import PASSWORD, T, assert_error, register
from tests.support.platform import Platform, running_platform

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
IP_LIMIT = 6  # IDENTITY_IP_FAILURE_LIMIT for this platform (default 100)
ATTACKER = "203.0.113.7"
NEIGHBOUR = "198.51.100.9"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("portal-run"), {
            "GATEWAY_TRUSTED_PROXIES": "127.0.0.1", "IDENTITY_IP_FAILURE_LIMIT": str(IP_LIMIT)}) as running:
        yield running


def attempt(base: str, ip: str, address: str, password: str) -> requests.Response:
    return requests.post(f"{base}/api/identity/sessions", json={"email": address, "password": password},
                         headers={"X-Forwarded-For": ip}, timeout=T)


def test_failures_across_accounts_stop_that_network_only(platform: Platform):
    base = platform.url
    accounts = [register(base, name)[1] for name in ("ann", "ben", "cat", "dan")]
    targets = accounts[:3] + ["nobody-here@example.com"]  # unknown addresses count too
    # Two wrong guesses per address: far below the per-account limit, at the limit for the network.
    for n in range(IP_LIMIT):
        assert_error(attempt(base, ATTACKER, targets[n % len(targets)], "wrong guess"), 401, "invalid_credentials")

    # Now even the right password of an untouched account is refused from that network ...
    stopped = attempt(base, ATTACKER, accounts[3], PASSWORD)
    assert_error(stopped, 429, "too_many_attempts")
    assert int(stopped.headers["Retry-After"]) >= 1
    # ... while the same people log in from anywhere else: no account was locked.
    for address in (accounts[3], accounts[0]):
        ok = attempt(base, NEIGHBOUR, address, PASSWORD)
        assert ok.status_code == 200, ok.text
