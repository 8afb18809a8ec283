"""identify / enforce_session_rules / record_access with in-memory fakes (and a SQLite spool)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading

import pytest
from sqlalchemy import select

from services.gateway.adapters import tables
from services.gateway.adapters.sessions import SessionCache, Sessions
from services.gateway.adapters.spool import AccessSpool, SpoolWriteFailed
from services.gateway.domain.routing import Route
from services.gateway.handlers import (
    Access,
    AccessLogUnavailable,
    Caller,
    RateLimited,
    enforce_session_rules,
    identify,
    record_access,
)
from shared.db import make_engine
from shared.events import load_events
from shared.identity import Identity
from shared.web.errors import ApiError, Forbidden, PreconditionRequired, Unavailable
from shared.web.identity import sign_anonymous_id
from tests.unit.gateway.fakes import FakeCounters, FakeResolver, session

SECRET = b"unit-secret"


def caller(method="GET", service="identity", path="/me", token=None, csrf=None, anon=None) -> Caller:
    return Caller(method=method, route=Route(service, path), client_ip="198.51.100.4", request_id="rid-1",
                  session_token=token, anonymous_cookie=anon, csrf_token=csrf)


@pytest.fixture
def deps():
    counters = FakeCounters()
    resolver = FakeResolver({"tok": session("u1")})
    return counters, Sessions(SessionCache(5.0), resolver), resolver


def test_anonymous_request_is_counted_by_ip_in_one_round_trip(deps):
    counters, sessions, resolver = deps
    ident, sess = identify(caller(), counters=counters, sessions=sessions, secret=SECRET)
    assert sess is None and ident == Identity(request_id="rid-1", client_ip="198.51.100.4")
    assert counters.calls == [("198.51.100.4", None, True, True)]
    assert resolver.calls == []


def test_session_identity_is_signed_onwards(deps):
    counters, sessions, resolver = deps
    ident, sess = identify(caller(token="tok"), counters=counters, sessions=sessions, secret=SECRET)
    assert ident.user_id == "u1" and ident.roles == frozenset({"support"})
    assert ident.session_id == "s-u1" and ident.auth_time == 1_700_000_000.0
    # cache miss: IP + epoch first, then the user's count (without counting the IP twice)
    assert counters.calls == [("198.51.100.4", None, True, True), ("198.51.100.4", "u1", False, False)]
    counters.calls.clear()
    identify(caller(token="tok"), counters=counters, sessions=sessions, secret=SECRET)
    assert counters.calls == [("198.51.100.4", "u1", True, True)]  # cached: one round trip
    assert resolver.calls == ["tok"]


def test_invalid_cookie_continues_as_anonymous(deps):
    counters, sessions, _ = deps
    ident, sess = identify(caller(token="stale"), counters=counters, sessions=sessions, secret=SECRET)
    assert sess is None and ident.user_id is None


def test_identity_down_with_a_cookie_is_503_not_anonymous():
    sessions = Sessions(SessionCache(5.0), FakeResolver(down=True))
    with pytest.raises(Unavailable):
        identify(caller(token="tok"), counters=FakeCounters(), sessions=sessions, secret=SECRET)
    ident, _ = identify(caller(), counters=FakeCounters(), sessions=sessions, secret=SECRET)
    assert ident.user_id is None  # no cookie, no need for identity


@pytest.mark.parametrize("kind", ["ip", "user"])
def test_rate_limited_is_429_with_retry_after(deps, kind):
    counters, sessions, _ = deps
    counters.block[kind] = 17
    with pytest.raises(RateLimited) as err:
        identify(caller(token="tok"), counters=counters, sessions=sessions, secret=SECRET)
    assert err.value.status == 429 and err.value.code == "rate_limited"
    assert err.value.headers == {"Retry-After": "17"}


def test_anonymous_id_only_from_a_validly_signed_cookie(deps):
    counters, sessions, _ = deps
    good = sign_anonymous_id(SECRET, "browser-1")
    ident, _ = identify(caller(anon=good), counters=counters, sessions=sessions, secret=SECRET)
    assert ident.anonymous_id == "browser-1" and ident.actor == "anonymous:browser-1"
    for forged in ("browser-1", "browser-1.deadbeef", sign_anonymous_id(b"other", "browser-1")):
        ident, _ = identify(caller(anon=forged), counters=counters, sessions=sessions, secret=SECRET)
        assert ident.anonymous_id is None


def test_csrf_is_checked_on_state_changes_with_a_session():
    sess = session()
    enforce_session_rules(caller("GET"), sess)
    enforce_session_rules(caller("PATCH", csrf="csrf-ok"), sess)
    enforce_session_rules(caller("POST", path="/sessions"), sess)  # login
    enforce_session_rules(caller("POST", token=None), None)  # no session: the service decides
    for bad in (None, "", "csrf-wrong"):
        with pytest.raises(Forbidden) as err:
            enforce_session_rules(caller("DELETE", path="/sessions/current", csrf=bad), sess)
        assert err.value.code == "csrf_failed" and err.value.status == 403


def test_policy_gate_is_428_except_policy_privacy_consent_and_logout():
    sess = session(policy_acceptance_required=True)
    with pytest.raises(PreconditionRequired) as err:
        enforce_session_rules(caller("GET", path="/me"), sess)
    assert err.value.code == "policy_acceptance_required" and err.value.status == 428
    with pytest.raises(PreconditionRequired):
        enforce_session_rules(caller("GET", service="content", path="/items"), sess)
    enforce_session_rules(caller("GET", path="/policy"), sess)
    enforce_session_rules(caller("POST", path="/policy/acceptances", csrf="csrf-ok"), sess)
    enforce_session_rules(caller("DELETE", path="/sessions/current", csrf="csrf-ok"), sess)
    enforce_session_rules(caller("PUT", path="/consent", csrf="csrf-ok"), sess)


def test_csrf_comes_before_the_policy_gate():
    sess = session(policy_acceptance_required=True)
    with pytest.raises(ApiError) as err:
        enforce_session_rules(caller("POST", path="/policy/acceptances", csrf="nope"), sess)
    assert err.value.code == "csrf_failed"


def test_access_event_is_spooled_with_hashed_session_and_request_id(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'spool.db'}")
    tables.metadata.create_all(engine)
    spool = AccessSpool(engine, tables.outbox)
    ident = Identity(user_id="u1", session_id="sess-1", request_id="rid-9", client_ip="198.51.100.4")
    access = Access(method="GET", path="/api/identity/me", query="a=1", client_ip="198.51.100.4",
                    user_agent="ua/1", request_id="rid-9", service="identity", identity=ident, status=200,
                    bytes_sent=12, duration_ms=1.23456)
    record_access(spool, access)
    record_access(spool, Access(method="GET", path="/nope", query="", client_ip="::1", user_agent="",
                                request_id="rid-10", status=404))
    with engine.connect() as conn:
        rows = conn.execute(select(tables.outbox.c.type, tables.outbox.c.body)).all()
    events = load_events([json.loads(r.body) for r in rows])
    first, second = events
    assert first.type == "gateway.request.completed" and first.correlation_id == "rid-9"
    assert first.actor == "u1" and first.subject == "/api/identity/me" and first.producer == "gateway"
    assert first.payload["session_hash"] == hashlib.sha256(b"sess-1").hexdigest()
    assert "sess-1" not in rows[0].body
    assert first.payload["status"] == 200 and first.payload["duration_ms"] == 1.235
    assert second.actor == "anonymous" and second.payload["service"] is None
    engine.dispose()


def test_a_broken_spool_refuses_with_503(tmp_path, caplog):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables
    with pytest.raises(AccessLogUnavailable) as refused:
        record_access(AccessSpool(engine, tables.outbox), Access(method="GET", path="/", query="", client_ip="",
                                                                 user_agent="", request_id="rid-x", status=200))
    assert refused.value.status == 503 and refused.value.headers["Retry-After"]
    assert "rid-x" in caplog.text
    engine.dispose()


def test_rows_written_at_once_by_many_threads_are_each_committed_when_their_write_returns(tmp_path):
    """Group commit: a write returns only once its row is committed, whoever's transaction carried it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'spool.db'}")
    tables.metadata.create_all(engine)
    spool = AccessSpool(engine, tables.outbox)
    reader = sqlite3.connect(str(tmp_path / "spool.db"))
    missing: list[str] = []

    def work(k: int) -> None:
        for i in range(150):
            event_id = f"{k}-{i}"
            spool.write(event_id, "gateway.request.completed", "{}")
            # another connection (another process, the relay) sees it the moment the write returns
            if reader_for_thread().execute("SELECT 1 FROM outbox WHERE event_id = ?", (event_id,)).fetchone() is None:
                missing.append(event_id)

    local = threading.local()

    def reader_for_thread() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(str(tmp_path / "spool.db"), timeout=30)
        return local.conn

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert missing == []
    assert reader.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 8 * 150
    spool.close()
    reader.close()
    engine.dispose()


def test_a_failed_batch_fails_every_write_it_carried(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'spool.db'}")
    tables.metadata.create_all(engine)
    spool = AccessSpool(engine, tables.outbox)
    spool.write("same", "gateway.request.completed", "{}")
    with pytest.raises(SpoolWriteFailed):
        spool.write("same", "gateway.request.completed", "{}")  # event_id is unique
    spool.write("next", "gateway.request.completed", "{}")  # the connection is still usable
    with engine.connect() as conn:
        assert sorted(r.event_id for r in conn.execute(select(tables.outbox.c.event_id))) == ["next", "same"]
    spool.close()
    engine.dispose()


def test_a_batch_with_a_failing_row_is_rolled_back_and_fails_each_write(tmp_path):
    from services.gateway.adapters.spool import _Queued, _sqlite_datetime
    from shared import clock

    engine = make_engine(f"sqlite:///{tmp_path / 'spool.db'}")
    tables.metadata.create_all(engine)
    spool = AccessSpool(engine, tables.outbox)
    spool.write("same", "gateway.request.completed", "{}")
    waiting = _Queued(("same", "gateway.request.completed", "{}", _sqlite_datetime(clock.now())))
    spool._queue.append(waiting)  # another thread's row, queued before this write takes the lock
    with pytest.raises(SpoolWriteFailed):
        spool.write("fresh", "gateway.request.completed", "{}")
    assert waiting.done and waiting.error is not None
    with engine.connect() as conn:  # the batch's transaction rolled back whole: "fresh" is not there either
        assert [r.event_id for r in conn.execute(select(tables.outbox.c.event_id))] == ["same"]
    spool.write("after", "gateway.request.completed", "{}")
    spool.close()
    engine.dispose()
