"""The session cache: short-lived, dropped whenever the revocation epoch moves."""

from __future__ import annotations

from dataclasses import replace

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


def test_a_session_is_never_cached_past_its_own_end(clock):
    """identity says when the session ends unless used again (idle or absolute expiry): the cache keeps
    it at most until then, however long its own TTL."""
    wall = [1_800_000_000.0]
    ending = replace(session(), valid_until=wall[0] + 2)
    resolver = FakeResolver({"tok": ending, "gone": replace(session("u2"), valid_until=wall[0] - 1)})
    sessions = Sessions(SessionCache(5.0, 100, clock=clock, wall=lambda: wall[0]), resolver)
    assert sessions.lookup("tok", "0", "r1") == ending
    clock.now += 1.9
    sessions.lookup("tok", "0", "r2")
    assert resolver.calls == ["tok"]  # still cached
    clock.now += 0.2  # past valid_until, well inside the 5 s TTL
    sessions.lookup("tok", "0", "r3")
    assert resolver.calls == ["tok", "tok"]  # asked identity again, which decides about expiry
    sessions.lookup("gone", "0", "r4")
    sessions.lookup("gone", "0", "r5")
    assert resolver.calls.count("gone") == 2  # an answer already past its end is not cached at all
    assert SessionInfo.from_resolve({"session_id": "s", "user_id": "u", "valid_until": 17}).valid_until == 17.0
    assert SessionInfo.from_resolve({"session_id": "s", "user_id": "u"}).valid_until is None  # older identity


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
