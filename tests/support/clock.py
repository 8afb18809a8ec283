"""Time moved in a running platform's real processes, through ``PORTAL_CLOCK_OFFSET_FILE``
(shared/clock.py).

Fixtures for the test modules that move time (tests/e2e and tests/browser import them into their conftest):
``platform``, one real platform (``portal run``) per module reading the offset file, and ``clock``, the
offset, moved by a test and put back to 0 afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.platform import Platform, running_platform


class Clock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.set(0)

    def set(self, seconds: float) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(seconds))
        tmp.replace(self.path)  # readers never see an empty file


@pytest.fixture(scope="module", name="clock_file")
def offset_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clock") / "offset"
    Clock(path)
    return path


@pytest.fixture(scope="module", name="platform")
def clocked_platform(tmp_path_factory: pytest.TempPathFactory, clock_file: Path) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("portal-run"),
                          {"PORTAL_CLOCK_OFFSET_FILE": str(clock_file)}) as running:
        yield running


@pytest.fixture(name="clock")
def moved_clock(clock_file: Path, platform: Platform) -> Iterator[Clock]:
    """The platform's clock, moved by the test and put back afterwards."""
    moved = Clock(clock_file)
    try:
        yield moved
    finally:
        moved.set(0)
