"""Handler tests with in-memory fakes: no database, no Redis, no Flask."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.identity.config import Settings
from shared import clock
from shared.config import CommonSettings
from tests.unit.identity.fakes import FakeCounters, FakeHasher, FakeStore, FakeUnitOfWork


def make_settings(**overrides) -> Settings:
    common = CommonSettings(service="identity", database_url="sqlite://", broker_url="redis://unused",
                            internal_secret=b"k" * 32, max_content_length=1 << 20, outbox_batch_size=100,
                            relay_interval=0.05)
    values = dict(common=common, session_idle_seconds=1800, session_absolute_seconds=12 * 3600,
                  reauth_seconds=300, argon2_memory_kib=7168, argon2_time_cost=5, argon2_parallelism=1,
                  throttle_free_failures=5, throttle_max_delay=900, throttle_max_failures=100,
                  throttle_lock_seconds=3600, device_cookie_seconds=180 * 24 * 3600,
                  ip_failure_limit=100, ip_failure_window=900, verify_token_seconds=48 * 3600,
                  reset_token_seconds=3600, public_url="http://portal.test", smtp_url="",
                  mail_from="portal@test", mail_dir=Path("/nonexistent"),
                  privacy_services=("linking", "content", "audit"), privacy_timeout=1.0, export_link_seconds=900,
                  export_keep_seconds=7 * 24 * 3600, erasure_ledger_file=Path("/nonexistent/ledger.jsonl"))
    values.update(overrides)
    return Settings(**values)


class Clock:
    """Moves shared.clock by writing its offset file (the same mechanism real processes use)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0
        self.path.write_text("0")

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self.path.write_text(str(self.offset))
        stat = os.stat(self.path)
        os.utime(self.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


@pytest.fixture
def fake_clock(tmp_path, monkeypatch) -> Clock:
    path = tmp_path / "offset"
    monkeypatch.setenv("PORTAL_CLOCK_OFFSET_FILE", str(path))
    return Clock(path)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def store(fake_clock) -> FakeStore:
    return FakeStore(clock.now())


@pytest.fixture
def uow(store) -> FakeUnitOfWork:
    return FakeUnitOfWork(store)


@pytest.fixture
def hasher() -> FakeHasher:
    return FakeHasher()


@pytest.fixture
def counters() -> FakeCounters:
    return FakeCounters()
