"""The users projection is built by linking's real Celery worker from identity's events on a real Redis
(the private one of the ``redis_url`` fixture), exactly as identity's outbox relay publishes them."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.linking.adapters import tables
from services.linking.app import create_app
from services.linking.bootstrap import bootstrap
from shared import clock
from shared.bus.celery_app import make_celery
from shared.bus.publisher import CeleryPublisher
from shared.events import new_event
from tests.integration.linking.conftest import Api, linking_settings, registered
from tests.support.net import free_port
from tests.support.processes import base_env, celery_worker, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def worker_setup(database_url, redis_url, tmp_path):
    secret = secrets.token_hex(16)
    # identity is down for this app: whatever it shows must come from the projection
    container = bootstrap(linking_settings(database_url, redis_url, secret.encode(),
                                           f"http://127.0.0.1:{free_port()}"))
    publisher = CeleryPublisher(make_celery("identity-under-test", redis_url))
    worker = celery_worker("linking", base_env({"LINKING_DATABASE_URL": database_url, "REDIS_URL": redis_url,
                                                "PORTAL_INTERNAL_SECRET": secret}), tmp_path,
                           name=f"linking-{uuid.uuid4().hex[:6]}")
    worker.start()
    yield container, publisher, worker, secret.encode()
    worker.stop()
    container.runtime.engine.dispose()


def projected(container, user_id: str):
    with container.runtime.engine.connect() as conn:
        return conn.execute(select(tables.users).where(tables.users.c.user_id == user_id)).first()


def processed(container, *event_ids: str) -> bool:
    with container.runtime.engine.connect() as conn:
        found = conn.execute(select(func.count()).select_from(tables.processed_events)
                             .where(tables.processed_events.c.event_id.in_(event_ids))).scalar_one()
    return found == len(event_ids)


def test_worker_builds_the_user_projection_from_identity_events(worker_setup):
    container, publisher, worker, secret = worker_setup
    user_id = f"user-{uuid.uuid4().hex[:8]}"
    t0 = clock.now() - timedelta(seconds=10)
    signup = registered(user_id, occurred_at=t0)
    correction = new_event("identity.user.updated", producer="identity", actor=user_id, subject=user_id,
                           payload={"user_id": user_id, "changed": ["email", "phone"], "name": f"Person {user_id}",
                                    "email": "fixed@example.test", "phone": None},
                           occurred_at=t0 + timedelta(seconds=5))
    # a user event type linking has no handler for (a newer identity may add some): consumed, ignored
    noise = replace(signup, event_id=str(uuid.uuid4()), type="identity.user.nicknamed", payload={"user_id": user_id})
    # The correction is published before the registration it follows (different types, different messages).
    publisher.publish([correction.to_dict(), noise.to_dict()])
    publisher.publish([signup.to_dict()])
    wait_until(lambda: processed(container, signup.event_id, correction.event_id, noise.event_id), timeout=60,
               message="events processed by the worker")
    row = projected(container, user_id)
    assert (row.name, row.email, row.phone) == (f"Person {user_id}", "fixed@example.test", None)

    # At least once: the same registration again changes nothing (deduplicated by event_id), and a
    # newer event still applies.
    rename = new_event("identity.user.updated", producer="identity", actor=user_id, subject=user_id,
                       payload={"user_id": user_id, "changed": ["name"], "name": "Renamed",
                                "email": "fixed@example.test", "phone": None})
    publisher.publish([signup.to_dict()])
    publisher.publish([rename.to_dict()])
    wait_until(lambda: processed(container, rename.event_id), timeout=30, message="rename processed")
    row = projected(container, user_id)
    assert (row.name, row.email, row.phone) == ("Renamed", "fixed@example.test", None)
    assert container.runtime.dead_letters().entries() == []

    # linking uses the projection: identity is unreachable for this app, yet naming the person a company's
    # primary contact succeeds and the members list shows the projected contact details. (A link request
    # would not: it asks identity whether the address is confirmed.)
    api = Api(client=create_app(container).test_client(), secret=secret, container=container)
    admin = api.admin()
    company = api.ok("POST", "/companies", admin, 201,
                     json={"name": "Projected Co", "primary_contact_user_id": user_id})
    (item,) = api.ok("GET", f"/companies/{company['id']}/members", admin)["items"]
    assert (item["user_id"], item["name"], item["email"]) == (user_id, "Renamed", "fixed@example.test")
