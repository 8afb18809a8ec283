"""The unit of work: one use case, one transaction, its events committed with it (outbox)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from shared.events import Event, new_event
from shared.outbox import add_events
from shared.web.identity import Identity


class UnitOfWork:
    """``with uow: ...; uow.commit()`` — anything not committed is rolled back on exit.

    Services subclass it to attach their repositories in ``_start``. Events emitted with ``emit`` are
    written to the outbox in the same transaction, so they exist if and only if the change does.
    """

    def __init__(self, session_factory: Callable[[], Session], outbox: Table, producer: str,
                 context: Identity | None = None) -> None:
        self._session_factory = session_factory
        self._outbox = outbox
        self.producer = producer
        self.context = context or Identity()
        self.events: list[Event] = []
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self.events = []
        self._committed = False
        self._start()
        return self

    def _start(self) -> None:
        """Hook for subclasses: build repositories on ``self.session``."""

    def __exit__(self, *exc: Any) -> None:
        if not self._committed:
            self.session.rollback()
        self.session.close()

    def emit(self, type_: str, *, subject: str, payload: dict[str, Any], actor: str | None = None) -> Event:
        event = new_event(
            type_,
            producer=self.producer,
            actor=actor or self.context.actor,
            subject=subject,
            payload=payload,
            correlation_id=self.context.request_id,
        )
        self.events.append(event)
        return event

    def commit(self) -> None:
        add_events(self.session, self._outbox, self.events)
        self.session.commit()
        self._committed = True
        self.events = []

    def rollback(self) -> None:
        self.session.rollback()
        self.events = []
