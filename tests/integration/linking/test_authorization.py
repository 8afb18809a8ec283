"""Who may call what: every route against anonymous, an unrelated user (who has a pending request),
a member, another company's manager, the company's manager (its primary contact) and an admin."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.linking.conftest import World, build_world

pytestmark = pytest.mark.integration

PERSONAS = ("anonymous", "user", "member", "other", "manager", "admin")

# route -> (method, path(world), body(world) or None, {persona: status})
Route = tuple[str, Callable[[World], str], Callable[[World], Any] | None, dict[str, int]]


def _statuses(anonymous, user, member, other, manager, admin) -> dict[str, int]:
    return dict(zip(PERSONAS, (anonymous, user, member, other, manager, admin), strict=True))


MANAGERS_ONLY = _statuses(401, 403, 403, 403, 200, 200)
ANY_USER = _statuses(401, 200, 200, 200, 200, 200)

ROUTES: dict[str, Route] = {
    "create company": ("POST", lambda w: "/companies",
                       lambda w: {"name": f"New {uuid.uuid4().hex}", "primary_contact_user_id": w.user},
                       _statuses(401, 403, 403, 403, 403, 201)),
    "search companies": ("GET", lambda w: "/companies?q=acme", None, ANY_USER),
    "get company": ("GET", lambda w: f"/companies/{w.a['id']}", None, ANY_USER),
    "transfer primary contact": ("PUT", lambda w: f"/companies/{w.a['id']}/primary-contact",
                                 lambda w: {"user_id": w.member}, MANAGERS_ONLY),
    "list members": ("GET", lambda w: f"/companies/{w.a['id']}/members", None, MANAGERS_ONLY),
    "change role": ("PATCH", lambda w: f"/companies/{w.a['id']}/members/{w.member}",
                    lambda w: {"role": "manager"}, MANAGERS_ONLY),
    # a member may remove themself: that is leaving
    "remove member": ("DELETE", lambda w: f"/companies/{w.a['id']}/members/{w.member}", None,
                      _statuses(401, 403, 204, 403, 204, 204)),
    # user already has a pending request, member and manager are members already
    "request link": ("POST", lambda w: f"/companies/{w.a['id']}/link-requests",
                     lambda w: {"share_contact": True}, _statuses(401, 409, 409, 201, 409, 201)),
    "list link requests": ("GET", lambda w: f"/companies/{w.a['id']}/link-requests", None, MANAGERS_ONLY),
    "approve": ("POST", lambda w: f"/link-requests/{w.request['id']}/approve", None, MANAGERS_ONLY),
    "reject": ("POST", lambda w: f"/link-requests/{w.request['id']}/reject", lambda w: {"reason": "no"},
               MANAGERS_ONLY),
    # only the requester (user) withdraws
    "withdraw": ("POST", lambda w: f"/link-requests/{w.request['id']}/withdraw", None,
                 _statuses(401, 200, 403, 403, 403, 403)),
    "my companies": ("GET", lambda w: "/me/companies", None, ANY_USER),
    "my link requests": ("GET", lambda w: "/me/link-requests", None, ANY_USER),
}

CASES = [(route, persona) for route in ROUTES for persona in PERSONAS]


@pytest.fixture(scope="module")
def shared_world(api) -> World:
    """Read-only routes share one world; state-changing ones get a fresh world each."""
    return build_world(api)


@pytest.mark.parametrize(("route", "persona"), CASES, ids=[f"{r}-{p}" for r, p in CASES])
def test_authorization_matrix(api, shared_world, route, persona):
    method, path, body, expected = ROUTES[route]
    world = shared_world if method == "GET" else build_world(api)
    before = api.outbox_size()
    kwargs = {"json": body(world)} if body else {}
    resp = api.call(method, path(world), world.persona(persona), **kwargs)
    assert resp.status_code == expected[persona], resp.get_json(silent=True)
    if resp.status_code >= 400:
        error = resp.get_json()["error"]
        assert set(error) == {"code", "message", "fields"} and error["code"]
        assert api.outbox_size() == before  # a refused call changes nothing
        assert set(resp.get_json()) == {"error"}  # and shows nothing


def test_pending_requests_show_exactly_the_shared_contact(api, world):
    listed = api.ok("GET", f"/companies/{world.a['id']}/link-requests", world.manager)["items"]
    (item,) = listed
    assert set(item) == {"id", "company_id", "status", "message", "created_at", "contact"}
    assert item["contact"] == {"name": f"Person {world.user}", "email": f"{world.user}@example.test",
                               "phone": "+32 2 555 00 00"}
    assert item["id"] == world.request["id"] and item["message"] == "Please add me"


def test_no_cross_company_reads_or_decisions(api, world):
    """B's manager, looking at A: nothing; A's manager looking at B: nothing."""
    asker, = api.register("asker")
    to_b = api.ok("POST", f"/companies/{world.b['id']}/link-requests", asker, 201, json={"share_contact": True})
    for path in (f"/companies/{world.b['id']}/link-requests", f"/companies/{world.b['id']}/members"):
        assert api.call("GET", path, world.manager).status_code == 403
    for action in ("approve", "reject"):
        assert api.call("POST", f"/link-requests/{to_b['id']}/{action}", world.manager).status_code == 403
    assert api.call("DELETE", f"/companies/{world.b['id']}/members/{world.other}", world.manager).status_code == 403
    assert api.call("PATCH", f"/companies/{world.b['id']}/members/{world.other}", world.manager,
                    json={"role": "member"}).status_code == 403


def test_search_shows_public_fields_only(api, world):
    found = api.ok("GET", f"/companies?q={world.a['name']}", world.user)["items"]
    assert found == [{"id": world.a["id"], "name": world.a["name"], "domain": "acme.test"}]


def test_unsigned_or_forged_calls_are_refused(api, world):
    resp = api.client.get("/companies")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "untrusted_caller"
    forged = api.call("GET", "/companies", world.user, headers={"X-Portal-Roles": "admin"})
    assert forged.status_code == 401
