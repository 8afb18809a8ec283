"""One platform (``portal run``, the supervisor ``make run`` uses) per module, with the gateway's rate
limits off (the load comes from one address) and two gateway workers; every fault's figures are printed
at the end of the run.

On a Redis others share (PORTAL_TEST_REDIS_URL, the machine's) the platform logs in as a Redis user of its
own, so that a Redis fault cuts off this platform alone (tests/support/redis_user.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.platform import Platform, running_platform
from tests.support.redis_user import RedisUser, private_redis_user

FIGURES: list[str] = []
# Two gateway workers, as ``make run`` has: one of them is killed while the other serves.
FAULT_ENV = {"GATEWAY_RATE_LIMIT_IP": "off", "GATEWAY_RATE_LIMIT_USER": "off", "GATEWAY_WORKERS": "2"}


@pytest.fixture(scope="module")
def shared_redis() -> Iterator[RedisUser | None]:
    """The platform's own user on the shared Redis, or None when the platform runs its own Redis."""
    server = os.environ.get("PORTAL_TEST_REDIS_URL")
    if not server:
        yield None
        return
    with private_redis_user(server) as user, pytest.MonkeyPatch.context() as env:
        env.setenv("PORTAL_TEST_REDIS_URL", user.url)
        yield user


@pytest.fixture(scope="module")
def platform(shared_redis: RedisUser | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("portal-faults"), extra_env=FAULT_ENV) as running:
        yield running


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("fault figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
