"""identity and linking together on real databases, a private real Redis and real processes: both
services' Celery workers, linking under gunicorn (when a test starts it), both outbox relays (threads
of the test process), identity's app in-process (signed calls, and over HTTP for linking's fallback).

content and audit are not running: their export sections stay pending, and their erasure answers are
published by the tests themselves (``publish_answer``) until those services implement their parts.
``StandIn`` serves a stand-in export endpoint for them where a test needs every section in.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests
from flask import jsonify
from sqlalchemy import MetaData, create_engine, func, select, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from services.identity.app import create_app as identity_app
from services.identity.bootstrap import bootstrap as identity_bootstrap
from services.identity.config import Settings as IdentitySettings
from services.linking.adapters import tables as linking_tables
from services.linking.app import create_app as linking_app
from services.linking.bootstrap import bootstrap as linking_bootstrap
from shared import clock
from shared.bus.celery_app import make_celery
from shared.bus.publisher import CeleryPublisher
from shared.web.app import create_base_app
from shared.web.identity import require_system
from tests.integration.identity.conftest import IdentityClient, confirm_address, worker_idle
from tests.integration.linking.conftest import Api, linking_settings
from tests.support.databases import drop_database_url, new_database_url, pg_admin_url
from tests.support.net import free_port, wait_for_port
from tests.support.processes import VENV_BIN, Proc, base_env, celery_worker, wait_until
from tests.support.redis_server import RedisServer, redis_binary

PASSWORD = "correct horse battery"


def gunicorn(name: str, app: str, port: int, env: dict[str, str], log_dir: Path, *flags: str) -> Proc:
    return Proc(name, [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--no-control-socket",
                       *flags, app], env, log_dir)


def wait_healthy(proc: Proc, url: str, timeout: float = 60) -> None:
    def up() -> bool:
        try:
            return requests.get(url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(lambda: up() or not proc.alive(), timeout=timeout, message=f"{proc.name} up")
    except TimeoutError:
        raise AssertionError(f"{proc.name} did not start:\n{proc.output()[-3000:]}") from None
    assert proc.alive(), f"{proc.name} died:\n{proc.output()[-3000:]}"


class StandIn:
    """A stand-in for content's or audit's ``GET /internal/privacy/users/<id>/export`` (signed calls
    from system services only), on the port identity was told the service lives at."""

    def __init__(self, service: str, port: int, secret: bytes) -> None:
        app, _ = create_base_app(service, secret=secret, max_content_length=1024)

        @app.get("/internal/privacy/users/<user_id>/export")
        def export(user_id: str):
            require_system()
            return jsonify(service=service, data={"stand_in": True, "user_id": user_id})

        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@dataclass
class Platform:
    tmp: Path
    redis_url: str
    secret: str
    identity_db: str
    linking_db: str
    ports: dict[str, int]
    procs: dict[str, Proc] = field(default_factory=dict)
    identity: Any = None
    linking: Any = None
    http: IdentityClient | None = None
    api: Api | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _relays: list[threading.Thread] = field(default_factory=list)
    _servers: list[Any] = field(default_factory=list)

    # --- environment -----------------------------------------------------------------------------
    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self) -> dict[str, str]:
        return {
            "REDIS_URL": self.redis_url, "PORTAL_INTERNAL_SECRET": self.secret, "PORTAL_VAR_DIR": str(self.tmp / "var"),
            "IDENTITY_DATABASE_URL": self.identity_db, "LINKING_DATABASE_URL": self.linking_db,
            "IDENTITY_ARGON2_MEMORY_KIB": "1024", "IDENTITY_ARGON2_TIME_COST": "1",
            "IDENTITY_ERASURE_LEDGER_FILE": str(self.tmp / "ledger" / "erasures.jsonl"),
            "IDENTITY_URL": self.url("identity"), "LINKING_URL": self.url("linking"),
            "CONTENT_URL": self.url("content"), "AUDIT_URL": self.url("audit"),
            "PORTAL_PUBLIC_URL": "http://portal.test",
        }

    @contextlib.contextmanager
    def environ(self) -> Iterator[None]:
        """The services' environment in this process (settings, the ``portal`` command)."""
        with mock.patch.dict(os.environ, self.env()):
            yield

    # --- the parts ---------------------------------------------------------------------------------
    def start(self) -> Platform:
        with self.environ():
            self.identity = identity_bootstrap(IdentitySettings.from_env())
        self.linking = linking_bootstrap(linking_settings(self.linking_db, self.redis_url, self.secret.encode(),
                                                          self.url("identity")))
        app = identity_app(self.identity)
        self.http = IdentityClient(app, self.secret.encode())
        self.api = Api(client=linking_app(self.linking).test_client(), secret=self.secret.encode(),
                       container=self.linking)
        server = make_server("127.0.0.1", self.ports["identity"], app, threaded=True)
        self._servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.start_relays()
        self.start_workers()
        return self

    def start_relays(self) -> None:
        self._stop = threading.Event()
        for container in (self.identity, self.linking):
            relay = threading.Thread(target=container.runtime.relay().run_forever, args=(self._stop, 0.05),
                                     daemon=True)
            relay.start()
            self._relays.append(relay)

    def stop_relays(self) -> None:
        self._stop.set()
        for thread in self._relays:
            thread.join(timeout=10)
        self._relays.clear()

    def start_workers(self) -> None:
        env = base_env(self.env())
        for service in ("identity", "linking"):
            name = f"{service}-worker-{uuid.uuid4().hex[:6]}"
            self.procs[service] = celery_worker(service, env, self.tmp, name=name).start()

    def stop_workers(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(TimeoutError):
                wait_until(lambda p=proc: worker_idle(p), timeout=30, message=f"{proc.name} idle")
            proc.stop()
        self.procs.clear()

    def start_linking_web(self) -> Proc:
        proc = gunicorn(f"linking-web-{uuid.uuid4().hex[:6]}", "services.linking.wsgi:app", self.ports["linking"],
                        base_env(self.env()), self.tmp, "--workers", "1").start()
        self.procs["linking-web"] = proc
        wait_healthy(proc, self.url("linking"))
        return proc

    def stand_in(self, service: str) -> StandIn:
        return StandIn(service, self.ports[service], self.secret.encode())

    def quiesce(self) -> None:
        """Nothing connected to either database (to copy or restore them): outboxes relayed, workers and
        relays stopped, connection pools closed."""
        for container in (self.identity, self.linking):
            wait_until(lambda c=container: not c.runtime.relay().pending(), timeout=30, message="outbox relayed")
        self.stop_workers()
        self.stop_relays()
        for container in (self.identity, self.linking):
            container.runtime.engine.dispose()

    def resume(self) -> None:
        self.start_relays()
        self.start_workers()

    def stop(self) -> None:
        self.stop_workers()
        self.stop_relays()
        for server in self._servers:
            server.shutdown()
        for container in (self.identity, self.linking):
            if container is not None:
                container.runtime.engine.dispose()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-4000:]}" for p in self.procs.values())

    # --- conveniences --------------------------------------------------------------------------------
    def person(self, tag: str = "") -> tuple[dict[str, Any], Any]:
        """A registered, logged-in person with a confirmed address (a link request needs one) whose
        registration linking's worker has projected."""
        unique = uuid.uuid4().hex[:8]
        user = self.http.register(f"{tag or 'person'}-{unique}@example.com", name=f"Name{unique} Surname{unique}",
                                  phone=f"+32 4{int(unique, 16) % 10**8:08d}")
        confirm_address(self.identity, user["id"])
        wait_until(lambda: self.projected(user["id"]) is not None, timeout=60, message="linking projected the user")
        return user, self.http.login(user["email"])

    def projected(self, user_id: str) -> Any:
        with self.linking.runtime.engine.connect() as conn:
            return conn.execute(select(linking_tables.users).where(linking_tables.users.c.user_id == user_id)).first()

    def processed(self, container: Any, event_id: str) -> bool:
        table = container.runtime.metadata.tables["processed_events"]
        with container.runtime.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)
                                .where(table.c.event_id == event_id)).scalar_one() == 1

    def outbox(self, container: Any, type_: str) -> list[dict[str, Any]]:
        table = container.runtime.metadata.tables["outbox"]
        with container.runtime.engine.connect() as conn:
            rows = conn.execute(select(table.c.body).where(table.c.type == type_).order_by(table.c.id)).all()
        return [json.loads(r.body) for r in rows]

    def publish_answer(self, service: str, request_id: str, user_id: str) -> dict[str, Any]:
        """What content or audit will answer to an erasure (docs/privacy.md), published to the broker."""
        event = {"event_id": str(uuid.uuid4()), "type": f"{service}.privacy.erasure_completed", "version": 1,
                 "occurred_at": clock.isoformat(clock.now()), "producer": service, "actor": f"system:{service}",
                 "subject": user_id, "correlation_id": None,
                 "payload": {"request_id": request_id, "user_id": user_id,
                             "erased": [f"everything {service} held"],
                             "kept": [{"data": f"{service} records", "reason": "legal period",
                                       "until": "2031-01-01"}]}}
        CeleryPublisher(make_celery(f"{service}-stand-in", self.redis_url)).publish([event])
        return event

    def erasure(self, request_id: str) -> dict[str, Any]:
        resp = self.http.call("GET", f"/privacy/erasures/{request_id}")
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    def dead_letters(self, container: Any) -> list[dict[str, Any]]:
        return container.runtime.dead_letters().entries()


def text_of(database_url: str, skip: tuple[str, ...] = ()) -> str:
    """Every row of every table of a database, as one text (to search for what must be gone)."""
    engine = create_engine(database_url)
    metadata = MetaData()
    metadata.reflect(engine)
    parts = []
    with engine.connect() as conn:
        for name, table in metadata.tables.items():
            if name not in skip:
                parts.extend(f"{name}: {tuple(row)}" for row in conn.execute(select(table)))
    engine.dispose()
    return "\n".join(parts)


# --- backups: a SQLite file copy, or a PostgreSQL template copy ----------------------------------------------

def backup(database_url: str, tmp: Path) -> str:
    """A copy of the database as it is now; call while nothing is connected to it."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        source = Path(url.database or "")
        engine = create_engine(database_url)
        with engine.connect() as conn:  # move the WAL into the file, so the file alone is the database
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        copy = tmp / f"backup-{uuid.uuid4().hex[:6]}-{source.name}"
        shutil.copyfile(source, copy)
        return str(copy)
    name = f"bk_{uuid.uuid4().hex[:10]}"
    _pg(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
    return name


def restore(database_url: str, copy: str) -> None:
    """Put the copy back in place of the database; call while nothing is connected to it."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        target = Path(url.database or "")
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        shutil.copyfile(copy, target)
        return
    _pg(f'DROP DATABASE "{url.database}" WITH (FORCE)')
    _pg(f'CREATE DATABASE "{url.database}" TEMPLATE "{copy}"')


def drop_backup(database_url: str, copy: str) -> None:
    if make_url(database_url).get_backend_name() == "postgresql":
        _pg(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


def _pg(statement: str) -> None:
    engine = create_engine(pg_admin_url() or "", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


def private_redis() -> RedisServer:
    """A redis-server of this platform's own, even when PORTAL_TEST_REDIS_URL names a shared one: the
    replay test stops and restarts workers while the package's platform still exists, and neither may
    wipe or share the other's queues."""
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="portal-privacy-redis-")
    process = subprocess.Popen([redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", workdir, "--loglevel", "warning"],
                               stdout=subprocess.DEVNULL)
    wait_for_port(port)
    return RedisServer(url=f"redis://127.0.0.1:{port}/0", process=process)


@contextlib.contextmanager
def running_platform(tmp: Path) -> Iterator[Platform]:
    redis_server = private_redis()
    identity_db, linking_db = new_database_url(tmp, "identity"), new_database_url(tmp, "linking")
    platform = Platform(tmp=tmp, redis_url=redis_server.url, secret=secrets.token_hex(16), identity_db=identity_db,
                        linking_db=linking_db, ports={s: free_port() for s in ("identity", "linking", "content",
                                                                                  "audit")})
    try:
        yield platform.start()
    finally:
        platform.stop()
        redis_server.stop()
        drop_database_url(identity_db)
        drop_database_url(linking_db)


@pytest.fixture(scope="package")
def platform(tmp_path_factory) -> Iterator[Platform]:
    """One platform for the package's tests (each test uses people of its own)."""
    with running_platform(tmp_path_factory.mktemp("privacy")) as running:
        yield running

