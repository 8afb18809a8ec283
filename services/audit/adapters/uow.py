"""audit's unit of work: the chained store and the compliance repositories on one session."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Table
from sqlalchemy.orm import Session

from services.audit.adapters import tables
from services.audit.adapters.anchor import HeadAnchor
from services.audit.adapters.chain_store import ChainStore
from services.audit.adapters.person_keys import PersonKeys
from services.audit.adapters.repositories import ComplianceRepository, SearchRepository
from services.audit.domain.sealing import person_token
from shared.identity import Identity
from shared.inbox import forget_copies
from shared.uow import UnitOfWork

if TYPE_CHECKING:
    from services.audit.config import Settings


class AuditUnitOfWork(UnitOfWork):
    chain: ChainStore
    search: SearchRepository
    compliance: ComplianceRepository
    keys: PersonKeys

    def __init__(self, session_factory: Callable[[], Session], outbox: Table, producer: str,
                 context: Identity | None, settings: Settings, anchor: HeadAnchor, snapshot: bool = False) -> None:
        super().__init__(session_factory, outbox, producer, context)
        self.settings = settings
        self.anchor = anchor
        self.snapshot = snapshot

    def __enter__(self) -> AuditUnitOfWork:
        super().__enter__()
        return self

    def _start(self) -> None:
        if self.snapshot and self.session.get_bind().dialect.name == "postgresql":
            # Every read of this unit of work sees one snapshot (SQLite's read transaction already does).
            self.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        s = self.settings
        self.keys = PersonKeys(self.session, s.wrap_key, s.previous_wrap_keys)
        self.chain = ChainStore(self.session, s.signer, s.checkpoint_every, self.keys, s.actor_index_key, s.chains)
        self.search = SearchRepository(self.session, s.actor_index_key)
        self.compliance = ComplianceRepository(self.session, s.person_key)

    def commit(self) -> None:
        """Commit, then append the head signed in this transaction to the external anchor (after the
        commit: the anchor may lag the database after a crash, never lead it)."""
        super().commit()
        head, self.chain.pending_head = self.chain.pending_head, None
        if head is not None:
            self.anchor.record(head)

    def forget_copies(self, user_id: str) -> int:
        """Sent outbox rows and dead letters naming the person (``shared.inbox.forget_copies``)."""
        return forget_copies(self.session, tables.outbox, tables.dead_letters, user_id)

    def token(self, actor: str) -> str:
        """The blind index of an actor or user id (search key, person key name)."""
        return person_token(self.settings.actor_index_key, actor)
