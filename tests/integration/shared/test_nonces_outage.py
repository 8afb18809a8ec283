"""Signed calls while Redis is away (shared/web/nonces.py), on a private redis-server the test kills: a fresh
call that changes nothing is answered from the process's own nonce record, anything else is 503 with
``Retry-After``, and a replay to the same process is refused before, during and after the outage."""

from __future__ import annotations

import os
import signal
import time

import pytest

from shared.identity import Identity
from shared.web.errors import NotAuthenticated, Unavailable
from shared.web.identity import sign_headers, verify_headers
from shared.web.nonces import MemoryNonces, RedisNonces
from tests.support.redis_server import KillableRedis

pytestmark = pytest.mark.integration

SECRET = b"k" * 32
IDENT = Identity(user_id="u1", request_id="r1", client_ip="10.0.0.1")
NOW = 2_000_000_000.0


def signed(method: str = "GET", now: float = NOW) -> dict[str, str]:
    return sign_headers(SECRET, IDENT, method, "/items", service="content", now=now)


def verify(headers: dict[str, str], nonces: RedisNonces, method: str = "GET", now: float = NOW + 1) -> Identity:
    return verify_headers(SECRET, headers, method, "/items", service="content", nonces=nonces, now=now)


def test_while_redis_is_away_only_fresh_safe_calls_are_answered(killable_redis: KillableRedis):
    nonces = RedisNonces(killable_redis.url)
    before = signed()
    assert verify(before, nonces) == IDENT
    killable_redis.kill()

    fresh = signed()
    assert verify(fresh, nonces) == IDENT  # a GET signed a second ago: this process's record decides
    with pytest.raises(NotAuthenticated, match="replay"):
        verify(fresh, nonces)
    with pytest.raises(NotAuthenticated, match="replay"):
        verify(before, nonces)  # claimed in Redis before the outage, remembered here too
    with pytest.raises(Unavailable) as refused:
        verify(signed("POST"), nonces, method="POST")
    assert refused.value.headers == {"Retry-After": "1"}
    with pytest.raises(Unavailable):
        verify(signed(now=NOW - 15), nonces)  # signed 16 s ago: too old to be checked without Redis

    killable_redis.start()
    deadline = time.monotonic() + 10
    while not nonces.reachable and time.monotonic() < deadline:  # the store's probe finds it back
        time.sleep(0.1)
    assert verify(signed("POST"), nonces, method="POST") == IDENT
    with pytest.raises(NotAuthenticated, match="replay"):
        verify(fresh, nonces)


def test_a_store_without_fallback_refuses_every_call_while_redis_is_away(killable_redis: KillableRedis):
    nonces = RedisNonces(killable_redis.url, fallback=False)  # the gateway's: an offered request id is not believed
    killable_redis.kill()
    with pytest.raises(Unavailable):
        verify(signed(), nonces)


def test_the_memory_record_forgets_the_oldest_beyond_its_limit_and_expired_ones():
    nonces = MemoryNonces(limit=2)
    assert nonces.claim("a", 60) and nonces.claim("b", 60) and nonces.claim("c", 60)
    assert not nonces.claim("c", 60) and not nonces.claim("b", 60)
    assert nonces.claim("a", 60)  # the oldest was forgotten to stay within the limit
    assert nonces.claim("d", 0) and nonces.claim("d", 60)  # a claim of 0 s has expired at once


def test_a_hanging_redis_costs_only_the_calls_in_flight_when_it_stopped_answering(killable_redis: KillableRedis):
    nonces = RedisNonces(killable_redis.url)
    assert verify(signed(), nonces) == IDENT
    assert killable_redis.process is not None
    os.kill(killable_redis.process.pid, signal.SIGSTOP)  # it accepts connections and never answers
    try:
        started = time.monotonic()
        assert verify(signed(), nonces) == IDENT  # after the client's 1 s timeout
        assert time.monotonic() - started >= 0.8
        started = time.monotonic()
        for _ in range(20):
            assert verify(signed(), nonces) == IDENT
        assert time.monotonic() - started < 1.0  # no request waits for Redis any more
    finally:
        os.kill(killable_redis.process.pid, signal.SIGCONT)


def test_a_view_marked_as_changing_nothing_is_answered_like_a_safe_method(killable_redis: KillableRedis):
    """A POST that only reads (identity's session resolution: the token must stay out of the URL) keeps being
    answered while Redis is away, so logged-in people's reads go on; any other POST is 503."""
    from flask_smorest import Blueprint

    from shared.web.app import changes_nothing, create_base_app

    app, api = create_base_app("content", secret=SECRET, max_content_length=1024,
                               nonces=RedisNonces(killable_redis.url))
    blp = Blueprint("probe", __name__)

    @blp.post("/lookup")
    @changes_nothing
    def lookup():
        return {"found": True}

    @blp.post("/change")
    def change():
        return {"changed": True}

    api.register_blueprint(blp)
    client = app.test_client()

    def post(path: str):
        headers = sign_headers(SECRET, IDENT, "POST", path, service="content", body=b"{}")
        return client.post(path, data=b"{}", headers={**headers, "Content-Type": "application/json"})

    assert post("/lookup").status_code == 200 and post("/change").status_code == 200
    killable_redis.kill()
    assert post("/lookup").status_code == 200
    refused = post("/change")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert refused.json["error"]["code"]
