"""identity's privacy routes on a real database: authorization, bad input on every route (the JSON error
shape, never a 5xx), exports with their signed download, erasure with re-authentication and legal
holds. The other services' sections come from stand-ins here; tests/integration/privacy runs the real
workers and linking."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from services.identity.adapters import tables
from services.identity.domain.privacy import download_signature
from services.identity.handlers import grant_role
from services.identity.handlers.privacy_exports import collect_export
from tests.integration.identity.conftest import PASSWORD, advance, outbox_events
from tests.unit.identity.privacy_fakes import FakeSource

pytestmark = pytest.mark.integration


def error(resp, status: int, code: str | None = None) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:500])
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    if code:
        assert body["error"]["code"] == code, body
    return body["error"]


@pytest.fixture
def person(client):
    user = client.register(phone="+32 2 555 00 00")
    return user, client.login(user["email"])


@pytest.fixture
def compliance(client, container):
    staff = client.register()
    grant_role(container.uow(), container.counters, role="compliance", granted_by="test", user_id=staff["id"],
               confirmed_only=False)
    return client.login(staff["email"])


def complete(container, export_id: str) -> None:
    sources = {s: FakeSource({"from": s}) for s in container.settings.privacy_services}
    assert collect_export(container.uow(), sources, export_id) == []


def test_export_request_status_and_download(client, container, person, clock_file):
    user, caller = person
    accepted = client.call("POST", "/privacy/exports", caller)
    assert accepted.status_code == 202
    body = accepted.get_json()
    assert body["status"] == "pending" and "download_url" not in body and body["due_at"]
    assert set(body["sections"]) == {"identity", "linking", "content", "audit"}
    again = client.call("POST", "/privacy/exports", caller, json={})
    assert again.status_code == 202 and again.get_json()["id"] == body["id"]
    [event] = outbox_events(container, "identity.privacy.export_requested")
    assert event["payload"]["request_id"] == body["id"] and event["subject"] == user["id"]

    complete(container, body["id"])
    done = client.call("GET", f"/privacy/exports/{body['id']}", caller).get_json()
    assert done["status"] == "completed" and all(s["status"] == "completed" for s in done["sections"].values())
    url = urlsplit(done["download_url"])
    assert url.path == f"/api/identity/privacy/exports/{body['id']}/download"
    path = url.path.removeprefix("/api/identity")
    download = client.call("GET", path, caller, query=parse_qs(url.query))
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    bundle = download.get_json()
    assert bundle["sections"]["identity"]["profile"]["email"] == user["email"]
    assert bundle["sections"]["identity"]["sessions"][0]["client_ip"] == "203.0.113.9"
    assert bundle["sections"]["linking"] == {"user_id": user["id"], "from": "linking"}
    assert "password" not in str(bundle["sections"]["identity"]).replace("password_changed_at", "")
    assert outbox_events(container, "identity.privacy.export_downloaded")

    # the link is the owner's only, and it expires
    other = client.login(client.register()["email"])
    error(client.call("GET", path, other, query=parse_qs(url.query)), 404, "export_not_found")
    error(client.call("GET", f"/privacy/exports/{body['id']}", other), 404, "export_not_found")
    listed = client.call("GET", "/privacy/exports", caller).get_json()["items"]  # the owner's, newest first
    assert [e["id"] for e in listed] == [body["id"]] and listed[0]["download_url"]
    assert client.call("GET", "/privacy/exports", other).get_json() == {"items": []}
    error(client.call("GET", "/privacy/exports"), 401)
    error(client.call("GET", path, query=parse_qs(url.query)), 401)
    advance(clock_file, container.settings.export_link_seconds + 5)
    error(client.call("GET", path, client.refresh(caller), query=parse_qs(url.query)), 410, "download_link_expired")


def test_export_bad_input(client, container, person):
    user, caller = person
    error(client.call("POST", "/privacy/exports"), 401, "not_authenticated")
    error(client.call("GET", "/privacy/exports/whatever"), 401)
    error(client.call("POST", "/privacy/exports", caller, json={"all": True}), 422)
    error(client.call("POST", "/privacy/exports", caller, data="{nope",
                      headers={"Content-Type": "application/json"}), 400, "malformed_json")
    error(client.call("POST", "/privacy/exports", caller, data="x=1",
                      headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
    error(client.call("GET", "/privacy/exports/" + "x" * 300, caller), 404, "export_not_found")
    export_id = client.call("POST", "/privacy/exports", caller).get_json()["id"]
    download = f"/privacy/exports/{export_id}/download"
    assert "expires" in error(client.call("GET", download, caller), 422)["fields"]
    error(client.call("GET", download, caller, query={"expires": "soon", "signature": "a" * 64}), 422)
    error(client.call("GET", download, caller, query={"expires": "1", "signature": "not hex"}), 422)
    error(client.call("GET", download, caller, query={"expires": str(2**31), "signature": "a" * 64}), 403,
          "download_link_invalid")
    signature = download_signature(container.settings.common.internal_secret, export_id, user["id"], 2**31)
    error(client.call("GET", download, caller, query={"expires": str(2**31), "signature": signature}), 409,
          "export_not_ready")


def test_erasure_needs_reauthentication_then_erases_identity_at_once(client, container, person, clock_file):
    user, caller = person
    advance(clock_file, container.settings.reauth_seconds + 1)
    error(client.call("POST", "/privacy/erasures", caller), 428, "reauth_required")
    assert client.call("POST", "/reauth", caller, json={"password": PASSWORD}).status_code == 200
    caller = client.refresh(caller)

    resp = client.call("POST", "/privacy/erasures", caller)
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "pending" and body["waiting_for"] == ["linking", "content", "audit"]
    assert body["results"]["identity"]["erased"] and body["results"]["identity"]["kept"]

    assert client.resolve(caller.token).status_code == 404  # every session ended
    assert client.call("POST", "/sessions", json={"email": user["email"], "password": PASSWORD}).status_code == 401
    with container.runtime.engine.connect() as conn:
        row = conn.execute(select(tables.users).where(tables.users.c.id == user["id"])).mappings().one()
        sessions = conn.execute(select(tables.sessions.c.client_ip, tables.sessions.c.user_agent)
                                .where(tables.sessions.c.user_id == user["id"])).all()
    assert (row["name"], row["phone"], row["erased_at"] is not None) == ("", None, True)
    assert user["email"] not in str(dict(row)) and all(s == ("", "") for s in sessions)
    assert client.call("POST", "/users", json={"name": "New", "email": user["email"],
                                               "password": PASSWORD}).status_code == 201  # address freed
    [event] = outbox_events(container, "identity.privacy.erasure_requested")
    assert event["payload"] == {"request_id": body["id"], "user_id": user["id"]}
    ledger = container.settings.erasure_ledger_file.read_text()
    assert body["id"] in ledger and user["email"] not in ledger
    # the erased person can no longer log in; the request's id alone shows its status
    status = client.call("GET", f"/privacy/erasures/{body['id']}")
    assert status.status_code == 200 and status.get_json()["id"] == body["id"]
    assert user["id"] not in status.get_data(as_text=True)
    error(client.call("GET", "/api/identity/privacy/erasures/nope"), 404)
    error(client.call("GET", "/privacy/erasures/" + "z" * 40), 404, "erasure_not_found")


def test_erasure_bad_input(client, person):
    _, caller = person
    error(client.call("POST", "/privacy/erasures"), 401)
    error(client.call("POST", "/privacy/erasures", caller, json={"confirm": True}), 422)
    error(client.call("POST", "/privacy/erasures", caller, json=[1]), 422)
    error(client.call("POST", "/privacy/erasures", caller, data="{", headers={"Content-Type": "application/json"}),
          400)


def test_holds_withhold_erasure_until_released(client, container, person, compliance):
    user, caller = person
    error(client.call("POST", "/privacy/holds", caller, json={"user_id": user["id"], "reason": "mine"}), 403)
    placed = client.call("POST", "/privacy/holds", compliance,
                         json={"user_id": user["id"], "reason": "Case 2026-17", "until": "2099-01-01T00:00:00Z"})
    assert placed.status_code == 201, placed.get_json()
    hold = placed.get_json()
    assert (hold["owner_id"], hold["active"], hold["reason"]) == (compliance.identity.user_id, True, "Case 2026-17")
    listed = client.call("GET", "/privacy/holds", compliance, query={"user_id": user["id"]}).get_json()
    assert [h["id"] for h in listed["items"]] == [hold["id"]]

    withheld = client.call("POST", "/privacy/erasures", caller)
    assert withheld.status_code == 202
    body = withheld.get_json()
    assert body["status"] == "withheld" and "Case 2026-17" in body["reason"] and body["until"].startswith("2099")
    assert client.resolve(caller.token).status_code == 200  # nothing erased
    assert client.call("GET", f"/privacy/erasures/{body['id']}", caller).get_json()["status"] == "withheld"
    error(client.call("GET", f"/privacy/erasures/{body['id']}"), 404)  # not the owner's business of others
    [placed_event] = outbox_events(container, "identity.privacy.hold_placed")
    assert placed_event["payload"]["hold_id"] == hold["id"] and placed_event["payload"]["until"].startswith("2099")

    assert client.call("DELETE", f"/privacy/holds/{hold['id']}", compliance).status_code == 204
    assert client.call("DELETE", f"/privacy/holds/{hold['id']}", compliance).status_code == 204
    assert len(outbox_events(container, "identity.privacy.hold_released")) == 1
    assert client.call("GET", "/privacy/holds", compliance, query={"user_id": user["id"]}).get_json()["items"] == []
    assert client.call("POST", "/privacy/erasures", caller).get_json()["status"] == "pending"


@pytest.mark.parametrize("body, field", [
    ({}, "user_id"),
    ({"user_id": "x"}, "reason"),
    ({"user_id": "", "reason": "valid reason"}, "user_id"),
    ({"user_id": "x", "reason": "ab"}, "reason"),
    ({"user_id": "x", "reason": "valid reason", "until": "tomorrow"}, "until"),
    ({"user_id": "x", "reason": "valid reason", "until": "2099-01-01T00:00:00"}, "until"),  # no timezone
    ({"user_id": "x", "reason": "valid reason", "until": "2001-01-01T00:00:00Z"}, "until"),  # past
    ({"user_id": "unknown-user", "reason": "valid reason"}, "user_id"),
    ({"user_id": 5, "reason": "valid reason"}, "user_id"),
    ({"user_id": "x", "reason": "valid reason", "owner_id": "me"}, "owner_id"),
])
def test_hold_bad_input(client, person, compliance, body, field):
    user, _ = person
    if body.get("user_id") == "x":
        body = {**body, "user_id": user["id"]}
    assert field in error(client.call("POST", "/privacy/holds", compliance, json=body), 422)["fields"]


def test_hold_routes_authorization_and_unknown_ids(client, person, compliance):
    _, caller = person
    error(client.call("POST", "/privacy/holds", json={}), 401)
    error(client.call("DELETE", "/privacy/holds/x"), 401)
    error(client.call("GET", "/privacy/holds", caller), 403)
    error(client.call("DELETE", "/privacy/holds/x", caller), 403)
    error(client.call("DELETE", "/privacy/holds/x", compliance), 404, "hold_not_found")
    error(client.call("GET", "/privacy/holds", compliance, query={"include_released": "maybe"}), 422)
    error(client.call("POST", "/privacy/holds", compliance, data="{", headers={"Content-Type": "application/json"}),
          400)


BROKEN = {
    "malformed json": ({"data": '{"a": ', "headers": {"Content-Type": "application/json"}}, 400),
    "wrong media type": ({"data": "a=1", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415),
    "json array": ({"json": [1]}, 422),
    "json null": ({"data": "null", "headers": {"Content-Type": "application/json"}}, 422),
    "unknown field": ({"json": {"is_admin": True}}, 422),
    "too large": ({"data": '{"a": "' + "x" * (1024 * 1024 + 10) + '"}',
                   "headers": {"Content-Type": "application/json"}}, 413),
}


@pytest.mark.parametrize("route", ["/privacy/exports", "/privacy/erasures", "/privacy/holds"])
@pytest.mark.parametrize("case", list(BROKEN))
def test_every_post_route_refuses_broken_bodies(client, compliance, route, case):
    kwargs, status = BROKEN[case]
    resp = client.call("POST", route, compliance, **kwargs)
    error(resp, status)


def test_openapi_lists_the_privacy_routes(client):
    paths = client.http.get("/openapi.json").get_json()["paths"]
    for path in ("/privacy/exports", "/privacy/exports/{export_id}", "/privacy/exports/{export_id}/download",
                 "/privacy/erasures", "/privacy/erasures/{request_id}", "/privacy/holds", "/privacy/holds/{hold_id}"):
        assert path in paths, path
