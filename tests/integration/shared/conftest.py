"""Fixtures of the shared layer's integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.redis_server import KillableRedis


@pytest.fixture
def killable_redis(tmp_path: Path) -> Iterator[KillableRedis]:
    """A private redis-server of this test's own, which it may kill -9 and start again."""
    server = KillableRedis(tmp_path)
    server.start()
    yield server
    server.stop()
