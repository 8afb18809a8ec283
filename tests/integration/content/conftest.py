"""content through its Flask app on a real database (SQLite, or PostgreSQL with PORTAL_TEST_PG_URL), with
signed identity headers as the gateway sends them, and linking's membership events delivered through
content's real inbox handler."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.content.adapters import tables
from services.content.app import create_app
from services.content.bootstrap import Container, bootstrap
from services.content.config import DEFAULT_ALLOWED_TYPES, Settings
from services.content.consumers import handlers_for
from shared import clock
from shared.bus.consumer import inbox_batch_handler
from shared.config import CommonSettings
from shared.events import new_event
from shared.identity import Identity
from tests.support.signing import signed_open

COMPANY_A = "company-a"
COMPANY_B = "company-b"

# Everyone the authorization matrix asks about. A manager is a member whose role is manager.
PERSONAS: dict[str, Identity] = {
    "anonymous": Identity(),
    "user": Identity(user_id="u-user"),
    "member": Identity(user_id="u-member"),
    "manager": Identity(user_id="u-manager"),
    "other_member": Identity(user_id="u-other"),
    "editor": Identity(user_id="u-editor", roles=frozenset({"editor"})),
    "support": Identity(user_id="u-support", roles=frozenset({"support"})),
    "support2": Identity(user_id="u-support2", roles=frozenset({"support"})),
    "admin": Identity(user_id="u-admin", roles=frozenset({"admin"})),
}


def make_settings(database_url: str, broker_url: str, secret: str, storage: Path, max_upload: int = 5_000_000,
                  ) -> Settings:
    common = CommonSettings(service="content", database_url=database_url, broker_url=broker_url,
                            internal_secret=secret.encode(), max_content_length=64 * 1024,
                            outbox_batch_size=1000, relay_interval=0.05)
    return Settings(common=common, max_upload_bytes=max_upload,
                    allowed_upload_types=frozenset(DEFAULT_ALLOWED_TYPES), storage_backend="local",
                    storage_dir=storage, complaint_due_days=30, complaint_retention_days=1095)


def member_event(added: bool, company_id: str, user_id: str, role: str = "member",
                 at: datetime | None = None) -> dict[str, Any]:
    kind = "added" if added else "removed"
    event = new_event(f"linking.member.{kind}", producer="linking", actor="system:linking",
                      subject=f"user:{user_id}", occurred_at=at,
                      payload={"company_id": company_id, "user_id": user_id, "role": role})
    return event.to_dict()


@dataclass
class Content:
    client: Any
    container: Container
    secret: bytes

    def call(self, method: str, path: str, who: str | Identity = "anonymous", request_id: str | None = None,
             headers: dict[str, str] | None = None, **kwargs: Any):
        ident = PERSONAS[who] if isinstance(who, str) else who
        ident = Identity(user_id=ident.user_id, roles=ident.roles,
                         request_id=request_id or f"req-{uuid.uuid4().hex[:12]}")
        return signed_open(self.client, self.secret, "content", ident, method, path, headers, **kwargs)

    def deliver(self, *raw_events: dict[str, Any]) -> None:
        """Hand events to content's consumer exactly as its Celery task does (minus the broker)."""
        from shared.events import load_events

        handle = inbox_batch_handler(self.container.runtime.write_session, tables.processed_events,
                                     handlers_for(self.container))
        handle(load_events(list(raw_events)))

    def outbox(self, type_: str | None = None) -> list[dict[str, Any]]:
        t = tables.outbox
        query = select(t.c.body).order_by(t.c.id)
        if type_:
            query = query.where(t.c.type == type_)
        with self.container.runtime.engine.connect() as conn:
            return [json.loads(r.body) for r in conn.execute(query)]

    # --- shortcuts -----------------------------------------------------------------------------
    def item(self, visibility: str = "public", company_id: str | None = None, **extra: Any) -> dict[str, Any]:
        body = {"title": f"{visibility} item", "body": "text", "visibility": visibility, **extra}
        if company_id:
            body["company_id"] = company_id
        resp = self.call("POST", "/items", "editor", json=body)
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def attach(self, item_id: str, data: bytes = b"%PDF-1.7 brochure", filename: str = "brochure.pdf",
               content_type: str = "application/pdf") -> dict[str, Any]:
        import io

        resp = self.call("POST", f"/items/{item_id}/collaterals", "editor", content_type="multipart/form-data",
                         data={"file": (io.BytesIO(data), filename, content_type)})
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()

    def query(self, who: str, kind: str = "question", subject: str = "Subject") -> dict[str, Any]:
        resp = self.call("POST", "/queries", who, json={"subject": subject, "body": "Body", "kind": kind})
        assert resp.status_code == 201, resp.get_json()
        return resp.get_json()


@pytest.fixture
def content(database_url, redis_url, internal_secret, tmp_path) -> Content:
    settings = make_settings(database_url, redis_url, internal_secret, tmp_path / "collaterals")
    container = bootstrap(settings)
    app = create_app(container)
    app.testing = True
    yield Content(client=app.test_client(), container=container, secret=internal_secret.encode())
    container.runtime.engine.dispose()


@pytest.fixture
def memberships(content) -> None:
    """member and manager in company A, other_member in company B (through linking's events)."""
    t0 = clock.now() - timedelta(seconds=5)
    content.deliver(
        member_event(True, COMPANY_A, "u-member", at=t0),
        member_event(True, COMPANY_A, "u-manager", role="manager", at=t0),
        member_event(True, COMPANY_B, "u-other", at=t0),
    )


# --- privacy requests ---------------------------------------------------------------------------
IDENTITY_SERVICE = Identity(user_id="system:identity")


def erasure_event(user_id: str, request_id: str, replayed: bool = False) -> dict[str, Any]:
    """identity's ``identity.privacy.erasure_requested`` / ``erasure_replayed``, as it puts it on the bus
    (built by hand: content must handle the envelope whether or not identity's schema is registered)."""
    action = "erasure_replayed" if replayed else "erasure_requested"
    return {"event_id": str(uuid.uuid4()), "type": f"identity.privacy.{action}", "version": 1,
            "occurred_at": clock.isoformat(clock.now()), "producer": "identity", "actor": "system:identity",
            "subject": user_id, "correlation_id": f"req-{uuid.uuid4().hex[:12]}",
            "payload": {"request_id": request_id, "user_id": user_id}}


def mentions(container: Container, user_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every content table that names the person, by table."""
    found: dict[str, list[dict[str, Any]]] = {}
    with container.runtime.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                values = dict(row._mapping)
                if any(user_id in str(v) for v in values.values()):
                    found.setdefault(table.name, []).append(values)
    return found


def mark_outbox_sent(container: Container) -> None:
    """What the relay does once it has published the pending rows."""
    from sqlalchemy import update

    with container.runtime.engine.begin() as conn:
        conn.execute(update(tables.outbox).where(tables.outbox.c.sent_at.is_(None)).values(sent_at=clock.now()))


def dump_tables(container: Container) -> dict[str, list[dict[str, Any]]]:
    """A logical backup of content's database: every row of every table."""
    with container.runtime.engine.connect() as conn:
        return {t.name: [dict(r._mapping) for r in conn.execute(select(t))] for t in tables.metadata.sorted_tables}


def restore_tables(container: Container, backup: dict[str, list[dict[str, Any]]]) -> None:
    """Put a backup back, as an operator restoring last night's copy would."""
    from sqlalchemy import delete, insert

    with container.runtime.engine.begin() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            conn.execute(delete(table))
        for table in tables.metadata.sorted_tables:
            if backup[table.name]:
                conn.execute(insert(table), backup[table.name])


def fresh_publisher(name: str, redis_url: str):
    """A publisher (as another service) that declares the queues and bindings again.

    kombu keeps one global connection pool per broker URL, and each pooled connection remembers what it
    has already declared. tests/conftest.py empties Redis for every module, so a connection left from an
    earlier module would skip the declarations and the topic exchange would drop the events. A fresh
    pool declares them on first use.
    """
    from kombu import pools

    from shared.bus.celery_app import make_celery
    from shared.bus.publisher import CeleryPublisher

    pools.reset()
    return CeleryPublisher(make_celery(name, redis_url))
