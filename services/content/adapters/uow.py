"""content's unit of work: the repositories on one session, events into the outbox on commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.content.adapters import tables
from services.content.adapters.privacy import ErasureRecords, PrivacyRepository
from services.content.adapters.repositories import (
    CollateralRepository,
    ItemRepository,
    MembershipRepository,
    QueryRepository,
)
from shared.outbox import add_events
from shared.uow import UnitOfWork
from shared.web.identity import Identity


class ContentUnitOfWork(UnitOfWork):
    items: ItemRepository
    collaterals: CollateralRepository
    memberships: MembershipRepository
    queries: QueryRepository
    privacy: PrivacyRepository
    erasures: ErasureRecords

    def _start(self) -> None:
        self.items = ItemRepository(self.session)
        self.collaterals = CollateralRepository(self.session)
        self.memberships = MembershipRepository(self.session)
        self.queries = QueryRepository(self.session)
        self.privacy = PrivacyRepository(self.session)
        self.erasures = ErasureRecords(self.session)


class JoinedUnitOfWork(ContentUnitOfWork):
    """A unit of work inside a transaction its caller owns: the consumer's inbox batch.

    ``commit`` stages the events in the outbox on that session and leaves committing (or rolling back)
    to the owner, so the change, its events and the record that the incoming event was processed are
    one transaction: a crash in between redelivers the event and nothing is half done.
    """

    def __init__(self, session: Session, context: Identity | None = None) -> None:
        super().__init__(lambda: session, tables.outbox, "content", context)

    def __exit__(self, *exc: Any) -> None:
        # The session is the batch's: an exception propagates and the batch rolls everything back.
        self.events = []

    def commit(self) -> None:
        add_events(self.session, self._outbox, self.events)
        self.session.flush()
        self._committed = True
        self.events = []
