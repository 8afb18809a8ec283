"""Sliding-window arithmetic, and the Redis counters behind it (a real private Redis)."""

from __future__ import annotations

import itertools
import uuid

import pytest
import redis

from services.gateway.adapters.counters import EPOCH_KEY, RequestCounters
from services.gateway.domain.ratelimit import Limit, allowed, estimate, parse_limit, retry_after


@pytest.mark.parametrize(("raw", "limit"), [
    ("300/min", Limit(300, 60)), ("600/minute", Limit(600, 60)), ("5/10s", Limit(5, 10)),
    ("1000/hour", Limit(1000, 3600)), ("2/ 3 mins", Limit(2, 180)), ("7/s", Limit(7, 1)),
    ("off", None), ("0", None), ("0/min", None),
])
def test_parse_limit(raw, limit):
    assert parse_limit(raw) == limit


@pytest.mark.parametrize("raw", ["300", "300/fortnight", "a/min", "-1/min"])
def test_parse_limit_refuses_garbage(raw):
    with pytest.raises(ValueError):
        parse_limit(raw)


def test_previous_window_slides_out():
    assert estimate(previous=10, current=0, elapsed=0, window=60) == 10
    assert estimate(previous=10, current=2, elapsed=30, window=60) == 7
    assert allowed(Limit(7, 60), 10, 2, 30)
    assert not allowed(Limit(6, 60), 10, 2, 30)


def _allowed_after(limit: Limit, previous: int, current: int, elapsed: float, wait: float) -> bool:
    """Would one more request be allowed ``wait`` seconds from now, nothing else being sent?"""
    at = elapsed + wait
    if at < limit.window:
        return estimate(previous, current + 1, at, limit.window) <= limit.count
    into_next = at - limit.window
    if into_next < limit.window:
        return estimate(current, 1, into_next, limit.window) <= limit.count
    return True


def test_retry_after_is_the_first_whole_second_that_works():
    limit = Limit(5, 10)
    for previous, current, elapsed in itertools.product(range(0, 12), range(1, 14), (0.0, 0.5, 3.2, 9.9)):
        if allowed(limit, previous, current, elapsed):
            continue
        wait = retry_after(limit, previous, current, elapsed)
        assert wait >= 1
        assert _allowed_after(limit, previous, current, elapsed, wait), (previous, current, elapsed, wait)
        if wait > 1:
            assert not _allowed_after(limit, previous, current, elapsed, wait - 1), (previous, current, elapsed)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client(redis_url):
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


@pytest.fixture
def make(client):
    """``make(ip_limit, user_limit, clock=...)`` -> RequestCounters on the private Redis, closed after."""
    made: list[RequestCounters] = []

    def build(ip_limit, user_limit, **kwargs) -> RequestCounters:
        made.append(RequestCounters(client, ip_limit, user_limit, **kwargs))
        return made[-1]

    yield build
    for counters in made:
        counters.close()


def test_ip_limit_blocks_then_recovers(make, client):
    clock = Clock(1_000_040.0)  # 20 s into a 60 s window
    counters = make(Limit(3, 60), None, clock=clock)
    ip = f"ip-{uuid.uuid4()}"
    verdicts = [counters.check(ip, None) for _ in range(4)]
    assert [v.blocked_by for v in verdicts] == [None, None, None, "ip"]
    assert verdicts[0].epoch is not None
    # the refused request counts too: its window must slide out partly before the next is let in
    assert 40 < verdicts[3].retry_after <= 120
    clock.now += verdicts[3].retry_after - 1
    early = counters.check(ip, None)
    assert early.blocked_by == "ip"  # one second too early (and counted, so the wait grows)
    clock.now += early.retry_after
    assert counters.check(ip, None).blocked_by is None
    assert counters.check(f"ip-{uuid.uuid4()}", None).blocked_by is None  # other clients unaffected


def test_user_limit_counts_across_addresses(make, client):
    counters = make(Limit(100, 60), Limit(2, 60), clock=Clock(2_000_000.0))
    user = f"user-{uuid.uuid4()}"
    results = [counters.check(f"ip-{uuid.uuid4()}", user).blocked_by for _ in range(3)]
    assert results == [None, None, "user"]
    assert counters.check(f"ip-{uuid.uuid4()}", None).blocked_by is None  # anonymous: IP limit only


def test_late_user_count_skips_the_ip_counter(make, client):
    counters = make(Limit(1, 60), Limit(5, 60), clock=Clock(3_000_000.0))
    ip, user = f"ip-{uuid.uuid4()}", f"user-{uuid.uuid4()}"
    assert counters.check(ip, None).blocked_by is None
    assert counters.check(ip, user, read_epoch=False, count_ip=False).blocked_by is None
    assert counters.check(ip, None).blocked_by == "ip"  # the late count did not spend the IP's budget twice


def test_epoch_is_read_in_the_same_round_trip(make, client):
    counters = make(None, None)
    before = counters.check("ip", None).epoch
    client.incr(EPOCH_KEY)
    after = counters.check("ip", None).epoch
    assert before is not None and after is not None and int(after) == int(before) + 1


def test_redis_down_fails_open_without_an_epoch():
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    counters = RequestCounters(dead, Limit(1, 60), Limit(1, 60))
    verdicts = [counters.check("ip", "user") for _ in range(3)]
    assert all(v.blocked_by is None and v.epoch is None for v in verdicts)
    counters.close()


def test_a_flushed_script_cache_is_reloaded(make, client):
    counters = make(Limit(10, 60), None)
    assert counters.check(f"ip-{uuid.uuid4()}", None).epoch is not None
    client.script_flush()  # as after a Redis restart
    verdict = counters.check(f"ip-{uuid.uuid4()}", None)
    assert verdict.epoch is not None and verdict.blocked_by is None
