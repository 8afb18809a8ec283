"""After an erasure: the copies a database engine or a broker keeps of what was just deleted.

- SQLite keeps the pages a transaction changed in its write-ahead log until a checkpoint copies them back, and
  the WAL file keeps them after that until it is reused: ``checkpoint_wal`` copies them (the database's own
  pages are already zeroed where rows were deleted: ``PRAGMA secure_delete=ON``, ``shared/db.py``) and
  truncates the WAL to nothing. Best effort: a long reader can keep the checkpoint from finishing (logged).
- Redis's append-only file holds every command ever sent — the events published through it included — until
  it is rewritten: ``compact_redis_log`` asks for ``BGREWRITEAOF``, after which the file holds only what the
  data set holds now (consumed messages are gone from it).
- Erased people are announced in Redis (``portal:privacy:erased``, a sorted set of user ids by time, kept two
  days) for processes that keep copies and consume no events: the gateway's access-log spool.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Engine

log = logging.getLogger("portal.privacy")
ERASED_KEY = "portal:privacy:erased"
ERASED_KEEP_SECONDS = 2 * 86400


def engine_of(uow: Any) -> Engine | None:
    """The engine behind a unit of work's session (None for a test's fake without one)."""
    session = getattr(uow, "session", None)
    bind = session.get_bind() if session is not None else None
    return bind if isinstance(bind, Engine) else None


def checkpoint_wal(engine: Engine) -> bool:
    """``PRAGMA wal_checkpoint(TRUNCATE)`` on a SQLite database (nothing elsewhere); False when busy."""
    if engine.dialect.name != "sqlite":
        return True
    try:
        raw = engine.raw_connection()  # outside any transaction: a checkpoint inside one is refused
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = cursor.fetchone()
            cursor.close()
        finally:
            raw.close()
    except Exception as exc:  # noqa: BLE001 - never fail the erasure that was already committed
        log.warning("WAL checkpoint after an erasure failed: %r", exc)
        return False
    if busy and busy[0]:
        log.warning("WAL checkpoint after an erasure could not finish (a reader was busy); the next one will")
        return False
    return True


def compact_redis_log(url: str | None) -> bool:
    """``BGREWRITEAOF`` on the Redis at ``url`` (a ``redis://`` or ``rediss://`` URL; anything else: nothing).
    A rewrite already running, or a Redis that refuses the command (a managed one), is logged, not raised."""
    if not url or not url.startswith(("redis://", "rediss://", "unix://")):
        return False
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.bgrewriteaof()
        return True
    except redis.RedisError as exc:
        if "already in progress" in str(exc):
            # A rewrite that started earlier may have snapshotted the data before the erasure: ask again
            # once it is done, so that the file ends up without the copies.
            return _after_running_rewrite(client)
        log.warning("could not rewrite Redis's append-only file after an erasure: %r", exc)
        return False
    finally:
        client.close()


def _after_running_rewrite(client: Any, wait: float = 10.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not int(client.info("persistence").get("aof_rewrite_in_progress", 0)):
            try:
                client.bgrewriteaof()
                return True
            except Exception as exc:  # noqa: BLE001 - another one started meanwhile: it is after ours
                log.info("Redis append-only file rewrite: %r", exc)
                return True
        time.sleep(0.2)
    return False


def announce_erased(client: Any, user_id: str, now: float | None = None) -> None:
    """Add the user id to ``portal:privacy:erased`` (and forget entries older than two days)."""
    moment = time.time() if now is None else now
    pipe = client.pipeline()
    pipe.zadd(ERASED_KEY, {user_id: moment})
    pipe.zremrangebyscore(ERASED_KEY, "-inf", moment - ERASED_KEEP_SECONDS)
    pipe.execute()


def erased_since(client: Any, since: float) -> list[tuple[str, float]]:
    """(user id, time) of the people announced after ``since``."""
    rows = client.zrangebyscore(ERASED_KEY, f"({since}", "+inf", withscores=True)
    return [(m.decode() if isinstance(m, bytes) else str(m), float(s)) for m, s in rows]
