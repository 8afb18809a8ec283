"""audit against a real database (SQLite, or PostgreSQL with PORTAL_TEST_PG_URL), through the Flask
test client with headers signed as the gateway signs them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.audit.app import create_app
from services.audit.bootstrap import Container, bootstrap
from shared.events import Event
from shared.identity import Identity
from tests.support.audit_keys import audit_keys_env
from tests.support.signing import signed_open

REVIEWER = Identity(user_id="reviewer-1", roles=frozenset({"compliance"}), request_id="req-review")
SUPPORT = Identity(user_id="support-1", roles=frozenset({"support"}))


def make_event(type_: str = "gateway.request.completed", *, actor: str = "user-1", subject: str = "/api/identity/me",
               payload: dict | None = None, correlation_id: str | None = None, occurred_at: datetime | None = None,
               event_id: str | None = None) -> Event:
    if payload is None and type_ == "gateway.request.completed":
        payload = {"method": "GET", "path": subject, "status": 200, "duration_ms": 1.5}
    moment = occurred_at or datetime.now(UTC)
    return Event(event_id=event_id or str(uuid.uuid4()), type=type_, version=1,
                 occurred_at=moment.isoformat(), producer=type_.split(".")[0], actor=actor, subject=subject,
                 correlation_id=correlation_id or f"req-{uuid.uuid4().hex[:8]}", payload=payload or {})


def events_at(n: int, start: datetime | None = None, **kw: Any) -> list[Event]:
    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    return [make_event(occurred_at=start + timedelta(minutes=i), **kw) for i in range(n)]


@pytest.fixture
def audit_env(database_url, internal_secret, redis_url, monkeypatch, tmp_path) -> dict[str, str]:
    env = {"AUDIT_DATABASE_URL": database_url, "PORTAL_INTERNAL_SECRET": internal_secret, "REDIS_URL": redis_url,
           "PORTAL_AUDIT_CHECKPOINT_EVERY": "10",
           "PORTAL_AUDIT_TRENDS_K": "3", "PORTAL_AUDIT_RETENTION_DAYS": "5", **audit_keys_env(tmp_path)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def container(audit_env) -> Container:
    c = bootstrap()
    yield c
    c.runtime.engine.dispose()


class AuditClient:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.http = create_app(container).test_client()
        self.secret = container.settings.common.internal_secret

    def call(self, method: str, path: str, as_: Identity | None = None, *, query: dict | None = None,
             json: Any = None, headers: dict | None = None):
        return signed_open(self.http, self.secret, "audit", as_ or Identity(), method, path, headers,
                           query_string=query, json=json)

    def get(self, path: str, as_: Identity | None = REVIEWER, **query: Any):
        return self.call("GET", path, as_, query=query)


@pytest.fixture
def client(container) -> AuditClient:
    return AuditClient(container)


def store(container: Container, events: list[Event], batch: int = 500) -> None:
    from services.audit.handlers import store_events

    for i in range(0, len(events), batch):
        store_events(container, events[i:i + batch])
