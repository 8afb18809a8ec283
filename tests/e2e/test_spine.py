"""The foundation's promise end to end, with every process real (``portal run``): a person registers,
logs in and reads their profile through the gateway, and every one of those accesses is found in the
audit service's server log store under its ``X-Request-ID`` within seconds, with the chain intact."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.support.people import grant
from tests.support.platform import Platform
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "correct horse battery staple"


def register(base: str, name: str) -> tuple[dict, str]:
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    resp = requests.post(f"{base}/api/identity/users", json={"name": name, "email": email, "password": PASSWORD},
                         timeout=10)
    assert resp.status_code == 201, resp.text
    return resp.json(), email


def login(base: str, email: str) -> tuple[requests.Session, str, str]:
    session = requests.Session()
    resp = session.post(f"{base}/api/identity/sessions", json={"email": email, "password": PASSWORD}, timeout=10)
    assert resp.status_code == 200, resp.text
    return session, resp.json()["csrf_token"], resp.headers["X-Request-ID"]


def test_each_access_reaches_the_audit_store_under_its_request_id(platform: Platform):
    base = platform.url
    user, email = register(base, "Ada")
    assert set(user) == {"id", "name", "email", "phone", "email_verified"}
    session, csrf, login_rid = login(base, email)
    me = session.get(f"{base}/api/identity/me", timeout=10)
    assert me.status_code == 200 and me.json()["email"] == email
    me_rid = me.headers["X-Request-ID"]
    bad = session.post(f"{base}/api/identity/reauth", data=b"{oops", timeout=10,
                       headers={"Content-Type": "application/json", "X-CSRF-Token": csrf})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "malformed_json"

    _, reviewer_email = register(base, "Rita")
    grant(platform, reviewer_email, "compliance")
    reviewer, _, _ = login(base, reviewer_email)

    def stored(rid: str) -> list[dict]:
        resp = reviewer.get(f"{base}/api/audit/events", params={"correlation_id": rid}, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.json()["items"]

    for rid in (login_rid, me_rid, bad.headers["X-Request-ID"]):
        items = wait_until(lambda rid=rid: stored(rid), timeout=30, message=f"events of request {rid}")
        access = [e for e in items if e["type"] == "gateway.request.completed"]
        assert len(access) == 1, items
    (me_access,) = [e for e in stored(me_rid) if e["type"] == "gateway.request.completed"]
    assert me_access["actor"] == user["id"]
    login_types = {e["type"] for e in stored(login_rid)}
    assert {"gateway.request.completed", "identity.session.started"} <= login_types

    # Only compliance reads the store; the person gets 403, an anonymous caller 401.
    assert session.get(f"{base}/api/audit/events", timeout=10).status_code == 403
    assert requests.get(f"{base}/api/audit/events", timeout=10).status_code == 401

    integrity = reviewer.get(f"{base}/api/audit/integrity", timeout=30)
    assert integrity.status_code == 200 and integrity.json()["ok"] is True, integrity.text

    # Logout: the same cookie stops working at once.
    out = session.delete(f"{base}/api/identity/sessions/current", headers={"X-CSRF-Token": csrf}, timeout=10)
    assert out.status_code in (200, 204), out.text
    assert session.get(f"{base}/api/identity/me", timeout=10).status_code == 401


def test_services_refuse_calls_that_bypass_the_gateway(platform: Platform):
    for service in ("identity", "linking", "content", "audit"):
        resp = requests.get(f"{platform.service_url(service)}/me", timeout=5)
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "untrusted_caller"


def test_readyz_and_openapi_through_the_gateway(platform: Platform):
    assert requests.get(f"{platform.url}/readyz", timeout=10).status_code == 200
    spec = requests.get(f"{platform.url}/openapi.json", timeout=10).json()
    assert "/api/identity/users" in spec["paths"] and "/api/audit/events" in spec["paths"]
