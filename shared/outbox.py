"""The transactional outbox: events are rows written in the same transaction as the state change.

A relay publishes pending rows in batches and marks them sent. A crash between publish and mark
only republishes, and every consumer drops duplicates by ``event_id``.

A broker may acknowledge a publish it then loses when it is killed (Redis with ``appendfsync everysec``
postpones its writes while a background fsync runs): the relay watches the broker's run id, and when a new
run appears it publishes again every row it marked sent within ``republish_window`` before it last saw
the old run (docs/decisions.md §14). A relay that starts does the same for the window before its start.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from shared import clock, metrics, tracing
from shared.bus.publisher import Publisher
from shared.db import UtcDateTime
from shared.events import Event, signing

log = logging.getLogger(__name__)

_ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only


# What a producer writes into a row (``id`` is the database's, ``sent_at`` the relay's).
ROW_COLUMNS = ("event_id", "type", "body", "created_at")


def insert_sql(table: str, placeholder: str) -> str:
    """The plain INSERT of one row (``ROW_COLUMNS``) for a driver used without SQLAlchemy (``?`` for
    ``sqlite3``, ``%s`` for ``psycopg``): the gateway's spool writes one per request."""
    columns, values = ", ".join(ROW_COLUMNS), ", ".join([placeholder] * len(ROW_COLUMNS))
    return f"INSERT INTO {table} ({columns}) VALUES ({values})"  # noqa: S608 - our own table's name


def outbox_table(metadata: MetaData) -> Table:
    table = Table(
        "outbox",
        metadata,
        Column("id", _ID, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("type", String(100), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("sent_at", UtcDateTime(), nullable=True),
        Index("ix_outbox_sent_at", "sent_at"),
    )
    pending = table.c.sent_at.is_(None)
    Index("ix_outbox_pending", table.c.id, postgresql_where=pending, sqlite_where=pending)
    return table


def add_events(session: Session, table: Table, events: Sequence[Event]) -> None:
    """Stage events in the caller's transaction; they are published only once it commits."""
    if not events:
        return
    now = clock.now()
    session.execute(
        insert(table),
        [
            {
                "event_id": e.event_id,
                "type": e.type,
                "body": json.dumps(signing.sign(e.to_dict()), separators=(",", ":")),
                "created_at": now,
            }
            for e in events
        ],
    )


class OutboxRelay:
    """Moves pending outbox rows to the broker, oldest first, a batch at a time."""

    EPOCH_CHECK_SECONDS = 0.5

    def __init__(self, engine: Engine, table: Table, publisher: Publisher, batch_size: int = 1000,
                 keep_sent: timedelta = timedelta(days=1),
                 republish_window: timedelta = timedelta(seconds=5), service: str = "") -> None:
        self.service = service  # the metrics' label
        self.engine = engine
        self.table = table
        self.publisher = publisher
        self.batch_size = batch_size
        self.keep_sent = keep_sent
        self.republish_window = republish_window
        self._runs = 0
        self._epoch: str | None = None
        self._epoch_seen_at: datetime | None = None  # the last time the broker was seen in that run
        self._epoch_checked = -self.EPOCH_CHECK_SECONDS
        self._depth_checked = float("-inf")
        self._behind = False  # the consumer fed has a backlog (``run_forever``'s ``backlog``)
        # Built once with an expanding parameter: an IN clause of a batch's literals, built per batch,
        # cost the relay more than the publish itself.
        self._mark_sent = update(table).where(table.c.id.in_(bindparam("ids", expanding=True))) \
            .values(sent_at=bindparam("now"))
        self._mark_range_sent = update(table).where(table.c.id.between(bindparam("first"), bindparam("last")),
                                                    table.c.sent_at.is_(None)).values(sent_at=bindparam("now"))

    def check_broker(self) -> int:
        """Compare the broker's run with the one last seen; on a new run (or the relay's first look)
        mark the rows sent shortly before as pending again. Returns how many rows that was."""
        self._epoch_checked = time.monotonic()
        epoch = self.publisher.broker_epoch()
        now = clock.now()
        if epoch is None:
            return 0
        reset = 0
        if epoch != self._epoch:
            since = (self._epoch_seen_at or now) - self.republish_window
            t = self.table
            with self.engine.execution_options(write=True).begin() as conn:
                reset = conn.execute(update(t).where(t.c.sent_at >= since).values(sent_at=None)).rowcount or 0
            if reset and self._epoch is not None:
                log.warning("outbox relay: the broker restarted (run %s, was %s); publishing again the %d "
                            "events sent since %s", epoch, self._epoch, reset, since.isoformat())
            self._epoch = epoch
        self._epoch_seen_at = now
        return reset

    def run_once(self) -> int:
        if time.monotonic() - self._epoch_checked >= self.EPOCH_CHECK_SECONDS:
            self.check_broker()
        t = self.table
        started_ns = time.time_ns()
        query = select(t.c.id, t.c.type, t.c.body).where(t.c.sent_at.is_(None)).order_by(t.c.id).limit(self.batch_size)
        if self.engine.dialect.name == "postgresql":
            # Several relays may run side by side: row locks keep them apart and never block inserts.
            query = query.with_for_update(skip_locked=True)
            with self.engine.begin() as conn:
                rows = conn.execute(query).all()
                if not rows:
                    return 0
                self.publisher.publish_raw([(r.type, r.body) for r in rows])
                conn.execute(self._mark_sent, {"ids": [r.id for r in rows], "now": clock.now()})
        else:
            # SQLite has one writer at a time: holding the write lock during the broker round trip would
            # stall every request writing an event. One relay per database reads, publishes, then marks.
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
                conn.rollback()
            if not rows:
                return 0
            self.publisher.publish_raw([(r.type, r.body) for r in rows])
            # The rows read are every pending row from the first id to the last: ids are assigned in commit
            # order by SQLite's one writer, and this relay alone marks rows of this database sent.
            with self.engine.execution_options(write=True).begin() as conn:
                conn.execute(self._mark_range_sent, {"first": rows[0].id, "last": rows[-1].id, "now": clock.now()})
        self._count_published(rows)
        self._trace_published(rows, started_ns)
        self._runs += 1
        if self._runs % 200 == 0:
            self.purge()
        return len(rows)

    def _count_published(self, rows) -> None:
        for type_, count in Counter(row.type for row in rows).items():
            metrics.EVENTS_PUBLISHED.labels(self.service, type_).inc(count)

    def _trace_published(self, rows, started_ns: int) -> None:
        """One span per published event that carries a trace, as that event's child: the relay's hop in the
        access's trace. Made only when spans are exported (nothing downstream reads the relay's context)."""
        if not tracing.exporting():
            return
        ended_ns = time.time_ns()
        tracer = tracing.tracer()
        for row in rows:
            traceparent = tracing.traceparent_in(row.body)
            if traceparent:
                span = tracer.start_span(f"relay publish {row.type}", kind=tracing.PRODUCER, start_time=started_ns,
                                         context=tracing.parent_from({tracing.TRACEPARENT: traceparent}),
                                         attributes={"portal.outbox": self.service, "portal.outbox.row": row.id})
                span.end(end_time=ended_ns)

    def purge(self) -> int:
        """Forget rows sent long ago; they are in the broker's consumers' stores by now."""
        cutoff = clock.now() - self.keep_sent
        with self.engine.execution_options(write=True).begin() as conn:
            result = conn.execute(delete(self.table).where(self.table.c.sent_at < cutoff))
        return result.rowcount or 0

    def pending(self) -> int:
        from sqlalchemy import func

        with self.engine.connect() as conn:
            return int(conn.execute(
                select(func.count()).select_from(self.table).where(self.table.c.sent_at.is_(None))
            ).scalar_one())

    # A consumer this far behind (messages waiting in its queue) gets fewer, larger messages: the relay waits
    # ``BACKLOG_INTERVAL`` between rounds. Each message costs the consumer a broker round trip or more and a
    # transaction of its own, whatever it holds; a backlog of 60-event messages drains about twice as fast
    # as one of 15-event ones (docs/reliability.md).
    BACKLOG_MESSAGES = 8
    BACKLOG_INTERVAL = 2.0

    def run_forever(self, stop: threading.Event, interval: float = 0.05,
                    backlog: Callable[[], int] | None = None) -> None:
        """Drain continuously; back off to ``interval`` when idle and on broker/database errors. ``backlog``:
        how many messages wait in the queue of the consumer this outbox feeds (checked when idle)."""
        backoff = interval
        while not stop.is_set():
            try:
                moved = self.run_once()
                backoff = interval
                if moved < self.batch_size and backlog is not None:
                    backoff = self._pace(backlog, interval)
            except Exception:  # noqa: BLE001 - a broker or database outage must not kill the relay
                metrics.PUBLISH_FAILURES.labels(self.service).inc()
                log.exception("outbox relay: publish failed; retrying in %.1fs", backoff)
                moved = 0
                self._epoch_checked = -self.EPOCH_CHECK_SECONDS  # the broker may be a new run when back
                # At most 2 s: a failed round costs one query or connect, and the outbox drains within 2 s
                # of its database or broker being back (10 s here delayed events by up to 10 s after it).
                backoff = min(backoff * 2 if backoff >= 0.5 else 0.5, 2.0)
            if moved < self.batch_size:
                stop.wait(backoff)

    def _pace(self, backlog: Callable[[], int], interval: float) -> float:
        """The wait before the next round; the depth is asked at most once a second (on RabbitMQ it costs a
        connection)."""
        now = time.monotonic()
        if now - self._depth_checked >= 1.0:
            self._depth_checked = now
            try:
                self._behind = backlog() >= self.BACKLOG_MESSAGES
            except Exception:  # noqa: BLE001 - the depth is advice: a broker that cannot tell is not waited for
                self._behind = False
        return max(interval, self.BACKLOG_INTERVAL) if self._behind else interval
