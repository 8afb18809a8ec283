"""The composition root: build everything linking needs once, from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from services.linking.adapters import tables
from services.linking.adapters.identity_client import IdentityDirectory, UserDirectory
from services.linking.adapters.uow import LinkingUnitOfWork
from services.linking.config import SERVICE, Settings
from shared.identity import Identity
from shared.runtime import Runtime, build_runtime
from shared.web.client import ServiceClient

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass
class Container:
    settings: Settings
    runtime: Runtime
    directory: UserDirectory

    def uow(self, context: Identity | None = None) -> LinkingUnitOfWork:
        """A unit of work for a use case that changes state (takes the write lock up front on SQLite)."""
        return LinkingUnitOfWork(self.runtime.write_session, tables.outbox, SERVICE, context)

    def read_uow(self, context: Identity | None = None) -> LinkingUnitOfWork:
        """A unit of work for a read-only use case: never blocks, nor is blocked by, writers."""
        return LinkingUnitOfWork(self.runtime.read_session, tables.outbox, SERVICE, context)

    def bound_uow(self, session: Session, context: Identity | None = None) -> LinkingUnitOfWork:
        """A unit of work inside a transaction the caller owns (a consumer's inbox transaction)."""
        return LinkingUnitOfWork(lambda: session, tables.outbox, SERVICE, context, nested=True)


def bootstrap(settings: Settings | None = None, run_migrations: bool = True,
              directory: UserDirectory | None = None) -> Container:
    settings = settings or Settings.from_env()
    runtime = build_runtime(settings.common, tables.metadata, MIGRATIONS, run_migrations)
    if directory is None:
        client = ServiceClient(settings.identity_url, settings.common.internal_secret, SERVICE,
                               timeout=settings.identity_timeout, retries=1, service="identity")
        directory = IdentityDirectory(client)
    return Container(settings=settings, runtime=runtime, directory=directory)
