"""The gateway app end to end in one process: Flask test client -> gateway -> stand-in service."""

from __future__ import annotations

import hashlib
import json
import uuid

from sqlalchemy import select

from services.gateway.adapters import tables
from shared.identity import Identity
from shared.web.identity import sign_headers
from tests.integration.gateway.upstream_app import drop_session, put_session
from tests.unit.gateway.conftest import SECRET

CSRF = "csrf-token-1"


def new_session(store, **overrides) -> str:
    token = f"tok-{uuid.uuid4()}"
    body = {"session_id": f"sess-{uuid.uuid4()}", "user_id": f"user-{uuid.uuid4()}", "roles": ["editor"],
            "csrf_hash": hashlib.sha256(CSRF.encode()).hexdigest(), "auth_time": 1_700_000_000,
            "policy_acceptance_required": False}
    body.update(overrides)
    put_session(store, token, body)
    return token


def test_forwards_with_signed_identity_and_strips_forged_headers(gateway):
    client, _ = gateway()
    resp = client.get("/api/content/echo?a=1&b=%20x", headers={
        "X-Portal-User": "admin", "X-Portal-Roles": "admin", "X-Request-ID": "chosen-by-client"})
    assert resp.status_code == 200
    echo = resp.get_json()
    rid = resp.headers["X-Request-ID"]
    assert rid != "chosen-by-client" and len(rid) == 36
    assert echo["path"] == "/echo" and echo["query"] == "a=1&b=%20x"
    assert echo["identity"] == {"user_id": None, "roles": [], "session_id": None, "anonymous_id": None,
                                "request_id": rid, "auth_time": None, "client_ip": "127.0.0.1"}
    assert echo["headers"]["X-Forwarded-Proto"] == "http"


def test_non_ascii_paths_reach_the_service_as_sent(gateway):
    client, _ = gateway()
    resp = client.get("/api/content/echo/%C3%BC%20x/%E2%82%AC")
    assert resp.status_code == 200  # the stand-in checked the signature over the decoded path
    assert resp.get_json()["path"] == "/echo/ü x/€"
    assert client.get("/api/content/echo/../echo").status_code == 404  # dot segments never go through


def test_request_id_is_kept_from_a_signed_caller_only(gateway):
    client, _ = gateway()
    signed = sign_headers(SECRET.encode(), Identity(user_id="system:test", request_id="trace-42"), "GET",
                          "/api/content/echo", service="gateway")
    resp = client.get("/api/content/echo", headers=signed)
    assert resp.headers["X-Request-ID"] == "trace-42"
    assert resp.get_json()["identity"]["request_id"] == "trace-42"
    assert resp.get_json()["identity"]["user_id"] is None  # the caller's identity is not adopted
    forged = {**signed, "X-Portal-Signature": "0" * 64}
    assert client.get("/api/content/echo", headers=forged).headers["X-Request-ID"] != "trace-42"


def test_trusted_proxy_sets_client_ip_scheme_and_request_id(gateway, store):
    client, _ = gateway(GATEWAY_TRUSTED_PROXIES="10.0.0.0/8")
    client.set_cookie("__Host-portal_session", new_session(store))
    client.set_cookie("portal_session", "ignored-over-https")
    resp = client.get("/api/content/echo", environ_base={"REMOTE_ADDR": "10.9.9.9"}, headers={
        "X-Forwarded-For": "203.0.113.50", "X-Forwarded-Proto": "https", "X-Request-ID": "lb-1"})
    echo = resp.get_json()
    assert resp.headers["X-Request-ID"] == "lb-1"
    assert echo["identity"]["client_ip"] == "203.0.113.50"
    assert echo["headers"]["X-Forwarded-Proto"] == "https"
    assert echo["identity"]["user_id"] is not None  # the __Host- cookie over HTTPS
    assert "portal_session" not in echo["headers"].get("Cookie", "")  # not passed beyond identity
    spoofed = client.get("/api/content/echo", environ_base={"REMOTE_ADDR": "192.0.2.1"},
                         headers={"X-Forwarded-For": "203.0.113.50", "X-Forwarded-Proto": "https",
                                  "X-Request-ID": "lb-1"})
    assert spoofed.headers["X-Request-ID"] != "lb-1"
    assert spoofed.get_json()["identity"]["client_ip"] == "192.0.2.1"
    assert spoofed.get_json()["headers"]["X-Forwarded-Proto"] == "http"


def test_session_cookie_csrf_and_revocation(gateway, store):
    client, _ = gateway()
    token = new_session(store)
    client.set_cookie("portal_session", token)
    echo = client.get("/api/content/echo").get_json()["identity"]
    assert echo["user_id"].startswith("user-") and echo["roles"] == ["editor"]
    assert echo["session_id"].startswith("sess-") and echo["auth_time"] == 1_700_000_000
    refused = client.post("/api/content/echo", json={})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf_failed"
    assert client.post("/api/content/echo", json={}, headers={"X-CSRF-Token": CSRF}).status_code == 200
    drop_session(store, token)  # logout elsewhere: the next request is anonymous at once
    assert client.get("/api/content/echo").get_json()["identity"]["user_id"] is None
    # the service decides what an anonymous caller gets; a POST is no longer CSRF-checked
    assert client.post("/api/content/echo", json={}).status_code == 200


def test_session_cache_spares_identity_calls(gateway, store):
    client, _ = gateway()
    token = new_session(store)
    client.set_cookie("portal_session", token)
    before = int(store.get("fake:resolve:calls") or 0)
    for _ in range(5):
        assert client.get("/api/content/echo").get_json()["identity"]["user_id"]
    assert int(store.get("fake:resolve:calls") or 0) - before == 1


def test_policy_gate(gateway, store):
    client, _ = gateway()
    client.set_cookie("portal_session", new_session(store, policy_acceptance_required=True))
    gated = client.get("/api/content/echo")
    assert gated.status_code == 428
    assert gated.get_json()["error"]["code"] == "policy_acceptance_required"
    assert client.get("/api/identity/policy").status_code == 200


def test_routing_errors_have_the_json_shape(gateway):
    client, _ = gateway()
    for path in ("/api/identity/internal/sessions/resolve", "/api/nope/x", "/api//identity/x", "/api/web/echo",
                 "/api/identity//internal/sessions/resolve"):
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert resp.get_json()["error"]["code"] == "not_found"
        assert resp.headers["X-Request-ID"]
    resp = client.post("/api/identity/internal/sessions/resolve", json={"token": "x"})
    assert resp.status_code == 404
    down = client.get("/api/audit/events")
    assert down.status_code == 503 and down.get_json()["error"]["code"] == "service_unavailable"
    method = client.post("/healthz")
    assert method.status_code == 405 and method.get_json()["error"]["code"] == "method_not_allowed"
    trace = client.open("/api/content/echo", method="TRACE")
    assert trace.status_code == 405 and "GET" in trace.headers["Allow"]


def test_service_errors_pass_through(gateway):
    client, _ = gateway()
    wrong_type = client.post("/api/content/json", data="x", content_type="text/plain")
    assert wrong_type.status_code == 415
    assert wrong_type.get_json()["error"]["code"] == "unsupported_media_type"
    too_big = client.post("/api/content/json", data=b"[" + b"1," * (1 << 20) + b"1]",
                          content_type="application/json")
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == "payload_too_large"
    assert client.post("/api/content/json", json={"a": 1}).get_json() == {"received": {"a": 1}}


def test_gateway_body_limit_is_413(gateway):
    client, _ = gateway(GATEWAY_MAX_BODY_BYTES="1000")
    resp = client.post("/api/content/upload", data=b"x" * 1001, content_type="application/octet-stream")
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "payload_too_large"


def test_response_headers_pass_through(gateway):
    client, _ = gateway()
    cookies = client.get("/api/content/cookies")
    assert sorted(c.split(";")[0] for c in cookies.headers.getlist("Set-Cookie")) == ["a=1", "b=2"]
    assert "Keep-Alive" not in cookies.headers
    download = client.get("/api/content/download?size=100000")
    assert download.headers["Content-Disposition"] == 'attachment; filename="blob.bin"'
    assert download.headers["ETag"] == '"v1"' and download.headers["Accept-Ranges"] == "bytes"
    assert download.headers["Content-Length"] == "100000" and len(download.data) == 100000
    redirect = client.get("/api/content/redirect")
    assert redirect.status_code == 302 and redirect.headers["Location"] == "/api/content/echo"
    empty = client.delete("/api/content/nothing")
    assert empty.status_code == 204 and empty.data == b"" and "Content-Type" not in empty.headers
    head = client.head("/api/content/download?size=5000")
    assert head.status_code == 200 and head.data == b""


def test_rate_limit_is_429_with_retry_after(gateway):
    client, _ = gateway(GATEWAY_RATE_LIMIT_IP="2/min")
    addr = {"REMOTE_ADDR": f"192.0.2.{uuid.uuid4().int % 250 + 1}"}
    # another test may have used this address in this minute: count from where it stands
    statuses = [client.get("/api/content/echo", environ_base=addr).status_code for _ in range(4)]
    assert statuses.count(429) >= 2 and statuses[-1] == 429
    resp = client.get("/api/content/echo", environ_base=addr)
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) >= 1
    assert client.get("/healthz", environ_base=addr).status_code == 200  # health is never limited


def test_health_readiness_and_openapi(gateway):
    client, _ = gateway()
    assert client.get("/healthz").get_json() == {"status": "ok", "service": "gateway"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert list(ready.get_json()["error"]["fields"]) == ["audit"]
    doc = client.get("/openapi.json").get_json()
    assert doc["x-unavailable-services"] == ["audit"]
    assert "/readyz" in doc["paths"]


def test_one_access_event_per_request_in_the_spool(gateway, store):
    client, container = gateway()
    token = new_session(store)
    client.set_cookie("portal_session", token)
    with client.get("/api/content/echo?q=1", headers={"User-Agent": "pytest-ua"}) as resp:
        rid = resp.headers["X-Request-ID"]
    with client.get("/api/nope") as missing:
        rid_404 = missing.headers["X-Request-ID"]
    client.get("/healthz").close()
    with container.runtime.engine.connect() as conn:
        bodies = [json.loads(b) for (b,) in conn.execute(select(tables.outbox.c.body))]
    by_rid = {b["correlation_id"]: b for b in bodies}
    assert set(by_rid) == {rid, rid_404}  # health probes are not logged
    event = by_rid[rid]
    assert event["type"] == "gateway.request.completed" and event["subject"] == "/api/content/{}"
    payload = event["payload"]
    assert payload["path"] == "/api/content/echo"  # the full path in the payload (sealed by the store)
    assert payload["status"] == 200 and payload["method"] == "GET" and payload["query"] == "q=1"
    assert payload["user_agent"] == "pytest-ua" and payload["service"] == "content"
    assert event["actor"] == payload["user_id"] and payload["user_id"].startswith("user-")
    assert len(payload["session_hash"]) == 64 and token not in json.dumps(event)
    assert payload["bytes_sent"] > 0 and payload["duration_ms"] > 0
    assert by_rid[rid_404]["payload"]["status"] == 404 and by_rid[rid_404]["actor"] == "anonymous"
