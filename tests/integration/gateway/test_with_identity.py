"""Sessions through the gateway with the real identity service (register, login, CSRF, logout)."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.integration.gateway.conftest import gunicorn, wait_healthy
from tests.support.databases import drop_database_url, new_database_url
from tests.support.net import free_port

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def portal(stack, tmp_path_factory):
    """The real identity under gunicorn, and a gateway routing /api/identity to it."""
    tmp = tmp_path_factory.mktemp("with-identity")
    db = new_database_url(tmp, "identity")
    port = free_port()
    env = {**stack.env, "IDENTITY_DATABASE_URL": db, "PORTAL_VAR_DIR": str(tmp),
           # cheap hashes: this test is about the gateway, not argon2's cost
           "IDENTITY_ARGON2_MEMORY_KIB": "1024", "IDENTITY_ARGON2_TIME_COST": "1"}
    identity = gunicorn("identity", "services.identity.wsgi:app", port, env, tmp).start()
    stack.procs["identity-real"] = identity
    try:
        wait_healthy(identity, f"http://127.0.0.1:{port}")
        _proc, url = stack.start_gateway("gateway-identity", IDENTITY_URL=f"http://127.0.0.1:{port}",
                                         GATEWAY_SPOOL_URL=f"sqlite:///{tmp / 'spool.db'}")
        yield url
    finally:
        identity.stop()
        drop_database_url(db)


def test_register_login_me_csrf_logout(portal):
    http = requests.Session()
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    created = http.post(portal + "/api/identity/users", json={"name": "Ada", "email": email, "password": PASSWORD},
                        timeout=30)
    assert created.status_code == 201, created.text
    login = http.post(portal + "/api/identity/sessions", json={"email": email, "password": PASSWORD}, timeout=30)
    assert login.status_code == 200, login.text
    assert "portal_session" in http.cookies
    csrf = login.json()["csrf_token"]

    me = http.get(portal + "/api/identity/me", timeout=10)
    assert me.status_code == 200 and me.json()["email"] == email

    no_csrf = http.patch(portal + "/api/identity/me", json={"name": "Ada L."}, timeout=10)
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"
    fixed = http.patch(portal + "/api/identity/me", json={"name": "Ada L."}, headers={"X-CSRF-Token": csrf},
                       timeout=10)
    assert fixed.status_code == 200 and fixed.json()["name"] == "Ada L."

    stolen_cookie = http.cookies["portal_session"]
    out = http.delete(portal + "/api/identity/sessions/current", headers={"X-CSRF-Token": csrf}, timeout=10)
    assert out.status_code == 204, out.text
    # the old cookie stops working at once, even though the gateway had it cached a moment ago
    after = requests.get(portal + "/api/identity/me", cookies={"portal_session": stolen_cookie}, timeout=10)
    assert after.status_code == 401


def test_policy_is_public(portal):
    resp = requests.get(portal + "/api/identity/policy", timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["X-Request-ID"]
