"""content's unit of work: the repositories on one session, events into the outbox on commit."""

from __future__ import annotations

from services.content.adapters.privacy import ErasureRepository, PrivacyRepository
from services.content.adapters.repositories import (
    CollateralRepository,
    ItemRepository,
    MembershipRepository,
    QueryRepository,
)
from shared.uow import UnitOfWork


class ContentUnitOfWork(UnitOfWork):
    items: ItemRepository
    collaterals: CollateralRepository
    memberships: MembershipRepository
    queries: QueryRepository
    privacy: PrivacyRepository
    erasures: ErasureRepository

    def _start(self) -> None:
        self.items = ItemRepository(self.session)
        self.collaterals = CollateralRepository(self.session)
        self.memberships = MembershipRepository(self.session)
        self.queries = QueryRepository(self.session)
        self.privacy = PrivacyRepository(self.session)
        self.erasures = ErasureRepository(self.session)

