"""linking through its Flask app on a real database (SQLite, or PostgreSQL with PORTAL_TEST_PG_URL), with
signed identity headers, a stub identity service over real HTTP, and real identity events delivered
through linking's inbox handler."""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from flask import abort, jsonify
from sqlalchemy import func, select
from werkzeug.serving import make_server

from services.linking.adapters import tables
from services.linking.app import create_app
from services.linking.bootstrap import Container, bootstrap
from services.linking.config import Settings
from services.linking.consumers import handlers_for
from shared.bus.consumer import inbox_batch_handler
from shared.config import CommonSettings
from shared.events import Event, new_event
from shared.identity import Identity
from shared.web.app import create_base_app
from shared.web.identity import require_system
from tests.support.databases import drop_database_url, new_database_url
from tests.support.net import free_port
from tests.support.signing import signed_open

ADMIN_ROLES = frozenset({"admin"})


class StubIdentity:
    """identity's ``GET /internal/users/<id>`` over real HTTP, checking the signed system identity."""

    def __init__(self, secret: bytes) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        app, _ = create_base_app("identity", secret=secret, max_content_length=1024)

        @app.get("/internal/users/<user_id>")
        def user(user_id: str):
            require_system()
            self.calls.append(user_id)
            if user_id not in self.users:
                abort(404)
            return jsonify(self.users[user_id])

        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@dataclass
class Api:
    """Calls linking as the gateway would: identity in signed headers."""

    client: Any
    secret: bytes
    container: Container
    identity: StubIdentity | None = None
    admins: set[str] = field(default_factory=set)

    def call(self, method: str, path: str, who: str | None = None, request_id: str | None = None,
             **kwargs: Any):
        roles = ADMIN_ROLES if who in self.admins else frozenset()
        ident = Identity(user_id=who, roles=roles, request_id=request_id or f"req-{uuid.uuid4().hex[:12]}")
        return signed_open(self.client, self.secret, "linking", ident, method, path, kwargs.pop("headers", None),
                           **kwargs)

    def ok(self, method: str, path: str, who: str | None, status: int = 200, **kwargs: Any) -> Any:
        resp = self.call(method, path, who, **kwargs)
        assert resp.status_code == status, (method, path, who, resp.status_code, resp.get_json(silent=True))
        return resp.get_json(silent=True)

    # --- identity's events, delivered through linking's own inbox handler ---------------------------
    def deliver(self, events: list[Event]) -> None:
        runtime = self.container.runtime
        inbox_batch_handler(runtime.write_session, tables.processed_events, handlers_for(self.container))(events)

    def register(self, *prefixes: str, phone: str | None = "+32 2 555 00 00") -> list[str]:
        """New users (random ids, so tests share a database without cleaning it) known to linking, and to
        identity with a confirmed address (what a link request needs)."""
        ids = [f"{p}-{uuid.uuid4().hex[:10]}" for p in prefixes]
        events = [registered(u, phone=phone) for u in ids]
        self.deliver(events)
        if self.identity is not None:
            for event in events:
                self.identity.users[event.payload["user_id"]] = {
                    "id": event.payload["user_id"], **{k: event.payload[k] for k in ("name", "email", "phone")},
                    "email_verified": True}
        return ids

    def admin(self) -> str:
        (admin,) = self.register("admin")
        self.admins.add(admin)
        return admin

    def outbox_size(self) -> int:
        with self.container.runtime.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(tables.outbox)).scalar_one())

    def outbox(self, **payload_match: Any) -> list[dict[str, Any]]:
        """Events linking committed whose payload contains all of ``payload_match``."""
        with self.container.runtime.engine.connect() as conn:
            rows = conn.execute(select(tables.outbox.c.body).order_by(tables.outbox.c.id)).all()
        events = [json.loads(r.body) for r in rows]
        return [e for e in events if all(e["payload"].get(k) == v for k, v in payload_match.items())]


def registered(user_id: str, phone: str | None = "+32 2 555 00 00", name: str | None = None,
               occurred_at: datetime | None = None) -> Event:
    return new_event("identity.user.registered", producer="identity", actor=user_id, subject=user_id,
                     payload={"user_id": user_id, "name": name or f"Person {user_id}",
                              "email": f"{user_id}@example.test", "phone": phone}, occurred_at=occurred_at)


def linking_settings(database_url: str, broker_url: str, secret: bytes, identity_url: str) -> Settings:
    common = CommonSettings(service="linking", database_url=database_url, broker_url=broker_url,
                            internal_secret=secret, max_content_length=64 * 1024, outbox_batch_size=500,
                            relay_interval=0.05)
    return Settings(common=common, identity_url=identity_url, identity_timeout=2.0)


@pytest.fixture(scope="module")
def linking_db(tmp_path_factory) -> Iterator[str]:
    url = new_database_url(tmp_path_factory.mktemp("linking"), "linking")
    yield url
    drop_database_url(url)


@pytest.fixture(scope="module")
def secret() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture(scope="module")
def identity_stub(secret) -> Iterator[StubIdentity]:
    stub = StubIdentity(secret)
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def api(linking_db, redis_url, secret, identity_stub) -> Iterator[Api]:
    container = bootstrap(linking_settings(linking_db, redis_url, secret, identity_stub.url))
    app = create_app(container)
    yield Api(client=app.test_client(), secret=secret, container=container, identity=identity_stub)
    container.runtime.engine.dispose()


@dataclass
class World:
    """Two companies: A (manager = primary contact, member) and B (other, its manager); ``user`` has
    a pending request to A; ``admin`` administers the portal."""

    admin: str
    manager: str
    member: str
    other: str
    user: str
    a: dict[str, Any]
    b: dict[str, Any]
    request: dict[str, Any]

    def persona(self, name: str) -> str | None:
        return None if name == "anonymous" else getattr(self, name)


def build_world(api: Api) -> World:
    admin = api.admin()
    manager, member, other, user = api.register("manager", "member", "other", "user")
    tag = uuid.uuid4().hex[:8]
    a = api.ok("POST", "/companies", admin, 201, json={"name": f"Acme {tag}", "domain": "acme.test",
                                                       "primary_contact_user_id": manager})
    b = api.ok("POST", "/companies", admin, 201, json={"name": f"Beta {tag}", "primary_contact_user_id": other})
    joined = api.ok("POST", f"/companies/{a['id']}/link-requests", member, 201, json={"share_contact": True})
    api.ok("POST", f"/link-requests/{joined['id']}/approve", manager)
    request = api.ok("POST", f"/companies/{a['id']}/link-requests", user, 201,
                     json={"share_contact": True, "message": "Please add me"})
    return World(admin, manager, member, other, user, a, b, request)


@pytest.fixture
def world(api) -> World:
    return build_world(api)
