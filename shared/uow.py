"""The unit of work: one use case, one transaction, its events committed with it (outbox)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, Self

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.events import Event, new_event
from shared.identity import Identity
from shared.outbox import add_events


class RecordConflict(Exception):
    """The database refused the change (a unique index or another constraint): typically a concurrent
    use case got there first. Raised by the unit of work, so handlers never catch a SQLAlchemy error."""


class UnitOfWorkPort(Protocol):
    """What every service's unit of work offers its handlers; each service's ``handlers/ports.py`` extends it
    with its repositories, so handlers depend on that and never on ``adapters/uow.py``."""

    @property
    def context(self) -> Identity: ...

    @property
    def events(self) -> list[Event]:
        """The events emitted and not committed yet."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, _type: Any, error: BaseException | None, _tb: Any) -> None: ...

    def emit(self, type_: str, *, subject: str, payload: dict[str, Any], actor: str | None = None) -> Event: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class UnitOfWork:
    """``with uow: ...; uow.commit()`` — anything not committed is rolled back on exit.

    Services subclass it to attach their repositories in ``_start``. Events emitted with ``emit`` are
    written to the outbox in the same transaction, so they exist if and only if the change does.

    ``nested=True`` runs each ``with`` block in a savepoint of a transaction someone else owns (a
    consumer's inbox transaction, whose session the factory returns): ``commit`` releases the
    savepoint and stages the events, the owner commits everything at once; leaving without ``commit``
    undoes only this block, never the owner's other work.
    """

    def __init__(self, session_factory: Callable[[], Session], outbox: Table, producer: str,
                 context: Identity | None = None, *, nested: bool = False) -> None:
        self._session_factory = session_factory
        self._outbox = outbox
        self.producer = producer
        self.context = context or Identity()
        self.events: list[Event] = []
        self.session: Session
        self._nested = nested
        self._savepoint: Any = None

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        self.events = []
        self._committed = False
        if self._nested:
            self._savepoint = self.session.begin_nested()
        self._start()
        return self

    def _start(self) -> None:
        """Hook for subclasses: build repositories on ``self.session``."""

    def __exit__(self, _type: Any, error: BaseException | None, _tb: Any) -> None:
        if self._nested:
            if not self._committed and self._savepoint.is_active:
                self._savepoint.rollback()
        else:
            if not self._committed:
                self.session.rollback()
            self.session.close()  # nested: the owner of the transaction closes the session
        if isinstance(error, IntegrityError):
            raise RecordConflict(str(error.orig)) from error

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
        if self._nested:
            self._savepoint.commit()
        else:
            self.session.commit()
        self._committed = True
        self.events = []

    def rollback(self) -> None:
        if self._nested:
            if self._savepoint.is_active:
                self._savepoint.rollback()
        else:
            self.session.rollback()
        self.events = []
