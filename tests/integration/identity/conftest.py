"""identity against a real database (SQLite, or PostgreSQL with PORTAL_TEST_PG_URL) and real Redis,
through the Flask test client with headers signed like the gateway signs them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from services.identity.app import create_app
from services.identity.bootstrap import Container, bootstrap
from services.identity.config import Settings
from shared.identity import Identity
from tests.support.signing import signed_open

GATEWAY = Identity(user_id="system:gateway")
PASSWORD = "correct horse battery"


@dataclass
class Caller:
    """One browser/user as the gateway presents it to identity."""

    identity: Identity
    csrf_token: str | None = None
    token: str | None = None


class IdentityClient:
    def __init__(self, app, secret: bytes) -> None:
        self.app = app
        self.secret = secret
        self.http = app.test_client()

    def call(self, method: str, path: str, as_: Identity | Caller | None = None, *, json: Any = None,
             query: dict | None = None, headers: dict | None = None, data: Any = None):
        ident = as_.identity if isinstance(as_, Caller) else (as_ or Identity(client_ip="203.0.113.9"))
        return signed_open(self.http, self.secret, "identity", ident, method, path, headers, json=json, data=data,
                           query_string=query)

    # --- conveniences ---------------------------------------------------------------------------
    def register(self, email: str | None = None, password: str = PASSWORD, **extra):
        body = {"name": "Ada Lovelace", "email": email or f"ada-{uuid.uuid4().hex[:8]}@example.com",
                "password": password, **extra}
        resp = self.call("POST", "/users", json=body)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def login(self, email: str, password: str = PASSWORD, ip: str = "203.0.113.9",
              headers: dict | None = None, previous: Caller | None = None) -> Caller:
        ident = Identity(client_ip=ip, session_id=previous.identity.session_id if previous else None)
        resp = self.call("POST", "/sessions", ident, json={"email": email, "password": password},
                         headers=headers)
        assert resp.status_code == 200, resp.get_json()
        return self.caller_from_login(resp, ip)

    def caller_from_login(self, resp, ip: str = "203.0.113.9") -> Caller:
        body = resp.get_json()
        token = cookie_value(resp, "portal_session") or cookie_value(resp, "__Host-portal_session")
        assert token
        resolved = self.resolve(token)
        assert resolved.status_code == 200, resolved.get_json()
        info = resolved.get_json()
        ident = Identity(user_id=info["user_id"], roles=frozenset(info["roles"]), session_id=info["session_id"],
                         auth_time=info["auth_time"], client_ip=ip)
        return Caller(identity=ident, csrf_token=body["csrf_token"], token=token)

    def refresh(self, caller: Caller) -> Caller:
        """Re-resolve the caller's cookie (roles or auth time changed)."""
        info = self.resolve(caller.token or "").get_json()
        ident = Identity(user_id=info["user_id"], roles=frozenset(info["roles"]), session_id=info["session_id"],
                         auth_time=info["auth_time"], client_ip=caller.identity.client_ip)
        return Caller(identity=ident, csrf_token=caller.csrf_token, token=caller.token)

    def resolve(self, token: str):
        return self.call("POST", "/internal/sessions/resolve", GATEWAY, json={"token": token})


def cookie_value(resp, name: str) -> str | None:
    for header in resp.headers.getlist("Set-Cookie"):
        key, _, rest = header.partition("=")
        if key == name:
            return rest.split(";", 1)[0]
    return None


def set_cookie_header(resp, name: str) -> str | None:
    for header in resp.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return header
    return None


@pytest.fixture
def clock_file(tmp_path: Path, monkeypatch) -> Path:
    """Move identity's clock: write seconds into this file (shared.clock)."""
    path = tmp_path / "clock-offset"
    path.write_text("0")
    monkeypatch.setenv("PORTAL_CLOCK_OFFSET_FILE", str(path))
    return path


def advance(clock_file: Path, seconds: float) -> None:
    import os

    current = float(clock_file.read_text() or 0)
    clock_file.write_text(str(current + seconds))
    stat = os.stat(clock_file)  # make sure the cached offset is reread even within one mtime tick
    os.utime(clock_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


@pytest.fixture
def identity_env(monkeypatch, tmp_path: Path, database_url: str, redis_url: str, internal_secret: str):
    monkeypatch.setenv("IDENTITY_DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("PORTAL_INTERNAL_SECRET", internal_secret)
    monkeypatch.setenv("PORTAL_VAR_DIR", str(tmp_path / "var"))
    # Cheap hashes keep the suite fast; one test checks the production parameters separately.
    monkeypatch.setenv("IDENTITY_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("IDENTITY_ARGON2_TIME_COST", "1")
    monkeypatch.delenv("SMTP_URL", raising=False)
    return tmp_path


@pytest.fixture
def container(identity_env, clock_file) -> Container:
    c = bootstrap(Settings.from_env())
    yield c
    c.runtime.engine.dispose()


@pytest.fixture
def client(container: Container) -> IdentityClient:
    return IdentityClient(create_app(container), container.settings.common.internal_secret)


@pytest.fixture
def redis_client(redis_url):
    r = redis.Redis.from_url(redis_url)
    yield r
    r.close()


def outbox_events(container: Container, type_: str | None = None) -> list[dict]:
    import json

    from sqlalchemy import select

    from services.identity.adapters import tables

    with container.runtime.engine.connect() as conn:
        rows = conn.execute(select(tables.outbox.c.body).order_by(tables.outbox.c.id)).all()
    events = [json.loads(r[0]) for r in rows]
    return [e for e in events if type_ is None or e["type"] == type_]


def worker_idle(worker) -> bool:
    """Every task the Celery worker received has finished (its log says so). Stopping a worker that
    is still inside a task kills that task (the whole process group gets SIGTERM), so tests wait for
    this before ``worker.stop()``."""
    log = worker.output()
    return log.count("] received") == log.count("] succeeded in") + log.count("] raised")


def confirm_address(container: Container, user_id: str) -> None:
    """The person opened the confirmation link (that path is tested on its own): the address counts as theirs."""
    from sqlalchemy import update

    from services.identity.adapters import tables

    with container.runtime.engine.begin() as conn:
        conn.execute(update(tables.users).where(tables.users.c.id == user_id).values(email_verified=True))
