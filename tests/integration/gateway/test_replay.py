"""A request the gateway signed for a service is good for that one call only: captured on the internal
network (here: echoed back by the stand-in that received it) and sent again, or with its query or body
changed, or to another service, it is refused."""

from __future__ import annotations

import hashlib
import uuid

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from shared.identity import Identity
from shared.web.identity import H_BODY_DIGEST, H_NONCE, H_SIGNATURE, sign_headers
from tests.integration.gateway.conftest import SECRET
from tests.integration.gateway.upstream_app import put_session

pytestmark = pytest.mark.integration
CSRF = "replay-csrf"


def admin_cookie(store) -> dict[str, str]:
    token = f"tok-{uuid.uuid4()}"
    put_session(store, token, {"session_id": f"s-{uuid.uuid4()}", "user_id": f"admin-{uuid.uuid4()}",
                               "roles": ["admin"], "csrf_hash": hashlib.sha256(CSRF.encode()).hexdigest(),
                               "auth_time": 1, "policy_acceptance_required": False})
    return {"portal_session": token}


def captured(stack, store, method: str, path_qs: str, **kwargs) -> CaseInsensitiveDict:
    """The headers the gateway sent to the service for one admin call through it."""
    resp = requests.request(method, stack.url + "/api/content" + path_qs, cookies=admin_cookie(store),
                            headers={"X-CSRF-Token": CSRF}, timeout=10, **kwargs)
    assert resp.status_code == 200, resp.text
    seen = resp.json()
    assert seen["identity"]["roles"] == ["admin"]
    return CaseInsensitiveDict({k: v for k, v in seen["headers"].items()
                                if k.lower().startswith("x-portal-") or k.lower() == "x-request-id"})


def refused(resp: requests.Response) -> str:
    assert resp.status_code == 401, resp.text
    error = resp.json()["error"]
    assert error["code"] == "untrusted_caller"
    return error["message"]


def test_a_captured_admin_request_cannot_be_replayed_or_altered(stack, store):
    content = stack.env["CONTENT_URL"]
    headers = captured(stack, store, "GET", "/echo/users?role=admin&page=1")
    assert headers[H_NONCE] and headers[H_SIGNATURE]

    # the same call again, byte for byte
    assert "replay" in refused(requests.get(content + "/echo/users?role=admin&page=1", headers=headers, timeout=10))

    fresh = captured(stack, store, "GET", "/echo/users?role=admin&page=1")
    # another query (before its first use, so only the binding can refuse it)
    refused(requests.get(content + "/echo/users?role=admin&page=2", headers=fresh, timeout=10))
    refused(requests.get(content + "/echo/users", headers=fresh, timeout=10))
    # another service that would take the same path
    refused(requests.get(stack.env["IDENTITY_URL"] + "/echo/users?role=admin&page=1", headers=fresh, timeout=10))


def test_a_signed_body_cannot_be_swapped(stack, store):
    """An admin's call in flight, its body changed on the way (its nonce not used yet)."""
    through_gateway = captured(stack, store, "POST", "/echo", json={"grant": "support"})
    assert through_gateway[H_BODY_DIGEST] == hashlib.sha256(b'{"grant": "support"}').hexdigest()  # as requests sent it
    headers = sign_headers(SECRET.encode(), Identity(user_id="admin-1", roles=frozenset({"admin"})), "POST",
                           "/echo", service="content", body=b'{"grant":"support"}')
    headers["Content-Type"] = "application/json"
    assert "body" in refused(requests.post(stack.env["CONTENT_URL"] + "/echo", data=b'{"grant":"admin!!"}',
                                           headers=headers, timeout=10))


def test_a_signed_request_id_is_believed_once(stack):
    """A trusted caller's signed ``X-Request-ID`` names its request's log lines and events; captured and sent
    again, the signature's nonce is already claimed and the gateway gives the replay an id of its own."""
    request_id = f"trace-{uuid.uuid4()}"
    signed = sign_headers(SECRET.encode(), Identity(user_id="system:test", request_id=request_id), "GET",
                          "/api/content/echo", service="gateway")
    first = requests.get(stack.url + "/api/content/echo", headers=signed, timeout=10)
    assert first.headers["X-Request-ID"] == request_id
    assert first.json()["identity"]["request_id"] == request_id
    replayed = requests.get(stack.url + "/api/content/echo", headers=signed, timeout=10)
    assert replayed.status_code == 200  # the request itself is anyone's to make; only its id is refused
    assert replayed.headers["X-Request-ID"] != request_id
    assert replayed.json()["identity"]["request_id"] == replayed.headers["X-Request-ID"]
