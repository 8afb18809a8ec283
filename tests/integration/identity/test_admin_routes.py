"""The administrators' routes on a real database: GET /staff, POST /staff/roles, GET/POST /policy/versions.
Authorization before input, the contract's error shape, and the events each change writes."""

from __future__ import annotations

import pytest

from services.identity.handlers.staff import grant_role
from shared.identity import Identity
from tests.integration.identity.conftest import PASSWORD, advance, confirm_address, outbox_events

pytestmark = pytest.mark.integration

ADMIN = Identity(user_id="u-admin", roles=frozenset({"admin"}), client_ip="203.0.113.9")
CALLERS = {
    "anonymous": Identity(client_ip="203.0.113.9"),
    "user": Identity(user_id="u-user", client_ip="203.0.113.9"),
    "support": Identity(user_id="u-support", roles=frozenset({"support"}), client_ip="203.0.113.9"),
    "compliance": Identity(user_id="u-compliance", roles=frozenset({"compliance"}), client_ip="203.0.113.9"),
}
ROUTES = [("GET", "/staff", None), ("POST", "/staff/roles", {"email": "x@example.com", "role": "editor"}),
          ("POST", "/staff/roles", {"bad": 1}),
          ("POST", "/policy/versions", {"version": "9", "text": "t"}), ("POST", "/policy/versions", "[")]


def error(resp):
    body = resp.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_only_admins_pass_and_are_checked_before_the_body(client, container, who, method, path, body):
    kwargs = {"data": body, "headers": {"Content-Type": "application/json"}} if isinstance(body, str) else {
        "json": body}
    resp = client.call(method, path, CALLERS[who], **kwargs)
    expected = (401, "not_authenticated") if who == "anonymous" else (403, "forbidden")
    assert (resp.status_code, error(resp)["code"]) == expected
    assert outbox_events(container, "identity.policy.published") == []
    assert outbox_events(container, "identity.role.granted") == []


@pytest.fixture
def admin(client, container):
    """A real administrator, just logged in (role changes need a recent re-authentication)."""
    user = client.register("root@example.com", name="Ro Ot")
    grant_role(container.uow(), container.counters, role="admin", granted_by="cli", user_id=user["id"],
               confirmed_only=False)
    return client.login("root@example.com")


def test_an_admin_grants_by_email_and_sees_the_staff_list(client, container, admin):
    ed = client.register("ed@example.com", name="Ed Itor")
    unconfirmed = client.call("POST", "/staff/roles", admin, json={"email": "ed@example.com", "role": "editor"})
    assert unconfirmed.status_code == 409 and error(unconfirmed)["code"] == "email_unverified"
    assert "email" in error(unconfirmed)["fields"]
    confirm_address(container, ed["id"])
    resp = client.call("POST", "/staff/roles", admin, json={"email": " ED@example.com", "role": "editor"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"user_id": ed["id"], "roles": ["editor"]}
    [_root, granted] = outbox_events(container, "identity.role.granted")
    assert granted["payload"] == {"user_id": ed["id"], "role": "editor", "granted_by": admin.identity.user_id}
    listed = client.call("GET", "/staff", admin)
    assert listed.status_code == 200
    assert [i for i in listed.get_json()["items"] if i["user_id"] != admin.identity.user_id] == [
        {"user_id": ed["id"], "name": "Ed Itor", "email": "ed@example.com", "roles": ["editor"]}]
    [read] = outbox_events(container, "identity.pii.accessed")
    assert read["subject"] == ed["id"] and read["actor"] == admin.identity.user_id
    assert read["payload"]["reason"] == "staff_roles"
    # revoking stays the existing route; the list follows
    assert client.call("DELETE", f"/users/{ed['id']}/roles/editor", admin).status_code == 200
    assert [i["user_id"] for i in client.call("GET", "/staff", admin).get_json()["items"]] == [admin.identity.user_id]


def test_role_changes_need_a_recent_reauthentication(client, container, admin, clock_file):
    ed = client.register("ed@example.com")
    confirm_address(container, ed["id"])
    advance(clock_file, container.settings.reauth_seconds + 1)
    for method, path, body in (("POST", "/staff/roles", {"email": "ed@example.com", "role": "editor"}),
                               ("POST", f"/users/{ed['id']}/roles", {"role": "editor"}),
                               ("DELETE", f"/users/{ed['id']}/roles/editor", None)):
        resp = client.call(method, path, admin, json=body)
        assert (resp.status_code, error(resp)["code"]) == (428, "reauth_required"), path
    stale = Identity(user_id=admin.identity.user_id, roles=frozenset({"admin"}), client_ip="203.0.113.9")
    resp = client.call("POST", f"/users/{ed['id']}/roles", stale, json={"role": "editor"})  # no session at all
    assert resp.status_code == 428
    assert len(outbox_events(container, "identity.role.granted")) == 1  # the administrator's own, by the command
    assert client.call("POST", "/reauth", admin, json={"password": PASSWORD}).status_code == 200
    assert client.call("POST", f"/users/{ed['id']}/roles", admin, json={"role": "editor"}).status_code == 200


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "ghost@example.com", "role": "editor"}, "email"),
    ({"email": "not-an-email", "role": "editor"}, "email"),
    ({"role": "editor"}, "email"),
    ({"email": "ed@example.com", "role": "overlord"}, "role"),
    ({"email": "ed@example.com"}, "role"),
    ({"email": "ed@example.com", "role": "editor", "extra": 1}, "extra"),
])
def test_granting_with_bad_input_is_422_on_the_field(client, container, admin, body, field):
    client.register("ed@example.com")
    resp = client.call("POST", "/staff/roles", admin, json=body)
    assert resp.status_code == 422, resp.get_json()
    assert field in error(resp)["fields"]
    assert len(outbox_events(container, "identity.role.granted")) == 1  # the administrator's own


def test_an_admin_publishes_a_version_and_everyone_sees_the_history(client, container):
    resp = client.call("POST", "/policy/versions", ADMIN,
                       json={"version": "2026-12", "text": "We now share less.", "reduces_rights": False})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["version"] == "2026-12" and body["text"] == "We now share less." and body["reduces_rights"] is False
    assert client.call("GET", "/policy").get_json()["version"] == "2026-12"
    history = client.call("GET", "/policy/versions", CALLERS["anonymous"])
    assert history.status_code == 200
    assert [v["version"] for v in history.get_json()["items"]][0] == "2026-12"
    assert "text" not in history.get_json()["items"][0]
    [published] = outbox_events(container, "identity.policy.published")
    assert published["actor"] == "u-admin"
    assert published["payload"]["version"] == "2026-12" and published["payload"]["reduces_rights"] is False
    again = client.call("POST", "/policy/versions", ADMIN, json={"version": "2026-12", "text": "again"})
    assert again.status_code == 409 and error(again)["code"] == "policy_version_exists"


def test_a_rights_reducing_version_gates_open_sessions(client):
    client.register("pat@example.com")
    pat = client.login("pat@example.com")
    resp = client.call("POST", "/policy/versions", ADMIN, json={"version": "3", "text": "More sharing.",
                                                                "reduces_rights": True})
    assert resp.status_code == 201
    assert client.resolve(pat.token).get_json()["policy_acceptance_required"] is True


@pytest.mark.parametrize(("body", "field"), [
    ({"text": "t"}, "version"),
    ({"version": "", "text": "t"}, "version"),
    ({"version": "v" * 65, "text": "t"}, "version"),
    ({"version": "9"}, "text"),
    ({"version": "9", "text": ""}, "text"),
    ({"version": "9", "text": "   "}, "text"),
    ({"version": "9", "text": "t", "reduces_rights": "true"}, "reduces_rights"),
    ({"version": "9", "text": "t", "reduces_rights": 1}, "reduces_rights"),
])
def test_publishing_with_bad_input_is_422_on_the_field(client, container, body, field):
    resp = client.call("POST", "/policy/versions", ADMIN, json=body)
    assert resp.status_code == 422, resp.get_json()
    assert field in error(resp)["fields"]
    assert outbox_events(container, "identity.policy.published") == []


def test_malformed_bodies_are_400_or_415(client):
    broken = client.call("POST", "/policy/versions", ADMIN, data="{", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400 and error(broken)["code"]
    form = client.call("POST", "/staff/roles", ADMIN, data="email=x", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code in (400, 415) and error(form)["code"]


def test_the_routes_are_in_the_openapi_document_with_the_error_shape(client):
    paths = client.http.get("/openapi.json").get_json()["paths"]
    assert {"get"} <= set(paths["/staff"]) and {"post"} <= set(paths["/staff/roles"])
    assert {"get", "post"} <= set(paths["/policy/versions"])
    publish = paths["/policy/versions"]["post"]
    assert "requestBody" in publish and "201" in publish["responses"] and "422" in publish["responses"]
