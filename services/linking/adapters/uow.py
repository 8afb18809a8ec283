"""linking's unit of work: the shared one, with linking's repositories on its session."""

from __future__ import annotations

from services.linking.adapters import tables
from services.linking.adapters.repositories import (
    CompanyRepository,
    LinkRequestRepository,
    MemberRepository,
    UserRepository,
)
from shared.inbox import forget_copies
from shared.uow import UnitOfWork


class LinkingUnitOfWork(UnitOfWork):
    companies: CompanyRepository
    members: MemberRepository
    requests: LinkRequestRepository
    users: UserRepository

    def _start(self) -> None:
        self.companies = CompanyRepository(self.session)
        self.members = MemberRepository(self.session)
        self.requests = LinkRequestRepository(self.session)
        self.users = UserRepository(self.session)

    def forget_copies(self, user_id: str) -> int:
        """Sent outbox rows and dead letters naming the person (``shared.inbox.forget_copies``)."""
        return forget_copies(self.session, tables.outbox, tables.dead_letters, user_id)
