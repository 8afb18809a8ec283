"""SQLAlchemy 2 engines, Alembic migrations and the unit of work, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite keeps no offset; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use shared.clock.now()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)



def sqlite_pragmas(dbapi_conn: Any) -> None:
    """Every SQLite connection of the platform's, SQLAlchemy's or a raw ``sqlite3`` one: WAL, a 30 s busy
    timeout, foreign keys, and deleted content overwritten with zeros — rows deleted, and the space cells leave
    behind when a page is rebalanced, so an erased person's data does not survive in the database file's free
    space (nor in the WAL frames later writes copy those pages into)."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings this platform relies on.

    SQLite: WAL (readers never block the writer), ``synchronous=NORMAL`` (a committed row survives
    a killed process), a busy timeout instead of immediate "database is locked", and transactions
    begun by us so that a write transaction can take the lock up front (``BEGIN IMMEDIATE``) rather
    than failing on a lock upgrade. Everywhere: ``hide_parameters`` (a failed statement's message and
    log line show the SQL, never the values bound to it) and no echo.
    """
    parsed = make_url(url)
    # Bound parameters (addresses, tokens, names) never appear in an error's text or a log line.
    kwargs.setdefault("hide_parameters", True)
    kwargs.setdefault("echo", False)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _ENGINES.add(engine)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
            sqlite_pragmas(dbapi_conn)

        gate = _WriteGate()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("write", False)
            if immediate:
                gate.enter(conn.info)
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
            except BaseException:
                gate.leave(conn.info)
                raise

        @event.listens_for(engine, "checkin")
        def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
            gate.leave(record.info)

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    _ENGINES.add(engine)
    return engine


class _WriteGate:
    """SQLite's write lock, taken first in the process: the threads of one process that want to write the same
    file queue on a lock that wakes the next one the moment the last commits, instead of in SQLite's busy
    handler, which polls with sleeps of up to 100 ms (under 8 threads logging in at once, most of a login's
    time was spent asleep there while the lock was free). Held from ``BEGIN IMMEDIATE`` until the connection
    returns to the pool, after its ``COMMIT`` or ``ROLLBACK``. Other processes still meet in SQLite's handler;
    a thread that waited ``TIMEOUT`` seconds goes on to it too, so a holder that never returns its connection
    costs time, never a deadlock."""

    TIMEOUT = 30.0
    KEY = "portal_write_gate"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        _GATES.add(self)

    def enter(self, info: dict[str, Any]) -> None:
        if not info.get(self.KEY):  # a connection beginning again before its return already holds it
            info[self.KEY] = self.lock.acquire(timeout=self.TIMEOUT)

    def leave(self, info: dict[str, Any]) -> None:
        if info.pop(self.KEY, False):
            with contextlib.suppress(RuntimeError):  # a lock renewed by a fork since it was taken
                self.lock.release()


_GATES: weakref.WeakSet[_WriteGate] = weakref.WeakSet()


# Every engine this process made, so that a forked child (gunicorn's workers forked from a master that
# imported the application, Celery's pool processes) never uses a connection its parent opened.
_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def release_connections(close: bool = True) -> None:
    """Empty every engine's pool. ``close=False`` in a forked child: the connections belong to the parent,
    which may still use them; the child only forgets them (SQLAlchemy's advice for forks)."""
    for engine in list(_ENGINES):
        engine.dispose(close=close)


def _after_fork_in_child() -> None:
    release_connections(close=False)
    for gate in list(_GATES):  # a lock a parent's thread held at the fork would never be released here
        gate.lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def write_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose transactions take the write lock at BEGIN on SQLite (no effect elsewhere)."""
    return sessionmaker(bind=engine.execution_options(write=True), expire_on_commit=False)


@contextlib.contextmanager
def _migration_lock(engine: Engine, service: str) -> Iterator[None]:
    """Only one process migrates a database at a time (web workers, worker and relay start together)."""
    if is_sqlite(engine):
        db_path = engine.url.database or ":memory:"
        if db_path == ":memory:":
            yield
            return
        with open(db_path + ".migrate.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    key = int.from_bytes(hashlib.sha256(f"migrate:{service}".encode()).digest()[:7], "big")
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def migrate(engine: Engine, migrations_dir: Path, service: str) -> None:
    """Apply the service's Alembic migrations up to head (idempotent, safe to race). Alembic is imported
    here, not with this module: a process that does not migrate (``PORTAL_MIGRATE_ON_START=0``) starts
    without it."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir))
    cfg.attributes["service"] = service
    with _migration_lock(engine, service), engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def run_alembic_env(context: Any, target_metadata: Any) -> None:
    """The body of every service's ``migrations/env.py``: online migrations on the given connection."""
    conn = context.config.attributes.get("connection")
    if conn is None:
        from shared.config import database_url

        service = context.config.attributes.get("service") or context.config.get_main_option("service")
        engine = make_engine(database_url(service))
        with engine.begin() as conn:
            _configure_and_run(context, conn, target_metadata)
        return
    _configure_and_run(context, conn, target_metadata)


def _configure_and_run(context: Any, conn: Any, target_metadata: Any) -> None:
    context.configure(
        connection=conn,
        target_metadata=target_metadata,
        render_as_batch=conn.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


SessionFactory = Callable[[], Session]
