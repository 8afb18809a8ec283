"""The relay with a fake publisher (the port), on a real database: batches, marking, crash semantics."""

import json
import uuid

import pytest
from sqlalchemy import MetaData

from shared.db import make_engine, write_session_factory
from shared.events import Event
from shared.outbox import OutboxRelay, add_events, outbox_table


class FakePublisher:
    def __init__(self, fail_after_publish: bool = False):
        self.batches: list[list[dict]] = []
        self.fail_after_publish = fail_after_publish

    def publish_raw(self, events):
        self.batches.append([json.loads(body) for _type, body in events])
        if self.fail_after_publish:
            raise ConnectionError("died after the broker took the batch")


def ev(i: int) -> Event:
    return Event(event_id=str(uuid.uuid4()), type="probe.thing.happened", version=1,
                 occurred_at="2026-01-01T00:00:00+00:00", producer="probe", actor="system",
                 subject=str(i), correlation_id=None, payload={"value": i})


@pytest.fixture
def outbox(database_url):
    engine = make_engine(database_url)
    md = MetaData()
    table = outbox_table(md)
    md.create_all(engine)
    yield engine, table
    engine.dispose()


def stage(engine, table, n):
    events = [ev(i) for i in range(n)]
    with write_session_factory(engine)() as session, session.begin():
        add_events(session, table, events)
    return events


def test_publishes_in_order_in_batches_and_marks_sent(outbox):
    engine, table = outbox
    events = stage(engine, table, 25)
    publisher = FakePublisher()
    relay = OutboxRelay(engine, table, publisher, batch_size=10)
    assert [relay.run_once() for _ in range(4)] == [10, 10, 5, 0]
    published = [e["event_id"] for batch in publisher.batches for e in batch]
    assert published == [e.event_id for e in events]
    assert relay.pending() == 0


def test_a_crash_between_publish_and_mark_only_duplicates(outbox):
    engine, table = outbox
    events = stage(engine, table, 3)
    crashing = FakePublisher(fail_after_publish=True)
    with pytest.raises(ConnectionError):
        OutboxRelay(engine, table, crashing).run_once()
    assert OutboxRelay(engine, table, FakePublisher()).pending() == 3  # nothing marked, nothing lost
    again = FakePublisher()
    assert OutboxRelay(engine, table, again).run_once() == 3
    assert [e["event_id"] for e in again.batches[0]] == [e.event_id for e in events]


def test_rolled_back_change_leaves_no_event(outbox):
    engine, table = outbox
    with write_session_factory(engine)() as session:
        session.begin()
        add_events(session, table, [ev(1)])
        session.rollback()
    assert OutboxRelay(engine, table, FakePublisher()).pending() == 0
