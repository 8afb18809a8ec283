"""The composition root: build everything content needs once, from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from services.content.adapters import tables
from services.content.adapters.storage import BlobStorage, LocalDiskStorage
from services.content.adapters.uow import ContentUnitOfWork
from services.content.config import SERVICE, Settings
from shared.identity import Identity
from shared.runtime import Runtime, build_runtime

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass
class Container:
    settings: Settings
    runtime: Runtime
    storage: BlobStorage

    def uow(self, context: Identity | None = None) -> ContentUnitOfWork:
        """A unit of work acting for ``context`` (its user is the events' actor, its request id their
        correlation id), on write sessions: even reads emit access events."""
        return ContentUnitOfWork(self.runtime.write_session, tables.outbox, SERVICE, context)

    def read_uow(self, context: Identity | None = None) -> ContentUnitOfWork:
        """For a use case that only reads (on SQLite it does not take the write lock)."""
        return ContentUnitOfWork(self.runtime.read_session, tables.outbox, SERVICE, context)

    def bound_uow(self, session: Session, context: Identity | None = None) -> ContentUnitOfWork:
        """A unit of work inside a transaction the caller owns (a consumer's inbox transaction): its
        ``commit`` stages the events and releases a savepoint; the owner commits the change, its events
        and the record that the incoming event was processed as one (``shared.uow.UnitOfWork(nested=True)``)."""
        return ContentUnitOfWork(lambda: session, tables.outbox, SERVICE, context, nested=True)


def make_storage(settings: Settings) -> BlobStorage:
    # Only the local adapter exists today; an object-store adapter plugs in here (CONTENT_STORAGE).
    return LocalDiskStorage(settings.storage_dir)


def bootstrap(settings: Settings | None = None, run_migrations: bool = True,
              storage: BlobStorage | None = None) -> Container:
    settings = settings or Settings.from_env()
    runtime = build_runtime(settings.common, tables.metadata, MIGRATIONS, run_migrations)
    return Container(settings=settings, runtime=runtime, storage=storage or make_storage(settings))
