"""A Redis that accepts connections but never answers (stopped, overloaded): the request in flight pays the
socket timeout, the others skip Redis (no limits, no session cache) instead of each waiting for it, until
it answers again."""

from __future__ import annotations

import socket
import time

import redis

from services.gateway.adapters.counters import RequestCounters
from services.gateway.domain.ratelimit import parse_limit


def test_a_hanging_redis_costs_one_timeout_a_second_not_one_per_request():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel accepts connections; nobody ever reads or answers
    port = silent.getsockname()[1]
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
    counters = RequestCounters(client, parse_limit("5/s"), None)
    try:
        started = time.monotonic()
        verdicts = [counters.check("10.0.0.1", None) for _ in range(20)]
        took = time.monotonic() - started
        assert all(v.epoch is None and v.blocked_by is None for v in verdicts)  # no limits, no cache
        assert took < 1.5, took  # one timeout (0.5 s), not twenty
    finally:
        counters.close()
        silent.close()
