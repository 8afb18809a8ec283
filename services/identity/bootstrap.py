"""The composition root: build everything identity needs once, from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.identity.adapters import tables
from services.identity.adapters.counters import RedisCounters
from services.identity.adapters.mailer import make_mailer
from services.identity.adapters.passwords import Argon2Hasher
from services.identity.adapters.uow import IdentityUnitOfWork
from services.identity.config import SERVICE, Settings
from shared.runtime import Runtime, build_runtime
from shared.web.identity import Identity

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass
class Container:
    settings: Settings
    runtime: Runtime
    hasher: Any
    counters: Any
    mailer: Any

    def uow(self, context: Identity | None = None) -> IdentityUnitOfWork:
        """A unit of work whose transactions take the write lock up front (SQLite)."""
        return IdentityUnitOfWork(self.runtime.write_session, tables.outbox, SERVICE, context)

    def read_uow(self, context: Identity | None = None) -> IdentityUnitOfWork:
        """For reads only: never blocks or waits for writers."""
        return IdentityUnitOfWork(self.runtime.read_session, tables.outbox, SERVICE, context)


def bootstrap(settings: Settings | None = None, run_migrations: bool = True) -> Container:
    settings = settings or Settings.from_env()
    runtime = build_runtime(settings.common, tables.metadata, MIGRATIONS, run_migrations)
    hasher = Argon2Hasher(settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism)
    return Container(settings=settings, runtime=runtime, hasher=hasher,
                     counters=RedisCounters(settings.common.broker_url),
                     mailer=make_mailer(settings.smtp_url, settings.mail_dir, settings.mail_from))
