"""Registration, login, logout and session resolution, with in-memory fakes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.identity import handlers
from services.identity.domain.errors import Invalid, InvalidCredentials, SessionInvalid, Throttled
from services.identity.domain.rules import token_hash
from services.identity.handlers.sessions import LoginRequest, email_digest, revoke_other_sessions, revoke_session
from tests.unit.identity.conftest import make_settings
from tests.unit.identity.fakes import FakeHasher

PASSWORD = "correct horse battery"


def register(uow, hasher, email="ada@example.com", **kw):
    return handlers.register(uow, hasher, make_settings(), name="Ada", email=email, phone=kw.pop("phone", None),
                             password=kw.pop("password", PASSWORD), **kw)


def login(uow, hasher, counters, settings, email="ada@example.com", password=PASSWORD, **kw):
    return handlers.login(uow, hasher, counters, settings, LoginRequest(email=email, password=password, **kw))


def types(store):
    return [e.type for e in store.events]


def test_register_stores_a_hash_and_accepts_the_current_policy(uow, store, hasher):
    user = register(uow, hasher, email=" Ada@Example.com")
    stored = store.users.rows[user.id]
    assert stored.email == "ada@example.com" and stored.password_hash != PASSWORD
    assert hasher.verify(stored.password_hash, PASSWORD)
    assert types(store) == ["identity.user.registered", "identity.policy.accepted",
                            "identity.email.verification_requested", "identity.mail.queued"]
    assert store.policies.accepted(user.id)[0][0] == "1"


def test_a_taken_address_gets_the_same_answer_after_the_same_hash_and_its_owner_a_mail(uow, store, hasher,
                                                                                      counters):
    owner = register(uow, hasher)
    before, events = hasher.hashed, len(store.events)
    answer = handlers.register(uow, hasher, make_settings(), name="Eve", email="ADA@example.com", phone=None,
                               password="another long password", counters=counters)
    assert hasher.hashed == before + 1  # the same costly step as a new account
    assert answer.id != owner.id and answer.email == "ada@example.com" and answer.email_verified is False
    assert set(answer.profile()) == set(owner.profile())
    assert list(store.users.rows) == [owner.id]  # nothing stored for the stranger
    assert types(store)[events:] == ["identity.mail.queued"]
    assert [(m.to_address, m.template) for m in store.mails.rows.values()][-1] == (
        "ada@example.com", "registration_attempt")


def test_register_refuses_short_passwords(uow, store, hasher):
    register(uow, hasher)
    with pytest.raises(Invalid) as exc:
        register(uow, hasher, email="b@example.com", password="too short")
    assert "password" in exc.value.fields
    assert len(store.users.rows) == 1


def test_login_opens_a_session_storing_only_hashes(uow, store, hasher, counters, settings):
    user = register(uow, hasher)
    result = login(uow, hasher, counters, settings, email="ADA@example.com", user_agent="ua", client_ip="1.2.3.4")
    stored = store.sessions.rows[result.session.id]
    assert stored.token_hash == token_hash(result.token) and stored.csrf_hash == token_hash(result.csrf_token)
    assert result.token not in str(store.sessions.rows) and stored.user_id == user.id
    assert (stored.expires_at - stored.created_at).total_seconds() == settings.session_absolute_seconds
    assert types(store)[-1] == "identity.session.started"


def test_unknown_email_spends_a_hash_and_answers_like_a_wrong_password(uow, store, hasher, counters, settings):
    register(uow, hasher)
    with pytest.raises(InvalidCredentials) as wrong:
        login(uow, hasher, counters, settings, password="wrong password!")
    with pytest.raises(InvalidCredentials) as unknown:
        login(uow, hasher, counters, settings, email="nobody@example.com")
    assert wrong.value.message == unknown.value.message
    assert hasher.wasted == 1
    failed = [e for e in store.events if e.type == "identity.login.failed"]
    assert [e.payload["reason"] for e in failed] == ["bad_password", "unknown_email"]


def test_a_failed_login_names_the_address_only_when_it_is_an_account(uow, store, hasher, counters, settings):
    """The server log may hold an account's address (audit seals it under that person's key, and erasure
    takes it), never one that names nobody: a typo, someone else's address, an erased person's."""
    user = register(uow, hasher)
    for email in ("Ada@Example.com", "nobody@example.com", "NOBODY@example.com"):
        with pytest.raises(InvalidCredentials):
            login(uow, hasher, counters, settings, email=email, password="wrong password!")
    known, unknown, again = [e for e in store.events if e.type == "identity.login.failed"]
    assert known.payload["email"] == "ada@example.com" and known.payload["user_id"] == user.id
    assert known.subject == user.id
    assert unknown.payload["email"] == "" and unknown.payload["user_id"] is None and unknown.subject == "unknown"
    assert "nobody" not in str(unknown.payload)
    # Attempts on one address can still be counted together, without the address.
    assert unknown.payload["email_digest"] == again.payload["email_digest"] != known.payload["email_digest"]
    assert len(unknown.payload["email_digest"]) == 32
    other_key = replace(settings, common=replace(settings.common, internal_secret=b"x" * 32))
    assert email_digest(other_key, "nobody@example.com") != unknown.payload["email_digest"]  # keyed


def test_throttled_attempts_on_an_account_are_its_own(uow, store, hasher, counters, settings):
    user = register(uow, hasher)
    for _ in range(settings.throttle_free_failures + 1):
        with pytest.raises((InvalidCredentials, Throttled)):  # wrong password, then throttled
            login(uow, hasher, counters, settings, password="wrong password!")
    throttled = [e for e in store.events if e.type == "identity.login.failed" and e.payload["reason"] == "throttled"]
    assert throttled and all(e.payload["user_id"] == user.id and e.subject == user.id for e in throttled)


def test_login_rehashes_an_outdated_hash(uow, store, hasher, counters, settings):
    user = register(uow, hasher)
    store.users.rows[user.id].password_hash = "fake$" + PASSWORD[::-1]
    rehasher = FakeHasher(needs_rehash=True)
    login(uow, rehasher, counters, settings)
    assert store.users.rows[user.id].password_hash == rehasher.hash(PASSWORD)


def test_logout_ends_the_session_once_and_bumps_the_epoch(uow, store, hasher, counters, settings):
    user = register(uow, hasher)
    result = login(uow, hasher, counters, settings)
    handlers.logout(uow, counters, result.session.id, user.id)
    handlers.logout(uow, counters, result.session.id, user.id)  # twice: no error, no second event
    assert counters.epoch == 1
    assert store.sessions.rows[result.session.id].end_reason == "logout"
    assert types(store).count("identity.session.ended") == 1
    with pytest.raises(SessionInvalid):
        handlers.resolve_session(uow, uow, counters, settings, result.token)


def test_logout_cannot_end_someone_elses_session(uow, store, hasher, counters, settings):
    register(uow, hasher)
    result = login(uow, hasher, counters, settings)
    handlers.logout(uow, counters, result.session.id, "someone-else")
    assert store.sessions.rows[result.session.id].ended_at is None


def test_resolve_reports_roles_and_refreshes_last_seen(uow, store, hasher, counters, settings, fake_clock):
    user = register(uow, hasher)
    store.users.role_rows[user.id] = {"support"}
    result = login(uow, hasher, counters, settings)
    fake_clock.advance(120)
    info = handlers.resolve_session(uow, uow, counters, settings, result.token)
    assert info["user_id"] == user.id and info["roles"] == ["support"]
    assert info["csrf_hash"] == token_hash(result.csrf_token)
    assert info["policy_acceptance_required"] is False
    assert store.sessions.rows[result.session.id].last_seen_at > result.session.last_seen_at
    # Touched now: the session ends unless used within the idle timeout from now.
    now = store.sessions.rows[result.session.id].last_seen_at
    assert info["valid_until"] == int(now.timestamp()) + settings.session_idle_seconds
    # Not touched (seen a moment ago): the end counts from the stored last_seen_at.
    fake_clock.advance(10)
    assert handlers.resolve_session(uow, uow, counters, settings, result.token)["valid_until"] == info["valid_until"]


def test_resolve_never_promises_past_the_absolute_end(uow, store, hasher, counters, settings, fake_clock):
    register(uow, hasher)
    result = login(uow, hasher, counters, settings)
    ends = int(result.session.expires_at.timestamp())
    while True:
        fake_clock.advance(settings.session_idle_seconds - 60)
        info = handlers.resolve_session(uow, uow, counters, settings, result.token)
        assert info["valid_until"] <= ends
        if info["valid_until"] == ends:
            break


def test_resolve_ends_idle_sessions(uow, store, hasher, counters, settings, fake_clock):
    register(uow, hasher)
    result = login(uow, hasher, counters, settings)
    fake_clock.advance(settings.session_idle_seconds + 1)
    with pytest.raises(SessionInvalid):
        handlers.resolve_session(uow, uow, counters, settings, result.token)
    assert store.sessions.rows[result.session.id].end_reason == "idle_timeout"
    assert counters.epoch == 1


def test_resolve_ends_sessions_past_their_absolute_lifetime(uow, store, hasher, counters, settings, fake_clock):
    register(uow, hasher)
    result = login(uow, hasher, counters, settings)
    for _ in range(int(settings.session_absolute_seconds / 1200)):
        fake_clock.advance(1200)
        try:
            handlers.resolve_session(uow, uow, counters, settings, result.token)
        except SessionInvalid:
            break
    assert store.sessions.rows[result.session.id].end_reason == "absolute_timeout"


def test_login_replaces_the_previous_session(uow, store, hasher, counters, settings):
    register(uow, hasher)
    first = login(uow, hasher, counters, settings)
    second = login(uow, hasher, counters, settings, previous_session_id=first.session.id)
    assert store.sessions.rows[first.session.id].end_reason == "replaced"
    assert second.session.id != first.session.id and counters.epoch == 1


def test_revoke_one_and_others(uow, store, hasher, counters, settings):
    user = register(uow, hasher)
    a, b, c = (login(uow, hasher, counters, settings) for _ in range(3))
    revoke_session(uow, counters, user.id, b.session.id)
    assert store.sessions.rows[b.session.id].end_reason == "revoked"
    assert revoke_other_sessions(uow, counters, user.id, a.session.id) == 1
    assert store.sessions.rows[a.session.id].ended_at is None
    assert store.sessions.rows[c.session.id].ended_at is not None
    listed = handlers.sessions.list_sessions(uow, user.id, a.session.id)
    assert [(s["id"], s["current"]) for s in listed] == [(a.session.id, True)]
