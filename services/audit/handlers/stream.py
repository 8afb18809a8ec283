"""The live audit stream: matching events as Server-Sent Events, as they are stored.

A stream polls the store by sequence number: every ``poll`` seconds one short read transaction asks for
the newest seq (a primary-key lookup) and, only when it moved, for the matching rows after the last
position (the search's keyset query, one index range scan). Between polls the stream holds no database
connection and sleeps, so an idle stream costs one tiny query per poll (figures in docs/audit.md).
Reviewer reads are audited: opening a stream records ``audit.log.streamed`` before the first byte.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from services.audit.domain.search import EventFilter, json_line
from services.audit.handlers.ports import Units
from services.audit.handlers.search import SEARCHES

PAGE = 500  # rows sent per poll at most; a fuller backlog is read at once, without sleeping


@dataclass(frozen=True)
class StreamTiming:
    poll: float = 0.5  # seconds between looks at the store
    # A comment line after this much silence keeps proxies from closing an idle stream, and is the write
    # that finds out a client went away (WSGI has no other way to notice): it frees the thread.
    heartbeat: float = 5.0
    lifetime: float = 300.0  # the stream ends after this; the browser reconnects with Last-Event-ID
    retry_ms: int = 2000  # how long the browser waits before reconnecting


def open_stream(units: Units, f: EventFilter, after: int | None, timing: StreamTiming, *,
                clock: Callable[[], float] = time.monotonic,
                sleep: Callable[[float], None] = time.sleep) -> Iterator[str]:
    """Record the stream (committed before the first byte), fix its starting point and return its
    frames: every matching event with a seq above ``after`` (or, without one, stored from now on)."""
    with units.uow() as uow:
        start = uow.chain.settled_seq() if after is None else after
        uow.emit("audit.log.streamed", subject=SEARCHES, payload={"filters": f.as_dict(), "after": start})
        uow.commit()
    return _frames(units, f, start, timing, clock, sleep)


def _frames(units: Units, f: EventFilter, after: int, timing: StreamTiming,
            clock: Callable[[], float], sleep: Callable[[float], None]) -> Iterator[str]:
    # The first bytes go out at once: the response headers with them, so no proxy waits for an event.
    yield f"retry: {timing.retry_ms}\n\n"
    started = quiet_since = clock()
    scanned = after  # every row up to here was looked at (rows never change their filtered columns)
    while clock() - started < timing.lifetime:
        rows, scanned = _poll(units, f, scanned)
        if rows:
            yield "".join(frame(row) for row in rows)
            quiet_since = clock()
            if len(rows) == PAGE:
                continue  # a backlog: read on without sleeping
        elif clock() - quiet_since >= timing.heartbeat:
            yield ": keep-alive\n\n"
            quiet_since = clock()
        sleep(timing.poll)


def _poll(units: Units, f: EventFilter, scanned: int) -> tuple[list[dict[str, Any]], int]:
    """(matching rows after ``scanned``, the new scanned position), in one short read transaction."""
    with units.read_uow() as uow:
        newest = uow.chain.settled_seq()
        if newest <= scanned:
            return [], scanned
        rows = uow.search.search(f, scanned, PAGE)
        rows = uow.keys.open_rows(rows) if rows else rows  # sealed fields opened, as in search
    if len(rows) == PAGE:
        return rows, rows[-1]["seq"]
    return rows, max(newest, rows[-1]["seq"] if rows else newest)


def frame(row: dict[str, Any]) -> str:
    """One event: its seq as the event id (what Last-Event-ID resumes after), the search's JSON as data
    (one line: stored payloads are canonical JSON, which has no line breaks)."""
    return f"id: {row['seq']}\ndata: {json_line(row).rstrip()}\n\n"
