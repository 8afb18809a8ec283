"""What every service's ``bootstrap.py`` composes: engine, sessions, outbox, broker, relay, readiness."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import Engine, MetaData, Table
from sqlalchemy.orm import Session, sessionmaker

from shared.bus.celery_app import make_celery
from shared.bus.publisher import CeleryPublisher
from shared.config import CommonSettings, env_bool
from shared.db import make_engine, make_session_factory, migrate, ping, write_session_factory
from shared.inbox import DeadLetterStore
from shared.metrics import StateReader
from shared.outbox import OutboxRelay
from shared.store_metrics import dead_letter_reader, outbox_reader, queue_depth_reader


@dataclass
class Runtime:
    settings: CommonSettings
    engine: Engine
    metadata: MetaData
    migrations_dir: Path
    read_session: sessionmaker[Session]
    write_session: sessionmaker[Session]
    _celery: dict[bool, Celery] = field(default_factory=dict)

    @property
    def service(self) -> str:
        return self.settings.service

    def table(self, name: str) -> Table:
        return self.metadata.tables[name]

    def migrate(self) -> None:
        migrate(self.engine, self.migrations_dir, self.service)

    def celery(self, consume: bool = False) -> Celery:
        """The Celery app: ``consume=True`` for this service's worker (reads its own queue)."""
        app = self._celery.get(consume)
        if app is None:
            app = make_celery(f"portal.{self.service}", self.settings.broker_url,
                              consume_queue=self.service if consume else None)
            self._celery[consume] = app
        return app

    def publisher(self) -> CeleryPublisher:
        return CeleryPublisher(self.celery())

    def relay(self) -> OutboxRelay:
        return OutboxRelay(self.engine, self.table("outbox"), self.publisher(), self.settings.outbox_batch_size,
                           service=self.service)

    def dead_letters(self) -> DeadLetterStore:
        return DeadLetterStore(self.write_session, self.table("dead_letters"))

    def check_database(self) -> None:
        ping(self.engine)

    def check_broker(self) -> None:
        with self.celery().connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)

    def readiness(self) -> dict[str, Any]:
        return {"database": self.check_database, "broker": self.check_broker}

    def metrics_state(self, consumes: bool = True) -> list[StateReader]:
        """The state gauges of this service's stores (``shared/store_metrics.py``)."""
        tables = self.metadata.tables
        readers = []
        if "outbox" in tables:
            readers.append(outbox_reader(self.service, self.engine, tables["outbox"]))
        if "dead_letters" in tables:
            readers.append(dead_letter_reader(self.service, self.engine, tables["dead_letters"]))
        if consumes:
            readers.append(queue_depth_reader(self.service, self.settings.broker_url))
        return readers


def build_runtime(settings: CommonSettings, metadata: MetaData, migrations_dir: Path,
                  run_migrations: bool = True) -> Runtime:
    engine = make_engine(settings.database_url)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        metadata=metadata,
        migrations_dir=migrations_dir,
        read_session=make_session_factory(engine),
        write_session=write_session_factory(engine),
    )
    if run_migrations and migrate_on_start():
        runtime.migrate()
    return runtime


def migrate_on_start() -> bool:
    """Each web process and worker applies its migrations when it starts (a no-op once applied), unless
    ``PORTAL_MIGRATE_ON_START=0``: ``portal run`` migrates every service before it starts any child and
    gives its children that, so a child it restarts after a crash skips Alembic (its import and the
    check cost a restarted service about a fifth of its start-up)."""
    return env_bool("PORTAL_MIGRATE_ON_START", True)
