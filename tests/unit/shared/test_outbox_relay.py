"""The relay with a fake publisher (the port), on a real database: batches, marking, crash semantics."""

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import MetaData, update

from shared import clock
from shared.db import make_engine, write_session_factory
from shared.events import Event
from shared.outbox import OutboxRelay, add_events, outbox_table


class FakePublisher:
    def __init__(self, fail_after_publish: bool = False, epoch: str | None = None):
        self.batches: list[list[dict]] = []
        self.fail_after_publish = fail_after_publish
        self.epoch = epoch

    def broker_epoch(self):
        return self.epoch

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


def published_ids(publisher: FakePublisher) -> list[str]:
    return [e["event_id"] for batch in publisher.batches for e in batch]


def test_a_new_broker_run_gets_what_was_sent_shortly_before_it_again(outbox):
    """A broker that lost its last moments (Redis, appendfsync everysec, kill -9) restarts with a new run id:
    what the relay sent within the window before it last saw the old run is published again; older rows,
    which the broker had long made durable, are not."""
    engine, table = outbox
    old = stage(engine, table, 2)
    publisher = FakePublisher(epoch="run-1")
    relay = OutboxRelay(engine, table, publisher, batch_size=10)
    assert relay.run_once() == 2
    with engine.begin() as conn:  # sent an hour ago
        conn.execute(update(table).values(sent_at=clock.now() - timedelta(hours=1)))
    recent = stage(engine, table, 3)
    assert relay.run_once() == 3
    assert relay.check_broker() == 0  # same run: nothing to do
    publisher.epoch = "run-2"
    assert relay.check_broker() == 3
    assert relay.run_once() == 3
    assert published_ids(publisher)[5:] == [e.event_id for e in recent]
    assert [e.event_id for e in old] == published_ids(publisher)[:2]
    assert relay.pending() == 0


def test_a_starting_relay_publishes_the_last_moments_again_and_a_confirming_broker_never(outbox):
    engine, table = outbox
    stage(engine, table, 2)
    assert OutboxRelay(engine, table, FakePublisher(epoch="run-1")).run_once() == 2
    restarted = OutboxRelay(engine, table, FakePublisher(epoch="run-1"))
    assert restarted.check_broker() == 2  # it cannot know whether the broker kept them
    assert restarted.run_once() == 2
    confirming = OutboxRelay(engine, table, FakePublisher(epoch=None))  # RabbitMQ with publisher confirms
    assert confirming.check_broker() == 0 and confirming.run_once() == 0


def test_a_consumer_with_a_backlog_gets_fewer_larger_messages(outbox):
    """Events staged while the relay waits go out together: with the consumer's queue behind, the relay waits
    ``BACKLOG_INTERVAL`` between rounds instead of its interval, so each message carries more of them."""
    import threading
    import time

    engine, table = outbox
    publisher = FakePublisher()
    relay = OutboxRelay(engine, table, publisher)
    relay.BACKLOG_INTERVAL = 0.6
    depth = [50]
    asked: list[float] = []

    def backlog() -> int:
        asked.append(time.monotonic())
        return depth[0]

    stop = threading.Event()
    thread = threading.Thread(target=relay.run_forever, args=(stop, 0.05, backlog))
    thread.start()
    try:
        for _ in range(10):  # 2 s of events, one every 0.2 s: three or four rounds at 0.6 s
            stage(engine, table, 1)
            time.sleep(0.2)
        behind = len(publisher.batches)
        depth[0] = 0  # caught up: back to a round every 0.05 s
        time.sleep(1.2)  # the depth is asked again within a second
        publisher.batches.clear()
        for _ in range(10):
            stage(engine, table, 1)
            time.sleep(0.2)
        caught_up = len(publisher.batches)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert behind <= 5, behind
    assert caught_up >= 9, caught_up
    assert all(b - a >= 0.99 for a, b in zip(asked, asked[1:], strict=False))  # at most once a second


def test_a_backlog_that_cannot_be_read_is_not_waited_for(outbox):
    engine, table = outbox
    relay = OutboxRelay(engine, table, FakePublisher())

    def unreadable() -> int:
        raise ConnectionError("the broker cannot tell")

    assert relay._pace(unreadable, 0.05) == 0.05
