"""Throttling, mail sending, consent and profile rules, with in-memory fakes."""

from __future__ import annotations

import pytest

from services.identity import handlers
from services.identity.domain.errors import InvalidCredentials, ReauthRequired, Throttled, TokenInvalid
from services.identity.domain.rules import guess_delay
from services.identity.handlers import consent, email, profile
from services.identity.handlers.mail import MAX_ATTEMPTS, send_pending_mails
from services.identity.handlers.sessions import LoginRequest
from tests.unit.identity.fakes import FakeMailer

PASSWORD = "correct horse battery"


@pytest.fixture
def user(uow, hasher, settings):
    return handlers.register(uow, hasher, settings, name="Ada", email="ada@example.com", phone=None,
                             password=PASSWORD)


class CountingHasher:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.checks = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def verify(self, password_hash, password):
        self.checks += 1
        return self.inner.verify(password_hash, password)


def test_guess_delays_grow_and_are_capped():
    assert [guess_delay(n, 5, 900) for n in (0, 4, 5, 6, 7, 14, 15, 99)] == [0, 0, 1, 2, 4, 512, 900, 900]


def test_never_more_than_100_consecutive_guesses(uow, store, hasher, counters, settings, user, fake_clock):
    counting = CountingHasher(hasher)
    outcomes = []
    for _ in range(300):
        try:
            handlers.login(uow, counting, counters, settings, LoginRequest("ada@example.com", "wrong guess!!"))
        except InvalidCredentials:
            outcomes.append("401")
        except Throttled as exc:
            outcomes.append("429")
            fake_clock.advance(exc.retry_after)
    assert counting.checks == 100 and outcomes.count("401") == 100
    with pytest.raises(Throttled):  # locked even for the right password, however long one waits
        fake_clock.advance(7 * 24 * 3600)
        handlers.login(uow, counting, counters, settings, LoginRequest("ada@example.com", PASSWORD))


def test_mails_are_sent_recorded_and_wiped(uow, store, user):
    mailer = FakeMailer()
    assert send_pending_mails(uow, mailer) == (1, 0)
    [mail] = store.mails.rows.values()
    assert mail.sent_at and mail.body is None and mailer.sent[0]["to"] == "ada@example.com"
    assert "token=" in mailer.sent[0]["body"]
    assert store.events[-1].type == "identity.mail.sent"
    assert send_pending_mails(uow, mailer) == (0, 0)  # a redelivered signal finds nothing to send


def test_failed_mails_are_retried_then_given_up(uow, store, user):
    down = FakeMailer(fail=True)
    for _ in range(MAX_ATTEMPTS):
        assert send_pending_mails(uow, down) == (0, 1)
    assert send_pending_mails(uow, down) == (0, 0)  # recorded as failed, no longer blocking the queue
    [mail] = store.mails.rows.values()
    assert mail.attempts == MAX_ATTEMPTS and "mail server down" in mail.last_error and mail.sent_at is None


def test_verification_token_is_single_use(uow, store, user):
    body = next(iter(store.mails.rows.values())).body
    token = body.split("token=")[1].split()[0]
    assert email.verify_email(uow, token)["email_verified"] is True
    with pytest.raises(TokenInvalid):
        email.verify_email(uow, token)


def test_email_change_needs_recent_reauth(uow, store, hasher, counters, settings, user, fake_clock):
    result = handlers.login(uow, hasher, counters, settings, LoginRequest("ada@example.com", PASSWORD))
    fake_clock.advance(settings.reauth_seconds + 1)
    with pytest.raises(ReauthRequired):
        profile.update_profile(uow, settings, user_id=user.id, session_id=result.session.id,
                               email="new@example.com", name="Changed")
    assert store.users.rows[user.id].name == "Ada"
    profile.reauthenticate(uow, hasher, counters, settings, user_id=user.id, session_id=result.session.id,
                           password=PASSWORD, client_ip="")
    out = profile.update_profile(uow, settings, user_id=user.id, session_id=result.session.id,
                                 email="new@example.com")
    assert out["email"] == "ada@example.com" and out["pending_email"] == "new@example.com"
    templates = sorted(m.template for m in store.mails.rows.values())
    assert templates == ["change_email", "email_change_notice", "verify_email"]


def test_anonymous_consent_is_carried_into_the_account_at_login(uow, store, hasher, counters, settings, user):
    consent.set_consent(uow, analytics=True, user_id=None, browser_id="browser-1")
    assert consent.get_consent(uow, user_id=user.id, browser_id=None)["decided"] is False
    handlers.login(uow, hasher, counters, settings,
                   LoginRequest("ada@example.com", PASSWORD, browser_id="browser-1"))
    mine = consent.get_consent(uow, user_id=user.id, browser_id=None)
    assert mine["analytics"] is True and mine["policy_version"] == "1"
    assert store.consents.rows[-1].source == "login_carry"
    # a newer choice of the account is not overwritten by an older browser choice
    consent.set_consent(uow, analytics=False, user_id=user.id, browser_id="browser-2")
    handlers.login(uow, hasher, counters, settings,
                   LoginRequest("ada@example.com", PASSWORD, browser_id="browser-1"))
    assert consent.get_consent(uow, user_id=user.id, browser_id=None)["analytics"] is False
