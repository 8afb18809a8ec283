"""Page paths (everything outside /api/) through the gateway to the pages service: same identity,
session and access event as the API; the pages' own CSRF; HTML refusals; static assets unrecorded."""

from __future__ import annotations

import json

from sqlalchemy import select

from services.gateway.adapters import tables
from tests.support.net import free_port
from tests.unit.gateway.test_app import new_session


def _events(container) -> list[dict]:
    with container.runtime.engine.connect() as conn:
        return [json.loads(b) for (b,) in conn.execute(select(tables.outbox.c.body))]


def test_a_page_reaches_the_pages_service_with_the_signed_identity(gateway, store):
    client, container = gateway()
    token = new_session(store)
    client.set_cookie("portal_session", token)
    with client.get("/echo?next=%2Faccount") as resp:
        assert resp.status_code == 200
        echo = resp.get_json()
    assert echo["path"] == "/echo" and echo["query"] == "next=%2Faccount"
    assert echo["identity"]["user_id"].startswith("user-") and echo["identity"]["session_id"]
    assert echo["headers"]["X-Forwarded-Host"] == "localhost"
    assert "portal_session" not in echo["headers"].get("Cookie", "")  # the session cookie stays at the edge
    events = [e for e in _events(container) if e["correlation_id"] == resp.headers["X-Request-ID"]]
    assert len(events) == 1 and events[0]["payload"]["service"] == "web"
    assert events[0]["subject"] == "/{}" and events[0]["payload"]["path"] == "/echo"
    assert token not in json.dumps(events[0])


def test_pages_check_their_own_form_token_not_the_api_header(gateway, store):
    client, _ = gateway()
    client.set_cookie("portal_session", new_session(store))
    assert client.post("/echo").status_code == 200  # no X-CSRF-Token: the pages service decides
    assert client.post("/api/content/echo").status_code == 403  # the API still demands it


def test_the_policy_gate_redirects_a_page_to_the_review(gateway, store):
    client, _ = gateway()
    client.set_cookie("portal_session", new_session(store, policy_acceptance_required=True))
    gated = client.get("/echo/account?tab=1")
    assert gated.status_code == 303
    assert gated.headers["Location"] == "/policy/accept?next=/echo/account%3Ftab%3D1"
    assert client.get("/policy").status_code != 303 and client.get("/privacy/x").status_code != 303


def test_static_assets_are_not_recorded_and_the_api_never_reaches_the_pages(gateway):
    client, container = gateway()
    with client.get("/static/abc123/css/portal.css") as resp:
        rid = resp.headers["X-Request-ID"]
    assert all(e["correlation_id"] != rid for e in _events(container))
    api = client.get("/api/web/echo")
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_a_page_refusal_is_html_with_the_strict_policy(gateway):
    client, _ = gateway(WEB_URL=f"http://127.0.0.1:{free_port()}")
    down = client.get("/account")
    assert down.status_code == 503 and down.mimetype == "text/html"
    assert "frame-ancestors 'none'" in down.headers["Content-Security-Policy"]
    assert b"<h1>" in down.data and b"{" not in down.data
    assert client.get("/healthz").get_json()["service"] == "gateway"
