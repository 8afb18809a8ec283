"""Consumer-side tables: events already processed (dedup by ``event_id``) and dead letters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from shared import clock
from shared.db import UtcDateTime
from shared.outbox import _ID


def processed_events_table(metadata: MetaData) -> Table:
    return Table(
        "processed_events",
        metadata,
        Column("event_id", String(36), primary_key=True),
        Column("type", String(100), nullable=False),
        Column("processed_at", UtcDateTime(), nullable=False),
    )


def dead_letters_table(metadata: MetaData) -> Table:
    return Table(
        "dead_letters",
        metadata,
        Column("id", _ID, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, index=True),
        Column("type", String(100), nullable=False),
        Column("body", Text, nullable=False),
        Column("error", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("failed_at", UtcDateTime(), nullable=False),
        Column("replayed_at", UtcDateTime(), nullable=True),
    )


def already_processed(session: Session, table: Table, event_ids: Sequence[str]) -> set[str]:
    if not event_ids:
        return set()
    rows = session.execute(select(table.c.event_id).where(table.c.event_id.in_(list(event_ids))))
    return {r[0] for r in rows}


def mark_processed(session: Session, table: Table, events: Sequence[Any]) -> None:
    if events:
        now = clock.now()
        session.execute(insert(table), [{"event_id": e.event_id, "type": e.type, "processed_at": now}
                                        for e in events])


class DeadLetterStore:
    """Dead letters kept in the consuming service's own database, listed and replayed by operators."""

    def __init__(self, session_factory, table: Table) -> None:
        self.session_factory = session_factory
        self.table = table

    def add(self, raw_event: dict[str, Any], error: str, attempts: int) -> None:
        with self.session_factory() as session, session.begin():
            session.execute(insert(self.table).values(
                event_id=str(raw_event.get("event_id", "?"))[:64],
                type=str(raw_event.get("type", "?"))[:100],
                body=json.dumps(raw_event, separators=(",", ":"), default=str),
                error=error[:4000],
                attempts=attempts,
                failed_at=clock.now(),
            ))

    def entries(self, include_replayed: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        t = self.table
        query = select(t).order_by(t.c.id).limit(limit)
        if not include_replayed:
            query = query.where(t.c.replayed_at.is_(None))
        with self.session_factory() as session:
            return [dict(r._mapping) for r in session.execute(query)]

    def take_for_replay(self, ids: Sequence[int] | None, send) -> list[dict[str, Any]]:
        """Send pending dead letters with ``send(events)`` and mark them replayed in the same
        transaction: if sending fails nothing is marked (all pending ones when ``ids`` is None)."""
        t = self.table
        with self.session_factory() as session, session.begin():
            query = select(t.c.id, t.c.body).where(t.c.replayed_at.is_(None)).order_by(t.c.id)
            if ids is not None:
                query = query.where(t.c.id.in_(list(ids)))
            rows = session.execute(query).all()
            events = [json.loads(r.body) for r in rows]
            if rows:
                send(events)
                session.execute(update(t).where(t.c.id.in_([r.id for r in rows])).values(
                    replayed_at=clock.now()))
            return events


# Dead letters of privacy requests stay: they are how a failed erasure or export is replayed.
KEEP_DEAD_LETTERS = "identity.privacy.%"


def forget_copies(session: Session, outbox: Table, dead_letters: Table, user_id: str) -> int:
    """On erasure, a service's own copies of events naming the person that nobody needs any more: outbox
    rows already published (the log store has them) and dead letters other than privacy requests. Rows not
    yet published stay: they are the server log the audit service must still receive. Returns how many."""
    needle = json.dumps(user_id)  # the id as a JSON string value: "<id>", quotes included
    sent = session.execute(delete(outbox).where(outbox.c.sent_at.is_not(None),
                                                outbox.c.body.contains(needle, autoescape=True)))
    dead = session.execute(delete(dead_letters).where(dead_letters.c.type.not_like(KEEP_DEAD_LETTERS),
                                                      dead_letters.c.body.contains(needle, autoescape=True)))
    return int(getattr(sent, "rowcount", 0) or 0) + int(getattr(dead, "rowcount", 0) or 0)
