"""Compliance search and export, a person's own history; every reviewer read is itself audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from services.audit.domain import cursor as cursors
from services.audit.domain.errors import InvalidInput, NotFound
from services.audit.domain.search import EventFilter, Order, json_line, personal_row, public_row
from services.audit.handlers.ports import Units

SEARCHES = "audit:events"
EXPORT_PAGE = 2000
# The database writes the JSON lines (``SearchRepository.json_lines``): bigger pages, as Python only joins them
# and opens the sealed values of the page in one pass.
EXPORT_LINES_PAGE = 5000


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


def _after(key: bytes, cursor: str | None, fp: str) -> int | None:
    if not cursor:
        return None
    try:
        return cursors.decode(key, cursor, fp)
    except cursors.InvalidCursor as exc:
        raise InvalidInput(str(exc), fields={"cursor": [str(exc)]}) from exc


def search_events(units: Units, cursor_key: bytes, f: EventFilter, *, limit: int,
                  cursor: str | None = None, order: Order = "asc") -> Page:
    """One page of matching events (keyset on seq, stable while events keep arriving), recorded as an
    ``audit.log.searched`` event committed before the page is returned."""
    fp = cursors.fingerprint("events", {**f.as_dict(), "order": order})
    after = _after(cursor_key, cursor, fp)
    upto = _settled(units)
    with units.read_uow() as uow:
        rows = uow.search.search(f, after, limit + 1, order, upto)
        more = len(rows) > limit
        rows = uow.keys.open_rows(rows[:limit])  # sealed fields opened for the reviewer
    _record_search(units, {"filters": f.as_dict(), "order": order, "results": len(rows)})
    next_cursor = cursors.encode(cursor_key, rows[-1]["seq"], fp) if more and rows else None
    return Page([public_row(r) for r in rows], next_cursor)


def _settled(units: Units) -> int | None:
    """A store of several chains: the settled number (``ChainStore.settled_seq``), past which a page must not
    reach. Numbers are drawn before commit, so a writer in flight may still commit rows below rows another
    chain has committed; a cursor past them would skip those rows for good. Below the settled number every
    row is committed, so keyset pages over it miss nothing, in either order; newer rows come once their
    writers commit. Read in a short transaction of its own (it holds the idle heads while it looks). One
    chain: None (its head lock orders the writers)."""
    with units.read_uow() as uow:
        return uow.chain.settled_seq() if uow.chain.chains > 1 else None


def get_event(units: Units, seq: int) -> dict[str, Any]:
    """One stored event by its place in the chain, recorded like a search (filter ``seq``)."""
    with units.read_uow() as uow:
        rows = uow.keys.open_rows(uow.search.by_seq(seq))
    _record_search(units, {"filters": {"seq": seq}, "order": "asc", "results": len(rows)})
    if not rows:
        raise NotFound(f"There is no event {seq} in the store.")
    return public_row(rows[0])


def _record_search(units: Units, payload: dict[str, Any]) -> None:
    """Record a reviewer's read in a write transaction of its own, after the read: on SQLite a write
    transaction holds the database's one write lock, which the audit writer needs for every batch; a
    reviewer polling searches (each held it through its query and the opening of sealed fields) kept the
    writer waiting in SQLite's busy handler and the store fell behind."""
    with units.uow() as uow:
        uow.emit("audit.log.searched", subject=SEARCHES, payload=payload)
        uow.commit()


EXPORT_COLUMNS = ("seq", "event_id", "type", "version", "occurred_at", "stored_at", "producer", "actor", "subject",
                  "correlation_id", "payload", "prev_hash", "hash")


def export_events(units: Units, f: EventFilter, fmt: str) -> Iterator[str]:
    """Record the export (committed before the first byte), then stream every matching event in
    sequence order, a keyset page per query: memory stays constant whatever the size."""
    with units.uow() as uow:
        uow.emit("audit.log.exported", subject=SEARCHES, payload={"filters": f.as_dict(), "format": fmt})
        uow.commit()
    return _stream(units, f, fmt, _settled(units))


def _stream(units: Units, f: EventFilter, fmt: str, upto: int | None) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if fmt == "csv":
        writer.writerow(EXPORT_COLUMNS)
        yield _take(buffer)
    after: int | None = None
    kept: dict[str, Any] = {}  # person ciphers across the pages (``PersonKeys.open_text``)
    while fmt != "csv":
        # A short read transaction per page: nothing stays open while a slow client reads the stream.
        with units.read_uow() as uow:
            if not uow.search.builds_lines():
                break
            lines, count, last = uow.search.json_lines(f, after, EXPORT_LINES_PAGE, upto)
            if lines is None:  # a row the database could not write (``json_lines``): the page row by row
                rows = uow.keys.open_rows(uow.search.search(f, after, EXPORT_LINES_PAGE, "asc", upto))
                text = "".join([json_line(row) for row in rows])
                count, last = len(rows), rows[-1]["seq"] if rows else None
            else:
                text = uow.keys.open_text(lines, kept)
        after = last
        if text:
            yield text
        if count < EXPORT_LINES_PAGE:
            return
    while True:
        with units.read_uow() as uow:
            rows = uow.keys.open_rows(uow.search.search(f, after, EXPORT_PAGE, "asc", upto))
        if rows and fmt == "csv":
            writer.writerows([[_csv_safe(row[c]) for c in EXPORT_COLUMNS] for row in rows])  # payload as stored
            yield _take(buffer)
        elif rows:
            yield "".join([json_line(row) for row in rows])
        if len(rows) < EXPORT_PAGE:
            return
        after = rows[-1]["seq"]


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _csv_safe(value: Any) -> Any:
    """Cells a spreadsheet would run as a formula are prefixed with a quote (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def person_history(units: Units, cursor_key: bytes, user_id: str, *, limit: int,
                   cursor: str | None = None) -> Page:
    """A person's own events and every access by someone else to their personal data, newest first."""
    fp = cursors.fingerprint("me", {"user": user_id})
    after = _after(cursor_key, cursor, fp)
    with units.read_uow() as uow:
        rows = uow.search.about_person(user_id, after, limit + 1, "desc")
        more = len(rows) > limit
        rows = uow.keys.open_rows(rows[:limit])
    next_cursor = cursors.encode(cursor_key, rows[-1]["seq"], fp) if more and rows else None
    return Page([personal_row(r, user_id) for r in rows], next_cursor)
