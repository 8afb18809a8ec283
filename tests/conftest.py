"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from tests.support.databases import drop_database_url, new_database_url
from tests.support.processes import MASTER_ENV, TEST_EVENT_MASTER_KEY
from tests.support.redis_server import empty_redis, start_redis

# Events published or consumed in the test process itself are signed with the test processes' keys.
os.environ.setdefault(MASTER_ENV, TEST_EVENT_MASTER_KEY)


@pytest.fixture(scope="session")
def redis_server():
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_url(redis_server):
    """A real Redis, emptied for each test module: queues left over by another module (audit is bound to
    every event) must never reach this module's workers."""
    return empty_redis(redis_server.url)


@pytest.fixture
def database_url(tmp_path: Path):
    """A fresh, empty database for one test (SQLite file, or PostgreSQL when PORTAL_TEST_PG_URL is set)."""
    url = new_database_url(tmp_path, "db")
    yield url
    drop_database_url(url)


@pytest.fixture
def internal_secret() -> str:
    return secrets.token_hex(32)
