"""Fault test with real processes: the audit worker is killed (SIGKILL, whole process group) while
5,000 events flow from an outbox through Redis; started again, it stores every event exactly once and
the chain verifies. The batch the killed worker held comes back within seconds (its consumer lease lapses,
shared/bus/reliable_redis.py), not after the broker's visibility timeout (300 s, left as it is)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, func, select
from sqlalchemy.orm import Session

from shared.bus.celery_app import make_celery
from shared.bus.publisher import CeleryPublisher
from shared.db import make_engine
from shared.events import Event
from shared.outbox import OutboxRelay, add_events, outbox_table
from tests.support.audit_keys import audit_keys_env
from tests.support.processes import REPO, Proc, base_env, celery_worker, portal_workers, wait_until
from tests.support.redis_server import empty_redis

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
TOTAL = 5000


def access_events(n: int) -> list[Event]:
    start = datetime.now(UTC) - timedelta(hours=1)
    return [Event(event_id=str(uuid.uuid4()), type="gateway.request.completed", version=1,
                  occurred_at=(start + timedelta(milliseconds=i)).isoformat(), producer="gateway",
                  actor=f"user-{i % 97}", subject=f"/api/content/items/{i % 13}", correlation_id=f"req-{i}",
                  payload={"method": "GET", "path": f"/api/content/items/{i % 13}", "status": 200,
                           "duration_ms": 2.0})
            for i in range(n)]


class ThrottledRelay:
    """The real outbox relay, paced so that events are still flowing when the worker is killed."""

    def __init__(self, relay: OutboxRelay) -> None:
        self.relay = relay
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            if self.relay.run_once() == 0:
                self.stop.wait(0.05)
            else:
                self.stop.wait(0.02)

    def __enter__(self) -> ThrottledRelay:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def _broker_state(redis_url: str) -> dict:
    import redis

    client = redis.Redis.from_url(redis_url)
    return {"unacked": client.hlen("unacked"), "unacked_index": client.zcard("unacked_index"),
            "mutex_ttl": client.ttl("unacked_mutex"), "audit_queue": client.llen("events.audit")}


def audit_worker(runner: str, env: dict[str, str], tmp_path, name: str) -> Proc:
    if runner == "portal workers":  # `portal run`'s: every service's worker on a thread of one process
        return portal_workers(("audit",), env, tmp_path, name=name)
    return celery_worker("audit", env, tmp_path, name=name)


@pytest.fixture(autouse=True)
def _empty_broker(redis_url):
    """Each run starts on an empty broker: a batch the previous run's workers still held or had handed back
    when it ended (delivered at least once, deduplicated in that run's store) is another store's event here."""
    empty_redis(redis_url)


@pytest.mark.parametrize("runner", ["celery worker", "portal workers"])
def test_killing_the_audit_worker_loses_and_duplicates_nothing(tmp_path, redis_url, database_url, monkeypatch,
                                                               runner):
    env = {"AUDIT_DATABASE_URL": database_url, "REDIS_URL": redis_url, "PORTAL_INTERNAL_SECRET": "fault-" + "9f3b" * 8,
           "PORTAL_AUDIT_CHECKPOINT_EVERY": "100", **audit_keys_env(tmp_path)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    from services.audit.adapters.tables import audit_events
    from services.audit.bootstrap import bootstrap
    from services.audit.handlers import integrity

    audit = bootstrap()  # migrated before the workers start
    worker_env = base_env({**env, "PYTHONPATH": str(REPO)})

    def stored() -> int:
        with audit.runtime.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(audit_events)).scalar_one()

    producer = make_engine(f"sqlite:///{tmp_path / 'producer.db'}")
    outbox = outbox_table(MetaData())
    outbox.metadata.create_all(producer)
    events = access_events(TOTAL)
    with Session(producer) as session, session.begin():
        add_events(session, outbox, events)
    relay = OutboxRelay(producer, outbox, CeleryPublisher(make_celery("fault.relay", redis_url), max_per_message=25),
                        batch_size=50)

    first = audit_worker(runner, worker_env, tmp_path, "audit-first").start()
    second = None
    try:
        with ThrottledRelay(relay):
            wait_until(lambda: stored() >= 1000, timeout=120, message="the first worker storing events")
            # Kill it while it holds a batch (taken, not yet acknowledged).
            wait_until(lambda: _broker_state(redis_url)["unacked"] > 0, timeout=60, interval=0.005,
                       message="the worker holding a batch")
            first.kill9()
            killed_at = stored()
            assert killed_at < TOTAL, "the flow ended before the kill; slow the relay down"
            # Checked before the second worker starts: once running, it hands the dead worker's batch back
            # to the queue as soon as that worker's lease lapses (seconds), which is what is under test.
            assert _broker_state(redis_url)["unacked"] > 0, "the kill came too late to catch a held batch"
            second = audit_worker(runner, worker_env, tmp_path, "audit-second").start()
            try:
                wait_until(lambda: stored() == TOTAL and relay.pending() == 0, timeout=90, interval=0.5,
                           message=f"all {TOTAL} events stored")
            except TimeoutError as exc:
                problems = [line for line in (first.output() + second.output()).splitlines()
                            if "WARNING" in line or "ERROR" in line or "retry" in line.lower()]
                raise AssertionError(f"{stored()} of {TOTAL} stored; broker: {_broker_state(redis_url)}; "
                                     f"dead letters: {len(audit.runtime.dead_letters().entries())}\n"
                                     + "\n".join(problems[-40:])) from exc
        with audit.runtime.engine.connect() as conn:
            ids = conn.execute(select(audit_events.c.event_id)).scalars().all()
        assert sorted(ids) == sorted(e.event_id for e in events)  # each exactly once
        result = integrity.verify(audit)
        assert result.ok and result.checked == TOTAL, result.to_dict()
    finally:
        first.kill9()
        if second is not None:
            second.stop()
        audit.runtime.engine.dispose()
        producer.dispose()
