"""The durable access-log spool: the gateway's own outbox table, one committed row per request.

On the default SQLite file (WAL, ``synchronous=NORMAL``) a commit is an append to the write-ahead
log without an fsync: it survives a killed gateway process (the OS has the page) at a cost of a few
tens of microseconds, paid before the response goes out. ``portal relay gateway`` publishes the
rows like any outbox.

SQLite is written through one plain ``sqlite3`` connection per process, shared by its threads under a
lock, the rows that arrive together committed in one transaction (group commit): the request path is the
hot path, and SQLAlchemy's session and pool
machinery cost four times as much CPU per row here. PostgreSQL (``GATEWAY_SPOOL_URL=postgresql+psycopg://``,
the spool that several gateways behind a load balancer share, so none keeps state on its own disk) is
written through one autocommitted ``psycopg`` connection per thread (a prepared INSERT, one round trip,
committed before the answer goes out); a connection that failed is dropped and the next request opens a
new one. Any other database goes through SQLAlchemy Core.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Table, delete, func, insert, or_, select

from shared import clock
from shared.db import sqlite_pragmas
from shared.leftovers import ERASED_KEEP_SECONDS, checkpoint_wal, erased_since
from shared.outbox import ROW_COLUMNS, insert_sql

log = logging.getLogger(__name__)


class SpoolWriteFailed(Exception):
    """The transaction that carried this row failed (disk full, database gone)."""


class _Queued:
    __slots__ = ("row", "done", "error")

    def __init__(self, row: tuple) -> None:
        self.row = row
        self.done = False
        self.error: Exception | None = None


class AccessSpool:
    def __init__(self, engine: Engine, table: Table) -> None:
        # write=True: BEGIN IMMEDIATE on SQLite, so concurrent writers queue on the busy timeout
        # instead of failing a lock upgrade.
        self.engine = engine.execution_options(write=True)
        self.insert = insert(table)
        self._sqlite_path = engine.url.database if engine.dialect.name == "sqlite" else None
        self._sqlite_sql = insert_sql(table.name, "?")
        self._pg_conninfo = (engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
                             if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg" else None)
        self._pg_sql = insert_sql(table.name, "%s")
        self._local = threading.local()
        self._sqlite_lock = threading.Lock()
        self._sqlite_conn: sqlite3.Connection | None = None
        self._sqlite_pid: int | None = None
        self._queue_lock = threading.Lock()
        self._queue: list[_Queued] = []
        self._opened: list[Any] = []

    def write(self, event_id: str, type_: str, body: str) -> None:
        now = clock.now()
        if self._sqlite_path and self._sqlite_path != ":memory:":
            self._sqlite_write((event_id, type_, body, _sqlite_datetime(now)))
            return
        if self._pg_conninfo:
            self._pg_write((event_id, type_, body, now))
            return
        with self.engine.begin() as conn:
            conn.execute(self.insert, dict(zip(ROW_COLUMNS, (event_id, type_, body, now), strict=True)))

    def _sqlite_write(self, row: tuple) -> None:
        """Committed when it returns, on the process's one connection, with group commit: a thread puts its
        row in the queue and takes the process's write lock; whoever holds it writes every queued row in one
        transaction and marks them done, so the threads whose rows it took find them committed when they get
        the lock. One transaction for what arrived together: the write lock, the WAL's page writes and the
        other process's page-cache refresh are paid per batch, not per row. A batch that fails fails each of
        its requests (they answer 503, as any spool failure)."""
        entry = _Queued(row)
        with self._queue_lock:
            self._queue.append(entry)
        with self._sqlite_lock:
            if not entry.done:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                try:
                    self._commit([e.row for e in batch])
                except Exception as exc:  # noqa: BLE001 - handed to every writer of the batch, raised below
                    for queued in batch:
                        queued.error = exc
                for queued in batch:
                    queued.done = True
        if entry.error is not None:
            raise SpoolWriteFailed(f"{type(entry.error).__name__}: {entry.error}") from entry.error

    def _commit(self, rows: list[tuple]) -> None:
        """Under ``_sqlite_lock``. One row: one autocommitted INSERT; several: one transaction."""
        conn = self._sqlite_conn
        if conn is None or self._sqlite_pid != os.getpid():  # never a connection opened before a fork
            conn = self._sqlite_conn = _open_sqlite(str(self._sqlite_path))
            self._sqlite_pid = os.getpid()
            self._opened.append(conn)
        if len(rows) == 1:
            conn.execute(self._sqlite_sql, rows[0])
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(self._sqlite_sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _pg_write(self, row: tuple) -> None:
        import psycopg

        conn = getattr(self._local, "pg", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(str(self._pg_conninfo), autocommit=True, connect_timeout=5)
            self._local.pg = conn
            self._opened.append(conn)
        try:
            conn.execute(self._pg_sql, row, prepare=True)
        except Exception:
            # A dead or broken connection (a database restart, a failover): this request is refused by the
            # caller, the next one in this thread connects again.
            self._local.pg = None
            self._opened.remove(conn)
            conn.close()
            raise

    def close(self) -> None:
        for conn in self._opened:
            conn.close()


def _open_sqlite(path: str) -> sqlite3.Connection:
    # isolation_level=None: each INSERT is its own transaction, committed when it returns. Shared by the
    # threads of the process (always under AccessSpool's lock).
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    sqlite_pragmas(conn)
    return conn


def _sqlite_datetime(moment: datetime) -> str:
    """How SQLAlchemy stores a UtcDateTime on SQLite (naive UTC, microseconds), so the relay and its
    purge read these rows like any other."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class SpoolEraser:
    """Erasure reaches the spool: the published rows naming a person announced erased (``shared/leftovers.py``,
    identity announces each erasure in Redis) are deleted, then the WAL is checkpointed and truncated, so the
    person's paths, queries, addresses and user agents are gone from the spool's file too.

    A newly announced person costs one scan of the spool's rows (a day of requests at most: published rows are
    purged after a day anyway). For ``RECENT`` after the announcement the rows published since then are looked
    at again every cycle: requests in flight during the erasure, and rows not yet published when it came (they
    must still reach the log store first; the store seals them unreadable)."""

    RECENT = 600.0  # seconds

    def __init__(self, engine: Engine, table: Table, client: Any) -> None:
        self.raw_engine = engine
        self.engine = engine.execution_options(write=True)
        self.table = table
        self.client = client
        self.since = time.time() - ERASED_KEEP_SECONDS  # at start: everyone announced in the last two days
        self.recent: dict[str, tuple[float, int]] = {}  # user id -> (announced at, highest row id then)
        self.unflushed = False  # rows were deleted and the WAL that held them is not truncated yet

    def run_once(self) -> int:
        t = self.table
        fresh = erased_since(self.client, self.since)
        removed = 0
        with self.engine.begin() as conn:
            # Rows after this one may still be published: looked at again while the person is recent.
            unsent = conn.execute(select(func.min(t.c.id)).where(t.c.sent_at.is_(None))).scalar_one()
            mark = int(unsent) - 1 if unsent is not None else int(
                conn.execute(select(func.coalesce(func.max(t.c.id), 0))).scalar_one())
            for user_id, at in fresh:
                self.since = max(self.since, at)
                removed += self._delete(conn, [user_id], after=0)
                self.recent[user_id] = (at, mark)
            now = time.time()
            self.recent = {u: v for u, v in self.recent.items() if now - v[0] < self.RECENT}
            if self.recent and not fresh:
                removed += self._delete(conn, list(self.recent), after=min(v[1] for v in self.recent.values()))
        if removed or self.unflushed:
            # A checkpoint a writer kept busy is tried again on every pass until it goes through.
            self.unflushed = not checkpoint_wal(self.raw_engine)
        return removed

    def _delete(self, conn: Any, people: list[str], after: int) -> int:
        t = self.table
        naming = or_(*[t.c.body.contains(json.dumps(p), autoescape=True) for p in people])
        result = conn.execute(delete(t).where(t.c.sent_at.is_not(None), t.c.id > after, naming))
        return int(result.rowcount or 0)

    def run_forever(self, stop: threading.Event, interval: float = 0.5) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - Redis or the spool down: try again later, never stop the relay
                log.exception("spool eraser: could not look for erased people; retrying")
                stop.wait(5.0)
            stop.wait(interval)
