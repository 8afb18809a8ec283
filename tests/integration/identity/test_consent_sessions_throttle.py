"""Cookie consent, session management and login throttling, against a real database and Redis."""

from __future__ import annotations

import pytest

from shared.identity import Identity
from shared.web.identity import verify_anonymous_cookie
from tests.integration.identity.conftest import PASSWORD, advance, cookie_value, outbox_events, set_cookie_header

pytestmark = pytest.mark.integration


def test_anonymous_consent_cookie_anonymous_id_and_carry_into_the_account(client, container):
    secret = container.settings.common.internal_secret
    first = client.call("GET", "/consent")
    assert first.status_code == 200 and first.get_json()["decided"] is False
    assert first.get_json()["analytics"] is False and "Set-Cookie" not in first.headers

    declined = client.call("PUT", "/consent", json={"analytics": False})
    assert declined.status_code == 200 and cookie_value(declined, "portal_consent")
    assert not cookie_value(declined, "portal_anon")  # no analytics id without consent

    accepted = client.call("PUT", "/consent", json={"analytics": True})
    anon = cookie_value(accepted, "portal_anon")
    assert anon and verify_anonymous_cookie(secret, anon)
    assert accepted.get_json() == {**accepted.get_json(), "analytics": True, "decided": True, "policy_version": "1"}
    # the browser keeps its consent cookie: the choice is remembered
    assert client.call("GET", "/consent").get_json()["analytics"] is True
    consent_cookie = client.http.get_cookie("portal_consent").value
    assert not verify_anonymous_cookie(secret, consent_cookie)  # never usable as an analytics id

    client.register("consenting@example.com")
    caller = client.login("consenting@example.com")  # sends the consent cookie along
    client.http.delete_cookie("portal_consent")
    mine = client.call("GET", "/consent", caller).get_json()
    assert mine["analytics"] is True and mine["decided"] is True
    carried = [e for e in outbox_events(container, "identity.consent.changed") if e["payload"].get("user_id")]
    assert carried[0]["payload"]["source"] == "login_carry" and carried[0]["payload"]["policy_version"] == "1"

    withdrawn = client.call("PUT", "/consent", caller, json={"analytics": False})
    assert withdrawn.get_json()["analytics"] is False
    deleted = [h for h in withdrawn.headers.getlist("Set-Cookie") if h.startswith("portal_anon=")]
    assert deleted and ("Max-Age=0" in deleted[0] or "1970" in deleted[0])
    assert client.call("GET", "/consent", caller).get_json()["analytics"] is False


def test_forged_consent_cookie_is_ignored(client):
    client.http.set_cookie("portal_consent", "someone-else.0123456789abcdef0123456789abcdef")
    assert client.call("GET", "/consent").get_json()["decided"] is False


@pytest.mark.parametrize("body", [{}, {"analytics": "yes"}, {"analytics": 1}, {"analytics": None}, []])
def test_consent_bad_input(client, body):
    resp = client.call("PUT", "/consent", json=body)
    assert resp.status_code == 422


def test_list_and_revoke_sessions(client, redis_client):
    client.register("multi@example.com")
    here = client.login("multi@example.com", headers={"User-Agent": "laptop"})
    phone = client.login("multi@example.com", headers={"User-Agent": "phone"})
    tablet = client.login("multi@example.com", headers={"User-Agent": "tablet"})
    listed = client.call("GET", "/sessions", here).get_json()["items"]
    assert {s["user_agent"]: s["current"] for s in listed} == {"laptop": True, "phone": False, "tablet": False}
    assert set(listed[0]) == {"id", "user_agent", "client_ip", "created_at", "last_seen_at", "expires_at", "current"}

    assert client.call("DELETE", f"/sessions/{phone.identity.session_id}", here).status_code == 204
    assert client.resolve(phone.token).status_code == 404
    assert client.call("DELETE", f"/sessions/{phone.identity.session_id}", here).status_code == 404

    other = client.register("other@example.com")
    assert other
    stranger = client.login("other@example.com")
    assert client.call("DELETE", f"/sessions/{tablet.identity.session_id}", stranger).status_code == 404

    resp = client.call("DELETE", "/sessions/others", here)
    assert resp.status_code == 200 and resp.get_json() == {"revoked": 1}
    assert client.resolve(tablet.token).status_code == 404 and client.resolve(here.token).status_code == 200
    assert client.call("GET", "/sessions").status_code == 401


@pytest.fixture
def strict_throttle(monkeypatch, identity_env):
    monkeypatch.setenv("IDENTITY_THROTTLE_FREE_FAILURES", "3")
    monkeypatch.setenv("IDENTITY_THROTTLE_MAX_DELAY", "8")
    monkeypatch.setenv("IDENTITY_THROTTLE_MAX_FAILURES", "6")
    monkeypatch.setenv("IDENTITY_THROTTLE_LOCK_SECONDS", "3600")
    monkeypatch.setenv("IDENTITY_IP_FAILURE_LIMIT", "50")


def attempt(client, email, password, ip="198.51.100.7", device=None):
    """A login from ``ip``; ``device``: the device cookie this browser sends (none: it sends none)."""
    if device:
        client.http.set_cookie("portal_device", device)
    try:
        return client.call("POST", "/sessions", Identity(client_ip=ip), json={"email": email, "password": password})
    finally:
        client.http.delete_cookie("portal_device")


def test_account_throttle_grows_then_locks_for_a_while_and_lifts_by_itself(strict_throttle, client, container,
                                                                           clock_file):
    from tests.integration.identity.test_email_flows import last_mail_to, token_in

    client.register("target@example.com")
    owner = attempt(client, "target@example.com", PASSWORD, ip="192.0.2.1")  # the owner's browser, before
    device = cookie_value(owner, "portal_device")
    assert owner.status_code == 200 and device
    for _ in range(3):
        assert attempt(client, "target@example.com", "guess guess guess").status_code == 401
    blocked = attempt(client, "target@example.com", PASSWORD)  # even the right password must wait
    assert blocked.status_code == 429 and blocked.get_json()["error"]["code"] == "too_many_attempts"
    assert int(blocked.headers["Retry-After"]) >= 1
    delays = []
    for _ in range(2):
        advance(clock_file, 10)
        assert attempt(client, "target@example.com", "guess guess guess").status_code == 401
        delays.append(int(attempt(client, "target@example.com", "x").headers["Retry-After"]))
    assert delays == sorted(delays) and delays[-1] > delays[0]  # growing delays for this client
    # another stranger's network: its own delays, but the address's count for unknown clients goes on
    other = attempt(client, "target@example.com", "guess guess guess", ip="203.0.113.66")
    assert other.status_code == 401, (other.get_json(), other.headers.get("Retry-After"))
    locked = attempt(client, "target@example.com", PASSWORD, ip="203.0.113.67")  # six: unknown clients locked
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 3000
    # the owner's browser is not an unknown client: it logs in
    assert attempt(client, "target@example.com", PASSWORD, ip="192.0.2.1", device=device).status_code == 200
    advance(clock_file, 1800)  # half the lock: still locked for unknown clients
    assert attempt(client, "target@example.com", PASSWORD, ip="203.0.113.68").status_code == 429
    reasons = {e["payload"]["reason"] for e in outbox_events(container, "identity.login.failed")}
    assert {"bad_password", "throttled", "locked"} <= reasons
    advance(clock_file, 1801)  # the lock lifts by itself: no reset needed
    assert attempt(client, "target@example.com", PASSWORD, ip="203.0.113.68").status_code == 200
    # a reset still clears the address's count at once
    for n in range(6):
        attempt(client, "target@example.com", "guess guess guess", ip=f"203.0.113.{100 + n}")
    assert attempt(client, "target@example.com", PASSWORD, ip="203.0.113.99").status_code == 429
    assert client.call("POST", "/password-resets", json={"email": "target@example.com"}).status_code == 202
    token = token_in(last_mail_to(container, "target@example.com", "Reset"))
    client.call("POST", "/password-resets/confirm", json={"token": token, "password": "the owner is back in"})
    assert attempt(client, "target@example.com", "the owner is back in", ip="203.0.113.99").status_code == 200


def test_a_device_cookie_is_signed_for_its_account(strict_throttle, client, container):
    """A browser's device cookie counts only for the account it was issued for, and only as issued."""
    client.register("dee@example.com")
    client.register("eve@example.com")
    eve = cookie_value(attempt(client, "eve@example.com", PASSWORD), "portal_device") or ""
    user_id, nonce, tag = eve.split(".")
    header = set_cookie_header(attempt(client, "dee@example.com", PASSWORD), "portal_device") or ""
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Max-Age=" in header
    for n in range(6):  # strangers lock unknown clients out of dee's account
        attempt(client, "dee@example.com", "guess guess guess", ip=f"203.0.113.{n}")
    forged = {f"{user_id}.{nonce}.{'0' * 32}", f"{user_id}.other.{tag}", eve}  # a bad tag, another nonce, eve's own
    for value in forged:
        resp = attempt(client, "dee@example.com", PASSWORD, device=value)
        assert resp.status_code == 429, value


def test_unknown_accounts_are_throttled_the_same_way(strict_throttle, client):
    answers = [attempt(client, "ghost@example.com", "guess guess guess").status_code for _ in range(4)]
    assert answers == [401, 401, 401, 429]


def test_success_resets_the_count(strict_throttle, client, clock_file):
    client.register("typo@example.com")
    for _ in range(2):
        attempt(client, "typo@example.com", "typo typo typo")
    assert attempt(client, "typo@example.com", PASSWORD).status_code == 200
    for _ in range(2):
        assert attempt(client, "typo@example.com", "typo typo typo").status_code == 401
    assert attempt(client, "typo@example.com", PASSWORD).status_code == 200


def test_per_ip_throttle_across_accounts(monkeypatch, identity_env, clock_file, redis_client):
    monkeypatch.setenv("IDENTITY_IP_FAILURE_LIMIT", "4")
    from services.identity.app import create_app
    from services.identity.bootstrap import bootstrap
    from tests.integration.identity.conftest import IdentityClient

    container = bootstrap()
    client = IdentityClient(create_app(container), container.settings.common.internal_secret)
    client.register("spray@example.com")
    redis_client.delete("portal:identity:ipfail:192.0.2.44")
    for n in range(4):
        assert attempt(client, f"victim{n}@example.com", "Summer2024!", ip="192.0.2.44").status_code == 401
    limited = attempt(client, "spray@example.com", PASSWORD, ip="192.0.2.44")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert attempt(client, "spray@example.com", PASSWORD, ip="192.0.2.45").status_code == 200
    container.runtime.engine.dispose()


def test_reauth_is_throttled_with_the_login_counter(strict_throttle, client):
    client.register("re@example.com")
    caller = client.login("re@example.com")
    codes = [client.call("POST", "/reauth", caller, json={"password": "nope nope nope"}).status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_throttle_rows_hold_no_plain_digest_of_an_address(strict_throttle, client, container):
    """A plain SHA-256 of an address is reversed by hashing guesses; the stored row key is keyed."""
    import hashlib

    from sqlalchemy import select

    from services.identity.adapters import tables

    for _ in range(2):
        assert attempt(client, "ghost@example.com", "guess guess guess").status_code == 401
    with container.runtime.engine.connect() as conn:
        keys = list(conn.execute(select(tables.login_throttle.c.key)).scalars())
    plain = hashlib.sha256(b"login:ghost@example.com").hexdigest()
    assert keys and plain not in keys
