"""The event spine with real parts: outbox → relay → Redis (topic exchange) → a real Celery worker
→ an idempotent consumer, plus retries, dead letters and replay."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from sqlalchemy import func, select

from shared.bus.consumer import backoff_seconds, replay_dead_letters
from shared.events import Event
from shared.outbox import add_events
from tests.support import probe_worker
from tests.support.processes import VENV_BIN, Proc, base_env, wait_until

pytestmark = pytest.mark.integration


def probe_event(value: int, **extra) -> Event:
    return Event(event_id=str(uuid.uuid4()), type="probe.thing.happened", version=1,
                 occurred_at="2026-01-01T00:00:00+00:00", producer="probe", actor="system",
                 subject=f"thing:{value}", correlation_id=f"req-{value}", payload={"value": value, **extra})


def probe_worker_proc(env: dict[str, str], tmp_path) -> Proc:
    return Proc("probe-worker", [str(VENV_BIN / "celery"), "-A", "tests.support.probe_worker", "worker",
                                 "-Q", "events.probe", "--concurrency", "1", "--pool", "solo",
                                 "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                                 "--without-heartbeat", "-n", f"probe-{uuid.uuid4().hex[:6]}@%h"], env, tmp_path)


@pytest.fixture
def probe_env(redis_url, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PROBE_DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    rt = probe_worker.runtime()
    env = base_env({"PROBE_DATABASE_URL": database_url, "REDIS_URL": redis_url, "PROBE_ATTEMPTS": "2",
                    "PROBE_FAIL_FILE": str(tmp_path / "fail"), "PROBE_OUTAGE_FILE": str(tmp_path / "outage")})
    yield rt, env, tmp_path
    rt.engine.dispose()


@pytest.fixture
def probe(probe_env):
    rt, env, tmp_path = probe_env
    worker = probe_worker_proc(env, tmp_path).start()
    yield rt, worker, tmp_path
    worker.stop()


def count(rt, table):
    with rt.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_outbox_events_reach_a_real_worker_exactly_once(probe):
    rt, worker, _ = probe
    events = [probe_event(i) for i in range(300)]
    with rt.write_session() as session, session.begin():
        add_events(session, probe_worker.outbox, events)
    relay = rt.relay()
    assert relay.pending() == 300
    while relay.run_once():
        pass
    assert relay.pending() == 0
    wait_until(lambda: count(rt, probe_worker.seen) == 300, timeout=30, message=worker.output)

    # At least once delivery: publishing the same events again changes nothing.
    rt.publisher().publish([e.to_dict() for e in events[:50]])
    marker = probe_event(999)
    rt.publisher().publish([marker.to_dict()])
    wait_until(lambda: count(rt, probe_worker.seen) == 301, timeout=30)
    with rt.engine.connect() as conn:
        dupes = conn.execute(select(probe_worker.seen.c.event_id).group_by(probe_worker.seen.c.event_id)
                             .having(func.count() > 1)).all()
    assert dupes == []


def test_failing_event_is_retried_then_dead_lettered_and_replayed(probe):
    rt, worker, tmp = probe
    (tmp / "fail").write_text("1")
    good1, bad, good2 = probe_event(1), probe_event(2, fail=True), probe_event(3)
    rt.publisher().publish([good1.to_dict(), bad.to_dict(), good2.to_dict()])

    store = rt.dead_letters()
    wait_until(lambda: store.entries(), timeout=60, message="a dead letter")
    (letter,) = store.entries()
    assert letter["event_id"] == bad.event_id and letter["attempts"] == 2
    assert "probe asked to fail" in letter["error"]
    assert count(rt, probe_worker.seen) == 2  # the good ones were isolated and stored

    os.remove(tmp / "fail")
    assert replay_dead_letters(store, rt.celery(), "probe") == 1
    wait_until(lambda: count(rt, probe_worker.seen) == 3, timeout=30)
    assert store.entries() == []
    assert len(store.entries(include_replayed=True)) == 1


def test_a_batch_waits_out_its_database_in_place_and_is_stored_as_soon_as_it_is_back(probe):
    """No attempt used up, nothing dead-lettered, nothing sent back to the queue: the worker holds the batch
    and tries it again within half a second of the database answering again."""
    rt, worker, tmp = probe
    (tmp / "outage").write_text("1")
    events = [probe_event(i) for i in range(20, 23)]
    rt.publisher().publish([e.to_dict() for e in events[:2]])
    rt.publisher().publish([events[2].to_dict()])
    wait_until(lambda: "waits for its database" in worker.output(), timeout=30, message=worker.output)
    time.sleep(2.0)
    assert count(rt, probe_worker.seen) == 0
    os.remove(tmp / "outage")
    back = time.monotonic()
    wait_until(lambda: count(rt, probe_worker.seen) == 3, timeout=30, message=worker.output)
    assert time.monotonic() - back < 3.0, worker.output()
    assert rt.dead_letters().entries() == []
    assert "sent back" not in worker.output() and "failed (attempt" not in worker.output()


def test_malformed_event_goes_straight_to_dead_letters(probe):
    rt, worker, _ = probe
    good = probe_event(7)
    broken = good.to_dict() | {"event_id": "not-a-uuid"}
    rt.publisher().publish([broken, probe_event(8).to_dict()])
    store = rt.dead_letters()
    wait_until(lambda: store.entries() and count(rt, probe_worker.seen) == 1, timeout=30)
    (letter,) = store.entries()
    assert letter["error"].startswith("malformed")


def test_backoff_grows_and_is_capped():
    assert backoff_seconds(0) <= 1 < backoff_seconds(3) <= 8
    assert backoff_seconds(20) <= 60


def test_a_message_left_in_flight_by_a_killed_worker_is_delivered_again(probe_env, redis_url):
    """kombu's own Redis transport would lose this message (popped, never recorded as unacked)."""
    import redis

    from shared.bus.reliable_redis import INFLIGHT_PREFIX

    rt, env, tmp_path = probe_env
    event = probe_event(42)
    rt.publisher().publish([event.to_dict()])
    client = redis.Redis.from_url(redis_url)
    assert client.llen("events.probe") == 1
    # What a worker killed right after its pop leaves behind: the message only in its in-flight list.
    assert client.lmove("events.probe", f"{INFLIGHT_PREFIX}:events.probe:dead-worker", "RIGHT", "LEFT")
    worker = probe_worker_proc(env, tmp_path).start()
    try:
        wait_until(lambda: count(rt, probe_worker.seen) == 1, timeout=30, message=worker.output)
        assert client.llen(f"{INFLIGHT_PREFIX}:events.probe:dead-worker") == 0
        # The live worker keeps nothing in flight once a message is recorded as unacked.
        wait_until(lambda: not list(client.scan_iter(match=f"{INFLIGHT_PREFIX}:*")) or
                   all(client.llen(k) == 0 for k in client.scan_iter(match=f"{INFLIGHT_PREFIX}:*")), timeout=10)
    finally:
        worker.stop()


def test_a_solo_worker_keeps_its_lease_through_a_batch_longer_than_the_lease(probe, redis_url):
    """``--pool solo`` runs the batch in the consuming process, so kombu's event loop (which sweeps and
    used to renew the lease) is blocked for the whole batch: the lease must be renewed all the same, or the
    batch would be taken for a dead consumer's and delivered again while still being worked on."""
    import time

    import redis

    from shared.bus.reliable_redis import LEASE_SECONDS, OWNERS_KEY, lease_key

    rt, worker, _ = probe
    client = redis.Redis.from_url(redis_url)
    rt.publisher().publish([probe_event(5, sleep=LEASE_SECONDS + 3).to_dict()])
    held = wait_until(lambda: client.hgetall(OWNERS_KEY), timeout=30, message=worker.output)
    consumer = next(iter(held.values())).decode().split(" ", 1)[0]
    time.sleep(LEASE_SECONDS + 1)
    assert count(rt, probe_worker.seen) == 0, "the batch is still being worked on"
    assert client.exists(lease_key(consumer)), "the lease lapsed while the batch was being worked on"
    wait_until(lambda: count(rt, probe_worker.seen) == 1, timeout=30, message=worker.output)
    assert client.llen("events.probe") == 0
