"""The gateway's counters after a Redis that stopped answering: requests skip it (no limits, no session
cache) while it hangs, and count again once it answers, without a request having to wait to find out."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import redis

from services.gateway.adapters.counters import RequestCounters
from services.gateway.domain.ratelimit import parse_limit
from tests.support.redis_server import KillableRedis

pytestmark = pytest.mark.integration


def test_counters_skip_a_stopped_redis_and_count_again_once_it_answers(tmp_path: Path):
    server = KillableRedis(tmp_path)
    server.start()
    client = redis.Redis(port=server.port, socket_timeout=0.5, socket_connect_timeout=0.5)
    counters = RequestCounters(client, parse_limit("1000/s"), None)
    assert server.process is not None
    try:
        assert counters.check("10.0.0.1", None).epoch is not None
        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            assert all(counters.check("10.0.0.1", None).epoch is None for _ in range(20))
            assert time.monotonic() - started < 1.5  # one timeout, then no request waits
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        deadline = time.monotonic() + 10
        while counters.check("10.0.0.1", None).epoch is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert counters.check("10.0.0.1", None).epoch is not None
    finally:
        counters.close()
        server.stop()
