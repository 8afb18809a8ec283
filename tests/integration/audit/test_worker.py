"""The audit consumer in a real Celery worker reading a real Redis: batches in, chained rows out."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.audit.adapters import tables
from services.audit.handlers import integrity
from tests.integration.audit.conftest import events_at, make_event
from tests.support.processes import REPO, base_env, celery_worker, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def worker(container, audit_env, tmp_path):
    proc = celery_worker("audit", base_env({**audit_env, "PYTHONPATH": str(REPO)}), tmp_path).start()
    yield proc
    proc.stop()


def stored(container) -> int:
    with container.runtime.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(tables.audit_events)).scalar_one()


def test_every_event_is_stored_once_in_a_verified_chain(container, worker):
    publisher = container.runtime.publisher()
    events = [e.to_dict() for e in events_at(1200)]
    publisher.publish(events)  # several broker messages of many events each
    publisher.publish(events[100:300])  # at-least-once delivery: the same events again
    marker = make_event(subject="/marker").to_dict()
    publisher.publish([marker])
    wait_until(lambda: stored(container) == 1201, timeout=60, message=worker.output)
    result = integrity.verify(container)
    assert result.ok and result.checked == 1201


def test_a_malformed_event_is_dead_lettered_and_the_rest_stored(container, worker):
    good = make_event(subject="/good").to_dict()
    broken = make_event(subject="/broken").to_dict() | {"occurred_at": "not a time"}
    container.runtime.publisher().publish([good, broken])
    store = container.runtime.dead_letters()
    wait_until(lambda: store.entries() and stored(container) == 1, timeout=60, message=worker.output)
    assert store.entries()[0]["event_id"] == broken["event_id"]


def test_the_consuming_process_collects_less_once_ready(container):
    import gc

    from celery.signals import worker_process_init

    from services.audit.consumers import GC_FIRST_THRESHOLD, collect_less, create_worker

    create_worker(container)
    # sent as a solo pool starts, and in each prefork child; kept strongly (weak=False)
    assert collect_less in [receiver for _key, receiver in worker_process_init.receivers]
    before = gc.get_threshold()
    try:
        collect_less()
        assert gc.get_threshold()[0] == GC_FIRST_THRESHOLD and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
