"""One platform (``portal run``, the supervisor ``make run`` uses) per module, with the gateway's rate
limits off (the load comes from one address) and two gateway workers; every fault's figures are printed
at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.platform import Platform, running_platform

FIGURES: list[str] = []
# Two gateway workers, as ``make run`` has: one of them is killed while the other serves.
FAULT_ENV = {"GATEWAY_RATE_LIMIT_IP": "off", "GATEWAY_RATE_LIMIT_USER": "off", "GATEWAY_WORKERS": "2"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("portal-faults"), extra_env=FAULT_ENV) as running:
        yield running


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("fault figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
