"""linking's part of privacy requests on a real database: the internal export route (system callers
only) and the erasure delivered through linking's own inbox handler."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from services.linking.adapters import tables
from services.linking.domain.users import erased_key
from shared.events import new_event
from tests.integration.linking.conftest import registered

pytestmark = pytest.mark.integration

IDENTITY = "system:identity"


def erasure(user_id: str, request_id: str | None = None, type_: str = "identity.privacy.erasure_requested"):
    return new_event(type_, producer="identity", actor=user_id, subject=user_id,
                     payload={"request_id": request_id or str(uuid.uuid4()), "user_id": user_id})


def test_export_route_answers_other_services_only(api, world):
    path = f"/internal/privacy/users/{world.user}/export"
    body = api.ok("GET", path, IDENTITY)
    assert body["service"] == "linking"
    data = body["data"]
    assert data["contact_details"]["email"] == f"{world.user}@example.test"
    [request] = data["link_requests"]
    assert (request["message"], request["status"], request["company"]["id"]) == ("Please add me", "pending",
                                                                                  world.a["id"])
    assert data["contact_shares"][0]["still_visible"] is True
    manager = api.ok("GET", f"/internal/privacy/users/{world.manager}/export", IDENTITY)["data"]
    assert manager["memberships"][0]["primary_contact"] is True
    assert [d["outcome"] for d in manager["decisions_made"]] == ["approved"]
    # someone linking knows nothing about: an empty section, not a 404
    empty = api.ok("GET", "/internal/privacy/users/nobody-at-all/export", IDENTITY)["data"]
    assert empty == {"contact_details": None, "link_requests": [], "contact_shares": [], "memberships": [],
                     "decisions_made": []}
    for who in (world.user, world.admin):
        resp = api.call("GET", path, who)
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert api.client.get(path).status_code == 401
    assert api.call("POST", path, IDENTITY).status_code == 405
    too_long = api.call("GET", f"/internal/privacy/users/{'x' * 65}/export", IDENTITY)
    assert too_long.status_code == 422 and "user_id" in too_long.get_json()["error"]["fields"]


def test_erasure_through_the_inbox_leaves_nothing_identifying(api, world):
    request_id = str(uuid.uuid4())
    api.deliver([erasure(world.member, request_id)])

    with api.container.runtime.engine.connect() as conn:
        assert conn.execute(select(tables.users).where(tables.users.c.user_id == world.member)).first() is None
        assert conn.execute(select(tables.members).where(tables.members.c.user_id == world.member)).first() is None
        assert conn.execute(select(tables.link_requests)
                            .where(tables.link_requests.c.user_id == world.member)).first() is None
        tombstone = conn.execute(select(tables.erased_users.c.request_id)
                                 .where(tables.erased_users.c.user_key == erased_key(world.member))).scalar_one()
    assert tombstone == request_id
    [answer] = api.outbox(request_id=request_id)
    assert answer["type"] == "linking.privacy.erasure_completed" and answer["actor"] == "system:linking"
    assert "one-way key" in answer["payload"]["kept"][-1]["data"] and answer["payload"]["replayed"] is False
    [removed] = [e for e in api.outbox(user_id=world.member, reason="erased") if e["type"] == "linking.member.removed"]
    assert removed["payload"]["company_id"] == world.a["id"]
    members = api.ok("GET", f"/companies/{world.a['id']}/members", world.manager)["items"]
    assert world.member not in [m["user_id"] for m in members]

    # a late registration or correction never brings them back; a replay answers again
    api.deliver([registered(world.member)])
    api.deliver([erasure(world.member, request_id, "identity.privacy.erasure_replayed")])
    with api.container.runtime.engine.connect() as conn:
        assert conn.execute(select(tables.users).where(tables.users.c.user_id == world.member)).first() is None
    assert [e["payload"]["replayed"] for e in api.outbox(request_id=request_id)] == [False, True]


def test_a_pending_requester_is_withdrawn_and_managers_no_longer_see_them(api, world):
    api.deliver([erasure(world.user)])
    assert api.ok("GET", f"/companies/{world.a['id']}/link-requests", world.manager)["items"] == []
    [withdrawn] = [e for e in api.outbox(request_id=world.request["id"]) if e["type"] == "linking.link.withdrawn"]
    assert withdrawn["payload"]["user_id"] == world.user


def test_erasure_removes_dead_letters_naming_the_person_but_keeps_privacy_requests(api, world):
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    dead = [{"event_id": str(uuid.uuid4()), "type": t, "body": f'{{"payload": {{"user_id": "{u}"}}}}', "error": "x",
             "attempts": 3, "failed_at": now}
            for t, u in (("identity.user.updated", world.member), ("identity.privacy.erasure_requested", world.member),
                         ("identity.user.updated", world.manager))]
    with api.container.runtime.engine.begin() as conn:
        conn.execute(tables.dead_letters.insert(), dead)
    request_id = str(uuid.uuid4())
    api.deliver([erasure(world.member, request_id)])
    with api.container.runtime.engine.connect() as conn:
        left = [(r.type, r.body) for r in conn.execute(select(tables.dead_letters.c.type, tables.dead_letters.c.body))]
    assert sorted(t for t, _ in left) == ["identity.privacy.erasure_requested", "identity.user.updated"]
    assert not [b for t, b in left if t == "identity.user.updated" and world.member in b]
    [answer] = api.outbox(request_id=request_id)
    assert any("dead letters): 1" in line for line in answer["payload"]["erased"])
