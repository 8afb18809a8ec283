"""content's unit of work: the repositories on one session, events into the outbox on commit."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.content.adapters import tables
from services.content.adapters.privacy import ErasureRecords, PrivacyRepository
from services.content.adapters.repositories import (
    CollateralRepository,
    ItemRepository,
    MembershipRepository,
    QueryRepository,
)
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


def joined_unit_of_work(session: Session, context: Identity | None = None) -> ContentUnitOfWork:
    """A unit of work inside a transaction its caller owns: the consumer's inbox batch.

    Its ``commit`` stages the events in the outbox and releases a savepoint; the owner commits the change,
    its events and the record that the incoming event was processed as one transaction, so a crash in
    between redelivers the event and nothing is half done (``shared.uow.UnitOfWork(nested=True)``).
    """
    return ContentUnitOfWork(lambda: session, tables.outbox, "content", context, nested=True)
