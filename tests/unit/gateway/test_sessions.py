"""The session cache: short-lived, dropped whenever the revocation epoch moves."""

from __future__ import annotations

import pytest

from services.gateway.adapters.sessions import SessionCache, Sessions, token_key
from services.gateway.domain.sessions import MalformedSession, SessionInfo
from tests.unit.gateway.fakes import FakeResolver, session


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def make(clock, resolver, ttl=5.0, size=100):
    return Sessions(SessionCache(ttl, size, clock=clock), resolver)


def test_a_resolved_session_is_reused_within_the_ttl(clock):
    resolver = FakeResolver({"tok": session()})
    sessions = make(clock, resolver)
    assert sessions.lookup("tok", "0", "r1") == session()
    clock.now += 4.9
    assert sessions.lookup("tok", "0", "r2") == session()
    assert resolver.calls == ["tok"]
    clock.now += 0.2
    sessions.lookup("tok", "0", "r3")
    assert resolver.calls == ["tok", "tok"]


def test_an_epoch_change_drops_every_entry(clock):
    resolver = FakeResolver({"tok": session(), "other": session("u2")})
    sessions = make(clock, resolver)
    sessions.lookup("tok", "7", None)
    sessions.lookup("other", "7", None)
    del resolver.sessions["tok"]  # identity ended it and bumped the epoch
    assert sessions.lookup("tok", "8", None) is None
    assert sessions.peek("other") is None  # everything went with it
    assert sessions.lookup("other", "8", None) == session("u2")
    assert resolver.calls == ["tok", "other", "tok", "other"]


def test_a_late_answer_asked_under_an_old_epoch_is_not_used(clock):
    cache = SessionCache(5.0, clock=clock)
    key = token_key("tok")
    # request A read epoch 1 and asked identity; meanwhile the session ended (epoch 2) and request B
    # saw it; A's answer lands afterwards
    cache.observe_epoch("2")
    cache.put(key, "1", session())
    assert cache.get(key, "2") == (False, None)


def test_invalid_tokens_are_cached_too(clock):
    resolver = FakeResolver()
    sessions = make(clock, resolver)
    assert sessions.lookup("garbage", "0", None) is None
    assert sessions.lookup("garbage", "0", None) is None
    assert resolver.calls == ["garbage"]


def test_without_an_epoch_nothing_is_cached(clock):
    resolver = FakeResolver({"tok": session()})
    sessions = make(clock, resolver)
    sessions.lookup("tok", None, None)
    sessions.lookup("tok", None, None)
    assert resolver.calls == ["tok", "tok"]


def test_a_flood_of_cookies_resets_the_cache_instead_of_growing_it(clock):
    sessions = make(clock, FakeResolver(), size=3)
    for i in range(10):
        sessions.lookup(f"t{i}", "0", None)
    assert len(sessions.cache._entries) <= 3


def test_cache_keys_are_digests_not_tokens(clock):
    sessions = make(clock, FakeResolver({"tok": session()}))
    sessions.lookup("tok", "0", None)
    assert list(sessions.cache._entries) == [token_key("tok")]
    assert "tok" not in token_key("tok")


def test_resolve_body_is_checked():
    body = {"session_id": "s", "user_id": "u", "roles": ["admin"], "csrf_hash": "ab",
            "auth_time": 1700000000, "policy_acceptance_required": True}
    info = SessionInfo.from_resolve(body)
    assert info.roles == frozenset({"admin"}) and info.auth_time == 1700000000.0
    for bad in ({}, {"session_id": "s"}, {"session_id": "", "user_id": "u"}, [], None,
                {"session_id": "s", "user_id": "u", "auth_time": "soon"}):
        with pytest.raises(MalformedSession):
            SessionInfo.from_resolve(bad)
