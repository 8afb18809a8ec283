"""Registration, login, logout, /me and the session resolution, against a real database."""

from __future__ import annotations

import statistics
import time
import uuid

import pytest

from services.identity.app import create_app
from services.identity.bootstrap import bootstrap
from services.identity.config import Settings
from tests.integration.identity.conftest import (
    GATEWAY,
    PASSWORD,
    IdentityClient,
    cookie_value,
    outbox_events,
    set_cookie_header,
)

pytestmark = pytest.mark.integration


def test_register_returns_the_profile_and_never_a_secret(client, container):
    resp = client.call("POST", "/users", json={"name": "Ada", "email": "  Ada@Example.COM ",
                                               "phone": "+44 20 7946 0000", "password": "correct horse battery"})
    assert resp.status_code == 201
    body = resp.get_json()
    assert set(body) == {"id", "name", "email", "phone", "email_verified"}
    assert body["email"] == "ada@example.com" and body["email_verified"] is False
    assert "password" not in resp.get_data(as_text=True)
    [event] = outbox_events(container, "identity.user.registered")
    assert event["subject"] == body["id"] and event["payload"]["email"] == "ada@example.com"
    assert "password" not in str(event)


def test_registering_a_taken_address_answers_as_for_a_new_one(client, container):
    """No enumeration: an address with an account gets the same status and body shape as a new one, no
    second account, and no session or token for the stranger; its owner is mailed instead."""
    owner = client.register("dup@example.com")
    resp = client.call("POST", "/users", json={"name": "X", "email": "DUP@example.com",
                                               "password": "another long password"})
    fresh = client.call("POST", "/users", json={"name": "X", "email": "new-dup@example.com",
                                                "password": "another long password"})
    assert resp.status_code == fresh.status_code == 201, resp.get_json()
    body, other = resp.get_json(), fresh.get_json()
    assert set(body) == set(other) == {"id", "name", "email", "phone", "email_verified"}
    assert body == {**body, "name": "X", "email": "dup@example.com", "phone": None, "email_verified": False}
    assert body["id"] != owner["id"] and len(body["id"]) == len(other["id"])
    assert set_cookie_header(resp, "portal_session") is None
    registered = [e["payload"]["email"] for e in outbox_events(container, "identity.user.registered")]
    assert registered.count("dup@example.com") == 1
    from sqlalchemy import select

    from services.identity.adapters import tables
    with container.runtime.engine.connect() as conn:
        mails = conn.execute(select(tables.mails.c.to_address, tables.mails.c.template, tables.mails.c.user_id)
                             .order_by(tables.mails.c.created_at)).all()
    to_owner = [(m.template, m.user_id) for m in mails if m.to_address == "dup@example.com"]
    assert to_owner == [("verify_email", owner["id"]), ("registration_attempt", owner["id"])]
    # the owner's password still works, the stranger's never does
    client.login("dup@example.com")
    assert client.call("POST", "/sessions", json={"email": "dup@example.com",
                                                  "password": "another long password"}).status_code == 401


def test_a_stranger_cannot_flood_the_owner_with_registration_notices(client, container):
    client.register("flood@example.com")
    for _ in range(container.settings.reset_limit + 3):
        resp = client.call("POST", "/users", json={"name": "X", "email": "flood@example.com",
                                                   "password": "another long password"})
        assert resp.status_code == 201
    from sqlalchemy import func, select

    from services.identity.adapters import tables
    with container.runtime.engine.connect() as conn:
        notices = conn.execute(select(func.count()).select_from(tables.mails).where(
            tables.mails.c.template == "registration_attempt")).scalar_one()
    assert notices == container.settings.reset_limit


def test_registration_takes_as_long_for_a_taken_address(identity_env, clock_file, monkeypatch, client, container):
    """Medians of interleaved runs, with the production argon2 parameters and no floor (the work alone), and a
    margin wide enough for a loaded machine: a taken address must not be answered in a fraction of the time
    (before: no hash, no write — an early 409)."""
    monkeypatch.delenv("IDENTITY_ARGON2_MEMORY_KIB")
    monkeypatch.delenv("IDENTITY_ARGON2_TIME_COST")
    monkeypatch.setenv("IDENTITY_REGISTER_MIN_SECONDS", "0")
    real = bootstrap(Settings.from_env(), run_migrations=False)
    try:
        timed = IdentityClient(create_app(real), real.settings.common.internal_secret)
        timed.register("timed@example.com")

        def ask(address: str) -> float:
            started = time.perf_counter()
            resp = timed.call("POST", "/users", json={"name": "T", "email": address,
                                                      "password": "another long password"})
            assert resp.status_code == 201, resp.get_json()
            return time.perf_counter() - started

        runs: dict[str, list[float]] = {"taken": [], "new": []}
        for _ in range(9):
            runs["taken"].append(ask("timed@example.com"))
            runs["new"].append(ask(f"t-{uuid.uuid4().hex[:10]}@example.com"))
        taken, new = statistics.median(runs["taken"]), statistics.median(runs["new"])
        assert taken > 0.5 * new and new > 0.5 * taken, runs  # the hash dominates both
    finally:
        real.runtime.engine.dispose()
    # and every answer waits for the floor at least
    started = time.perf_counter()
    assert client.call("POST", "/users", json={"name": "T", "email": "timed@example.com",
                                               "password": "another long password"}).status_code == 201
    assert time.perf_counter() - started >= container.settings.register_min_seconds


@pytest.mark.parametrize("body, field", [
    ({"name": "A", "email": "a@example.com", "password": "short"}, "password"),
    ({"name": "A", "email": "a@example.com", "password": "x" * 1025}, "password"),
    ({"name": "A", "email": "not-an-email", "password": "correct horse battery"}, "email"),
    ({"name": "", "email": "a@example.com", "password": "correct horse battery"}, "name"),
    ({"email": "a@example.com", "password": "correct horse battery"}, "name"),
    ({"name": "A", "email": "a@example.com", "password": "correct horse battery", "phone": "call me"}, "phone"),
    ({"name": "A", "email": "a@example.com", "password": "correct horse battery", "admin": True}, "admin"),
])
def test_register_bad_input_is_422_with_fields(client, body, field):
    resp = client.call("POST", "/users", json=body)
    assert resp.status_code == 422
    assert field in resp.get_json()["error"]["fields"]


def test_register_malformed_json_and_wrong_media_type(client):
    resp = client.call("POST", "/users", data="{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "malformed_json"
    resp = client.call("POST", "/users", data="name=a", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 415
    resp = client.call("POST", "/users", json=["a", "list"])
    assert resp.status_code == 422


def test_unsigned_calls_are_refused(client):
    resp = client.http.post("/users", json={"name": "A", "email": "a@example.com", "password": "x" * 12})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "untrusted_caller"


def test_login_sets_an_httponly_lax_cookie_and_returns_a_csrf_token(client, container):
    user = client.register("bob@example.com")
    resp = client.call("POST", "/sessions", json={"email": "BOB@example.com", "password": "correct horse battery"},
                       headers={"User-Agent": "pytest-browser/1.0"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["user"]["id"] == user["id"] and body["csrf_token"] and body["session_id"]
    header = set_cookie_header(resp, "portal_session")
    assert header is not None
    attrs = [a.strip().lower() for a in header.split(";")]
    assert "httponly" in attrs and "samesite=lax" in attrs and "path=/" in attrs and "secure" not in attrs
    token = cookie_value(resp, "portal_session")
    assert len(token) >= 43  # 256 bits, urlsafe base64
    # only the hash is stored
    from sqlalchemy import select

    from services.identity.adapters import tables
    with container.runtime.engine.connect() as conn:
        stored = conn.execute(select(tables.sessions.c.token_hash, tables.sessions.c.user_agent)).one()
    assert stored[0] != token and len(stored[0]) == 64 and stored[1] == "pytest-browser/1.0"
    [started] = outbox_events(container, "identity.session.started")
    assert started["payload"]["session_id"] == body["session_id"] and started["actor"] == user["id"]


def test_login_over_https_uses_the_host_prefixed_secure_cookie(client):
    client.register("tls@example.com")
    resp = client.call("POST", "/sessions", json={"email": "tls@example.com", "password": "correct horse battery"},
                       headers={"X-Forwarded-Proto": "https"})
    assert resp.status_code == 200
    header = set_cookie_header(resp, "__Host-portal_session")
    assert header is not None and "Secure" in header and "HttpOnly" in header and "Path=/" in header
    assert "Domain" not in header
    assert set_cookie_header(resp, "portal_session") is None


def test_wrong_password_and_unknown_email_give_the_same_401(client, container):
    client.register("carol@example.com")
    wrong = client.call("POST", "/sessions", json={"email": "carol@example.com", "password": "nope nope nope"})
    unknown = client.call("POST", "/sessions", json={"email": "nobody@example.com", "password": "nope nope nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"
    assert "Set-Cookie" not in wrong.headers and "Set-Cookie" not in unknown.headers
    reasons = sorted(e["payload"]["reason"] for e in outbox_events(container, "identity.login.failed"))
    assert reasons == ["bad_password", "unknown_email"]
    assert all("nope" not in str(e) for e in outbox_events(container))
    # An address that names no account never reaches the server log, only its keyed digest.
    assert "nobody" not in str(outbox_events(container, "identity.login.failed"))


def test_login_bad_input(client):
    assert client.call("POST", "/sessions", json={"email": "a@example.com"}).status_code == 422
    assert client.call("POST", "/sessions", json={}).status_code == 422
    assert client.call("POST", "/sessions", json={"email": 5, "password": []}).status_code == 422


def test_me_needs_a_user_and_shows_the_profile(client):
    assert client.call("GET", "/me").status_code == 401
    user = client.register("dave@example.com", phone="+1 555 0100")
    caller = client.login("dave@example.com")
    resp = client.call("GET", "/me", caller)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["id"] == user["id"] and body["phone"] == "+1 555 0100" and body["roles"] == []
    assert "password_hash" not in body


def test_resolve_gives_what_the_gateway_needs(client, container):
    import hashlib

    client.register("erin@example.com")
    resp = client.call("POST", "/sessions", json={"email": "erin@example.com", "password": "correct horse battery"})
    token, csrf = cookie_value(resp, "portal_session"), resp.get_json()["csrf_token"]
    info = client.resolve(token).get_json()
    assert set(info) == {"session_id", "user_id", "roles", "csrf_hash", "auth_time", "policy_acceptance_required",
                         "valid_until"}
    assert info["csrf_hash"] == hashlib.sha256(csrf.encode()).hexdigest()
    assert info["policy_acceptance_required"] is False and isinstance(info["auth_time"], int)
    idle = container.settings.session_idle_seconds
    assert idle - 1 <= info["valid_until"] - info["auth_time"] <= idle + 1  # just logged in: ends after idle
    bad = client.resolve("not-a-session")
    assert bad.status_code == 404 and bad.get_json()["error"]["code"] == "session_invalid"


def test_resolve_is_for_services_only(client):
    client.register("frank@example.com")
    caller = client.login("frank@example.com")
    assert client.call("POST", "/internal/sessions/resolve", json={"token": caller.token}).status_code == 403
    assert client.call("POST", "/internal/sessions/resolve", caller, json={"token": caller.token}).status_code == 403
    assert client.call("POST", "/internal/sessions/resolve", GATEWAY, json={}).status_code == 422


def test_logout_ends_the_session_at_once_and_bumps_the_epoch(client, container, redis_client):
    client.register("gina@example.com")
    caller = client.login("gina@example.com")
    before = int(redis_client.get("portal:sessions:epoch") or 0)
    resp = client.call("DELETE", "/sessions/current", caller)
    assert resp.status_code == 204
    cleared = set_cookie_header(resp, "portal_session")
    assert cleared is not None and ("Max-Age=0" in cleared or "Expires=Thu, 01 Jan 1970" in cleared)
    assert int(redis_client.get("portal:sessions:epoch")) == before + 1
    assert client.resolve(caller.token).status_code == 404
    [ended] = outbox_events(container, "identity.session.ended")
    assert ended["payload"]["reason"] == "logout"
    assert client.call("DELETE", "/sessions/current").status_code == 401


def test_a_new_login_replaces_the_browsers_previous_session(client):
    client.register("hal@example.com")
    first = client.login("hal@example.com")
    second = client.login("hal@example.com", previous=first)
    assert second.identity.session_id != first.identity.session_id
    assert client.resolve(first.token).status_code == 404
    assert client.resolve(second.token).status_code == 200


def test_idle_and_absolute_timeouts(client, clock_file):
    from tests.integration.identity.conftest import advance

    client.register("ivy@example.com")
    caller = client.login("ivy@example.com")
    advance(clock_file, 29 * 60)
    assert client.resolve(caller.token).status_code == 200  # used: last seen moves
    advance(clock_file, 29 * 60)
    assert client.resolve(caller.token).status_code == 200
    advance(clock_file, 31 * 60)  # idle for more than 30 minutes
    assert client.resolve(caller.token).status_code == 404
    # absolute: used every 20 minutes, still over after 12 hours
    caller = client.login("ivy@example.com")
    for _ in range(36):
        advance(clock_file, 20 * 60)
        if client.resolve(caller.token).status_code != 200:
            break
    assert client.resolve(caller.token).status_code == 404


def test_policy_is_seeded_and_public(client):
    resp = client.call("GET", "/policy")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["version"] == "1" and body["reduces_rights"] is False and body["published_at"]


def test_unknown_routes_and_methods_use_the_error_shape(client):
    assert client.call("GET", "/nope").get_json()["error"]["code"] == "not_found"
    resp = client.call("PUT", "/policy", json={})
    assert resp.status_code == 405 and resp.get_json()["error"]["code"] == "method_not_allowed"


def test_production_hash_parameters(container, monkeypatch):
    from services.identity.adapters.passwords import Argon2Hasher
    from services.identity.config import Settings

    hashed = Argon2Hasher().hash("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=7168,t=5,p=1$")  # an OWASP setting (docs/decisions.md §11)
    for name in ("IDENTITY_ARGON2_MEMORY_KIB", "IDENTITY_ARGON2_TIME_COST", "IDENTITY_ARGON2_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)  # this suite lowers them; the defaults are what production gets
    settings = Settings.from_env()
    assert (settings.argon2_memory_kib, settings.argon2_time_cost, settings.argon2_parallelism) == (7168, 5, 1)


def test_a_hash_of_older_parameters_is_replaced_at_the_next_login(client, container):
    """Changing the argon2id parameters (docs/decisions.md §11) reaches stored hashes: the next successful
    login re-hashes with the current ones; a failed one changes nothing."""
    from sqlalchemy import select, update

    from services.identity.adapters import tables
    from services.identity.adapters.passwords import Argon2Hasher

    user = client.register("old-hash@example.com")
    users = tables.users
    old = Argon2Hasher(memory_kib=19456, time_cost=2, parallelism=1).hash("correct horse battery")

    def stored() -> str:
        with container.runtime.read_session() as s:
            return s.execute(select(users.c.password_hash).where(users.c.id == user["id"])).scalar_one()

    with container.runtime.write_session() as s, s.begin():
        s.execute(update(users).where(users.c.id == user["id"]).values(password_hash=old))
    wrong = client.call("POST", "/sessions", json={"email": "old-hash@example.com", "password": "not it at all"})
    assert wrong.status_code == 401 and stored() == old
    ok = client.call("POST", "/sessions", json={"email": "old-hash@example.com", "password": "correct horse battery"})
    assert ok.status_code == 200, ok.get_json()
    current = container.settings
    assert stored().startswith(f"$argon2id$v=19$m={current.argon2_memory_kib},t={current.argon2_time_cost},"
                               f"p={current.argon2_parallelism}$")
    assert client.call("POST", "/sessions", json={"email": "old-hash@example.com",
                                                  "password": "correct horse battery"}).status_code == 200


def test_openapi_document_lists_identity_routes(client):
    resp = client.http.get("/openapi.json")
    assert resp.status_code == 200
    paths = resp.get_json()["paths"]
    for path in ("/users", "/sessions", "/sessions/current", "/me", "/reauth", "/consent", "/policy",
                 "/policy/acceptances", "/email/verify", "/password-resets", "/internal/sessions/resolve"):
        assert path in paths


def test_internal_user_contact_for_other_services(client):
    from shared.identity import Identity

    user = client.register("contact@example.com", phone="+1 555 0199")
    linking = Identity(user_id="system:linking")
    resp = client.call("GET", f"/internal/users/{user['id']}", linking)
    assert resp.status_code == 200 and resp.get_json() == user
    assert client.call("GET", "/internal/users/unknown", linking).status_code == 404
    caller = client.login("contact@example.com")
    assert client.call("GET", f"/internal/users/{user['id']}", caller).status_code == 403


def test_over_https_the_consent_and_analytics_cookies_are_host_prefixed_too(client):
    https = {"X-Forwarded-Proto": "https"}
    resp = client.call("PUT", "/consent", json={"analytics": True}, headers=https)
    assert resp.status_code == 200, resp.get_json()
    for name in ("__Host-portal_consent", "__Host-portal_anon"):
        header = set_cookie_header(resp, name)
        assert header is not None and "Secure" in header and "Path=/" in header and "Domain" not in header, name
    assert set_cookie_header(resp, "portal_consent") is None and set_cookie_header(resp, "portal_anon") is None
    consent = set_cookie_header(resp, "__Host-portal_consent").split(";")[0].split("=", 1)[1]
    # the browser sends it back under the same name, and its choice is found
    again = client.call("GET", "/consent", headers={**https, "Cookie": f"__Host-portal_consent={consent}"})
    assert again.get_json()["decided"] is True and again.get_json()["analytics"] is True


def test_registration_refuses_one_of_the_most_common_passwords(client):
    resp = client.call("POST", "/users", json={"name": "Ada", "email": "common@example.com",
                                               "password": "qwerty123456"})
    assert resp.status_code == 422 and "password" in resp.get_json()["error"]["fields"], resp.get_json()


def test_password_change_proves_the_current_one_and_ends_the_other_sessions(client, container):
    email = client.register()["email"]
    here = client.login(email)
    elsewhere = client.login(email, ip="198.51.100.7")
    wrong = client.call("POST", "/password", here, json={"current_password": "not it at all",
                                                         "new_password": "a brand new passphrase"})
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "invalid_credentials"
    short = client.call("POST", "/password", here, json={"current_password": PASSWORD, "new_password": "short"})
    assert short.status_code == 422 and "new_password" in short.get_json()["error"]["fields"]
    common = client.call("POST", "/password", here, json={"current_password": PASSWORD,
                                                          "new_password": "Qwerty123456"})
    assert common.status_code == 422, common.get_json()
    assert "too common" in common.get_json()["error"]["fields"]["new_password"][0]
    missing = client.call("POST", "/password", here, json={"new_password": "a brand new passphrase"})
    assert missing.status_code == 422 and "current_password" in missing.get_json()["error"]["fields"]
    assert client.call("POST", "/password", json={"current_password": PASSWORD,
                                                  "new_password": "a brand new passphrase"}).status_code == 401

    done = client.call("POST", "/password", here, json={"current_password": PASSWORD,
                                                        "new_password": "a brand new passphrase"})
    assert done.status_code == 200 and done.get_json() == {"sessions_ended": 1}
    assert client.resolve(here.token or "").status_code == 200  # this session stays
    assert client.resolve(elsewhere.token or "").status_code != 200  # the other one ended
    assert client.call("POST", "/sessions", json={"email": email, "password": PASSWORD}).status_code == 401
    client.login(email, password="a brand new passphrase")
    assert outbox_events(container, "identity.password.changed")[-1]["payload"]["sessions_ended"] == 1
