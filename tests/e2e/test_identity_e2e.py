"""Identity end to end, every process real (``portal run``) and every call through the gateway: email
verification (mailed single-use token, reuse and expiry refused), password reset (same answer for known and
unknown addresses, old password refused, other sessions ended, token single-use), wrong passwords and the
per-account throttle (429 + Retry-After), CSRF, a revoked and an idle-expired session, the 428 on an email
change without recent re-authentication, and bad input on the identity routes (JSON error shape, no 5xx).

Time is moved in the real processes through ``PORTAL_CLOCK_OFFSET_FILE`` (shared/clock.py); every test that
moves it puts it back to 0. The gateway rate-limits per IP (300/min), so polling is one request a second."""

from __future__ import annotations

import email
import time
import uuid
from datetime import datetime, timedelta
from email import policy as email_policy

import pytest
import requests

from tests.support.clock import Clock
from tests.support.mailbox import mailed_tokens, wait_for_token
from tests.support.people import PASSWORD, T, assert_error, sign_up, unique_email
from tests.support.platform import Platform
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
NEW_PASSWORD = "a brand new passphrase 42"
IDLE_SECONDS = 1800  # IDENTITY_SESSION_IDLE_SECONDS default (docs/identity.md)
ABSOLUTE_SECONDS = 12 * 3600  # IDENTITY_SESSION_ABSOLUTE_SECONDS default
REAUTH_SECONDS = 300  # IDENTITY_REAUTH_SECONDS default
VERIFY_TOKEN_SECONDS = 172800  # IDENTITY_VERIFY_TOKEN_SECONDS default
FREE_FAILURES = 5  # IDENTITY_THROTTLE_FREE_FAILURES default


def login(base: str, address: str, password: str = PASSWORD, http: requests.Session | None = None) -> requests.Session:
    http = http or requests.Session()
    resp = http.post(f"{base}/api/identity/sessions", json={"email": address, "password": password}, timeout=T)
    assert resp.status_code == 200, resp.text
    http.headers["X-CSRF-Token"] = resp.json()["csrf_token"]
    http.session_id = resp.json()["session_id"]  # type: ignore[attr-defined]
    return http


def me(base: str, http: requests.Session) -> requests.Response:
    return http.get(f"{base}/api/identity/me", timeout=T)


def test_email_verification_token_is_single_use_and_expires(platform: Platform, clock: Clock):
    base = platform.url
    user, address = sign_up(base, "vera")
    assert user["email_verified"] is False
    token = wait_for_token(platform, address, "verify-email")

    resp = requests.post(f"{base}/api/identity/email/verify", json={"token": token}, timeout=T)
    assert resp.status_code == 200, resp.text
    assert resp.json()["email_verified"] is True and resp.json()["email"] == address
    http = login(base, address)
    assert me(base, http).json()["email_verified"] is True

    again = requests.post(f"{base}/api/identity/email/verify", json={"token": token}, timeout=T)
    assert_error(again, 400, "token_invalid")

    # A second person's token, used after its lifetime: refused, and the address stays unverified.
    _, late_address = sign_up(base, "lena")
    late_token = wait_for_token(platform, late_address, "verify-email")
    clock.set(VERIFY_TOKEN_SECONDS + 3600)
    expired = requests.post(f"{base}/api/identity/email/verify", json={"token": late_token}, timeout=T)
    assert_error(expired, 400, "token_invalid")
    clock.set(0)
    late = login(base, late_address)
    assert me(base, late).json()["email_verified"] is False


def mail_subjects(platform: Platform, address: str) -> list[str]:
    found = []
    for path in sorted((platform.var_dir / "mail").glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email_policy.default)
        if str(msg["To"]).strip().lower() == address:
            found.append(str(msg["Subject"]))
    return found


def test_registering_a_taken_address_tells_the_stranger_nothing_and_mails_the_owner(platform: Platform):
    base = platform.url
    owner, address = sign_up(base, "olga")
    taken = requests.post(f"{base}/api/identity/users", timeout=T,
                          json={"name": "Mallory", "email": address.upper(), "password": NEW_PASSWORD})
    fresh = requests.post(f"{base}/api/identity/users", timeout=T,
                          json={"name": "Mallory", "email": unique_email("mallory"), "password": NEW_PASSWORD})
    assert taken.status_code == fresh.status_code == 201, (taken.text, fresh.text)
    assert set(taken.json()) == set(fresh.json()) and taken.json()["id"] != owner["id"]
    assert taken.json()["email_verified"] is False and "Set-Cookie" not in taken.headers
    wait_until(lambda: "Someone tried to register with your address" in mail_subjects(platform, address),
               timeout=90, interval=1.0, message="the owner's notice")
    assert_error(requests.post(f"{base}/api/identity/sessions", json={"email": address, "password": NEW_PASSWORD},
                               timeout=T), 401, "invalid_credentials")  # the stranger's password opens nothing
    login(base, address)  # the owner's still does


def test_password_reset_ends_other_sessions_and_refuses_the_old_password(platform: Platform):
    base = platform.url
    _, address = sign_up(base, "rosa")
    other = login(base, address)
    assert me(base, other).status_code == 200

    known = requests.post(f"{base}/api/identity/password-resets", json={"email": address}, timeout=T)
    unknown = requests.post(f"{base}/api/identity/password-resets",
                            json={"email": unique_email("nobody")}, timeout=T)
    assert known.status_code == unknown.status_code == 202, (known.text, unknown.text)
    assert known.json() == unknown.json()

    token = wait_for_token(platform, address, "reset-password")
    done = requests.post(f"{base}/api/identity/password-resets/confirm",
                         json={"token": token, "password": NEW_PASSWORD}, timeout=T)
    assert done.status_code == 200, done.text
    assert done.json()["sessions_ended"] >= 1

    # The other open session is over at once.
    assert_error(me(base, other), 401)
    old = requests.post(f"{base}/api/identity/sessions", json={"email": address, "password": PASSWORD},
                        timeout=T)
    assert_error(old, 401, "invalid_credentials")
    fresh = login(base, address, NEW_PASSWORD)
    assert me(base, fresh).json()["email"] == address

    reused = requests.post(f"{base}/api/identity/password-resets/confirm",
                           json={"token": token, "password": "yet another passphrase 7"}, timeout=T)
    assert_error(reused, 400, "token_invalid")
    assert login(base, address, NEW_PASSWORD)


def test_wrong_passwords_then_throttled_with_retry_after(platform: Platform, clock: Clock):
    base = platform.url
    _, address = sign_up(base, "tom")
    for _ in range(FREE_FAILURES):
        bad = requests.post(f"{base}/api/identity/sessions", json={"email": address, "password": "wrong guess"},
                            timeout=T)
        assert_error(bad, 401, "invalid_credentials")
    # The last free failure starts a 1 s wait; set the clock back a minute so that the next attempt
    # surely falls inside it on a slow machine. Even the right password is refused during the wait.
    clock.set(-60)
    throttled = requests.post(f"{base}/api/identity/sessions", json={"email": address, "password": PASSWORD},
                              timeout=T)
    assert_error(throttled, 429, "too_many_attempts")
    assert int(throttled.headers["Retry-After"]) >= 1
    clock.set(0)
    # Once the wait is over, the right password works (and resets the count).
    wait_until(lambda: requests.post(f"{base}/api/identity/sessions",
                                     json={"email": address, "password": PASSWORD}, timeout=T).status_code == 200,
               timeout=30, interval=1.0, message="login after the wait")


def test_state_change_needs_the_csrf_token(platform: Platform):
    base = platform.url
    _, address = sign_up(base, "cyd")
    http = login(base, address)
    csrf = http.headers.pop("X-CSRF-Token")
    refused = http.patch(f"{base}/api/identity/me", json={"name": "Cyd Two"}, timeout=T)
    assert_error(refused, 403)
    assert me(base, http).json()["name"] == "Cyd"
    wrong = http.patch(f"{base}/api/identity/me", json={"name": "Cyd Two"}, headers={"X-CSRF-Token": "nope"},
                       timeout=T)
    assert_error(wrong, 403)
    ok = http.patch(f"{base}/api/identity/me", json={"name": "Cyd Two"}, headers={"X-CSRF-Token": csrf},
                    timeout=T)
    assert ok.status_code == 200, ok.text
    assert me(base, http).json()["name"] == "Cyd Two"


def test_revoked_session_replayed_and_idle_expired_session(platform: Platform, clock: Clock):
    base = platform.url
    _, address = sign_up(base, "sam")
    victim = login(base, address)
    keeper = login(base, address)
    assert me(base, victim).status_code == 200  # cached at the gateway before the revocation

    listed = keeper.get(f"{base}/api/identity/sessions", timeout=T)
    assert listed.status_code == 200, listed.text
    ids = {s["id"]: s["current"] for s in listed.json()["items"]}
    assert ids.get(victim.session_id) is False and ids.get(keeper.session_id) is True  # type: ignore[attr-defined]
    gone = keeper.delete(f"{base}/api/identity/sessions/{victim.session_id}", timeout=T)  # type: ignore[attr-defined]
    assert gone.status_code == 204, gone.text
    assert_error(me(base, victim), 401)
    assert me(base, keeper).status_code == 200

    # Idle past the timeout: the keeper's cookie stops working (the gateway caches a session briefly).
    clock.set(IDLE_SECONDS + 120)
    wait_until(lambda: me(base, keeper).status_code == 401, timeout=30, interval=1.0,
               message="idle-expired session refused")
    assert_error(me(base, keeper), 401)
    clock.set(0)
    assert_error(me(base, keeper), 401)  # an ended session stays ended


def test_email_change_needs_recent_reauth_and_a_confirmed_address(platform: Platform, clock: Clock):
    base = platform.url
    _, address = sign_up(base, "eve")
    http = login(base, address)
    new_address = unique_email("eve-new")
    clock.set(REAUTH_SECONDS + 60)  # the login no longer counts as recent; the session is not idle yet
    refused = http.patch(f"{base}/api/identity/me", json={"email": new_address}, timeout=T)
    assert_error(refused, 428, "reauth_required")
    profile = me(base, http).json()
    assert profile["email"] == address and profile["pending_email"] is None  # nothing applied

    again = http.post(f"{base}/api/identity/reauth", json={"password": PASSWORD}, timeout=T)
    assert again.status_code == 200, again.text
    ok = http.patch(f"{base}/api/identity/me", json={"email": new_address, "phone": "+44 20 7946 0000"},
                    timeout=T)
    assert ok.status_code == 200, ok.text
    profile = me(base, http).json()
    assert profile["email"] == address and profile["pending_email"] == new_address
    assert profile["phone"] == "+44 20 7946 0000"  # name and phone apply at once

    # The new address replaces the old only once its owner confirms it with the mailed token.
    token = wait_for_token(platform, new_address, "verify-email")
    confirmed = requests.post(f"{base}/api/identity/email/verify", json={"token": token}, timeout=T)
    assert confirmed.status_code == 200, confirmed.text
    profile = me(base, http).json()
    assert profile["email"] == new_address and profile["pending_email"] is None and profile["email_verified"]
    assert login(base, new_address)
    old = requests.post(f"{base}/api/identity/sessions", json={"email": address, "password": PASSWORD}, timeout=T)
    assert_error(old, 401, "invalid_credentials")


def test_bad_input_on_identity_routes_never_5xx(platform: Platform):
    base = platform.url
    _, address = sign_up(base, "bea")
    http = login(base, address)
    routes = [
        ("POST", "/users", {"name": "", "email": "not-an-email", "password": "x"}),
        ("POST", "/sessions", {"email": 42, "password": None}),
        ("POST", "/password-resets", {"email": ["a"]}),
        ("POST", "/password-resets/confirm", {"token": 7, "password": ""}),
        ("POST", "/email/verify", {"token": {"a": 1}}),
        ("PATCH", "/me", {"name": "", "phone": 12345}),
        ("POST", "/reauth", {"password": 123}),
    ]
    for method, path, invalid in routes:
        url = f"{base}/api/identity{path}"
        malformed = http.request(method, url, data=b'{"oops', headers={"Content-Type": "application/json"},
                                 timeout=T)
        assert_error(malformed, 400, "malformed_json")
        media = http.request(method, url, data=b"email=a", timeout=T,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert_error(media, 415)
        fields = http.request(method, url, json=invalid, timeout=T)
        error = assert_error(fields, 422)
        assert error.get("fields"), (path, error)
        time.sleep(0.2)
    assert me(base, http).json()["name"] == "Bea"  # nothing applied


def test_sessions_listed_with_devices_and_the_others_ended(platform: Platform):
    base = platform.url
    _, address = sign_up(base, "dev")
    phone = requests.Session()
    phone.headers["User-Agent"] = "PortalTest-Phone/1.0"
    phone = login(base, address, http=phone)
    laptop = login(base, address)
    tablet = login(base, address)
    ids = {phone.session_id, laptop.session_id, tablet.session_id}  # type: ignore[attr-defined]
    assert len(ids) == 3  # a new session id at every login

    # Logging in again in the same browser replaces its session: the old cookie is over.
    old_cookie = dict(tablet.cookies)
    tablet = login(base, address, http=tablet)
    assert tablet.session_id not in ids  # type: ignore[attr-defined]
    assert_error(requests.get(f"{base}/api/identity/me", cookies=old_cookie, timeout=T), 401)

    listed = laptop.get(f"{base}/api/identity/sessions", timeout=T)
    assert listed.status_code == 200, listed.text
    items = {s["id"]: s for s in listed.json()["items"]}
    assert set(items) == {phone.session_id, laptop.session_id, tablet.session_id}  # type: ignore[attr-defined]
    mine = items[laptop.session_id]  # type: ignore[attr-defined]
    assert mine["current"] is True and sum(s["current"] for s in items.values()) == 1
    assert items[phone.session_id]["user_agent"] == "PortalTest-Phone/1.0"  # type: ignore[attr-defined]
    for s in items.values():
        assert s["created_at"] and s["last_seen_at"] and s["expires_at"], s
        lifetime = datetime.fromisoformat(s["expires_at"]) - datetime.fromisoformat(s["created_at"])
        assert abs(lifetime - timedelta(seconds=ABSOLUTE_SECONDS)) < timedelta(seconds=5), s

    # Someone else's session, or one that does not exist, cannot be ended.
    _, other_address = sign_up(base, "oth")
    other = login(base, other_address)
    assert_error(other.delete(f"{base}/api/identity/sessions/{phone.session_id}", timeout=T), 404)  # type: ignore[attr-defined]
    assert_error(laptop.delete(f"{base}/api/identity/sessions/{uuid.uuid4()}", timeout=T), 404)
    assert me(base, phone).status_code == 200

    ended = laptop.delete(f"{base}/api/identity/sessions/others", timeout=T)
    assert ended.status_code == 200 and ended.json()["revoked"] == 2, ended.text
    assert_error(me(base, phone), 401)
    assert_error(me(base, tablet), 401)
    assert me(base, laptop).status_code == 200
    assert [s["id"] for s in laptop.get(f"{base}/api/identity/sessions", timeout=T).json()["items"]] == [
        laptop.session_id]  # type: ignore[attr-defined]

    # Resending the confirmation link needs a session; it mails a new token.
    assert_error(requests.post(f"{base}/api/identity/email/verification", timeout=T), 401)
    before = len(mailed_tokens(platform, address, "verify-email"))
    resent = laptop.post(f"{base}/api/identity/email/verification", timeout=T)
    assert resent.status_code == 202, resent.text
    wait_for_token(platform, address, "verify-email", already=before)
