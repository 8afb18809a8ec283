"""The composition root: build everything identity needs once, from settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from services.identity.adapters import tables
from services.identity.adapters.counters import RedisCounters
from services.identity.adapters.ledger_file import LedgerFile
from services.identity.adapters.mailer import make_mailer
from services.identity.adapters.passwords import Argon2Hasher
from services.identity.adapters.privacy_sources import ExportSource, HttpExportSource
from services.identity.adapters.uow import IdentityUnitOfWork
from services.identity.config import SERVICE, Settings
from services.identity.handlers.ports import Counters, ErasureLedgerCopy, Mailer, PasswordHasher
from shared.config import service_url
from shared.identity import Identity
from shared.runtime import Runtime, build_runtime
from shared.web.client import ServiceClient

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass
class Container:
    settings: Settings
    runtime: Runtime
    hasher: PasswordHasher
    counters: Counters
    mailer: Mailer
    ledger_file: ErasureLedgerCopy  # the erasure ledger's copy outside the database
    export_sources: Mapping[str, ExportSource] = field(default_factory=dict)

    def uow(self, context: Identity | None = None) -> IdentityUnitOfWork:
        """A unit of work whose transactions take the write lock up front (SQLite)."""
        return IdentityUnitOfWork(self.runtime.write_session, tables.outbox, SERVICE, context,
                                  throttle_secret=self.settings.common.internal_secret)

    def read_uow(self, context: Identity | None = None) -> IdentityUnitOfWork:
        """For reads only: never blocks or waits for writers."""
        return IdentityUnitOfWork(self.runtime.read_session, tables.outbox, SERVICE, context,
                                  throttle_secret=self.settings.common.internal_secret)

    def bound_uow(self, session: Session, context: Identity | None = None) -> IdentityUnitOfWork:
        """A unit of work inside a transaction the caller owns (a consumer's inbox transaction)."""
        return IdentityUnitOfWork(lambda: session, tables.outbox, SERVICE, context, nested=True,
                                  throttle_secret=self.settings.common.internal_secret)


def bootstrap(settings: Settings | None = None, run_migrations: bool = True) -> Container:
    settings = settings or Settings.from_env()
    runtime = build_runtime(settings.common, tables.metadata, MIGRATIONS, run_migrations)
    hasher = Argon2Hasher(settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)
    return Container(settings=settings, runtime=runtime, hasher=hasher,
                     counters=RedisCounters(settings.common.counters_url),
                     mailer=make_mailer(settings.smtp_url, settings.mail_dir, settings.mail_from),
                     export_sources=export_sources(settings), ledger_file=LedgerFile(settings.erasure_ledger_file))


def export_sources(settings: Settings) -> dict[str, ExportSource]:
    """Each privacy service's export endpoint (``<SERVICE>_URL``), called as ``system:identity``."""
    return {name: HttpExportSource(name, ServiceClient(service_url(name), settings.common.internal_secret, SERVICE,
                                                       timeout=settings.privacy_timeout, retries=1, service=name))
            for name in settings.privacy_services}
