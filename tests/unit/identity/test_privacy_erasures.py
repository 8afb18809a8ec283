"""Erasure: re-authentication, legal holds, identity's own erasure, the services' answers, the ledger."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from services.identity.api.errors import STATUS
from services.identity.domain import errors
from services.identity.domain.privacy import Kept
from services.identity.handlers import privacy_erasures as erasures
from services.identity.handlers.profile import reauthenticate
from services.identity.handlers.sessions import check_password_guess
from shared import clock
from shared.identity import Identity
from tests.unit.identity.privacy_fakes import FakeLedgerFile
from tests.unit.identity.test_accounts_and_sessions import PASSWORD, login, register

ANSWER = {"erased": ["contact details"], "kept": [Kept("anonymized records", "the company's record", None)]}


@pytest.fixture
def ledger():
    return FakeLedgerFile()


@pytest.fixture
def person(uow, hasher, counters, settings):
    user = register(uow, hasher, phone="+32 2 555 00 00")
    return user, login(uow, hasher, counters, settings, user_agent="Firefox", client_ip="198.51.100.7")


def erase(uow, counters, settings, ledger, person):
    user, session = person
    return erasures.request_erasure(uow, counters, settings, ledger, user_id=user.id, session_id=session.session.id)


def answer(uow, settings, request, service, **overrides):
    return erasures.record_erasure_answer(uow, settings.privacy_services, service=service, request_id=request.id,
                                          user_id=request.user_id, **{**ANSWER, **overrides})


def test_erasure_needs_a_recent_reauthentication(uow, store, counters, settings, ledger, person, fake_clock):
    fake_clock.advance(settings.reauth_seconds + 1)
    with pytest.raises(errors.ReauthRequired) as err:
        erase(uow, counters, settings, ledger, person)
    assert STATUS[type(err.value)] == (428, "reauth_required")
    with pytest.raises(errors.ReauthRequired):
        erasures.request_erasure(uow, counters, settings, ledger, user_id=person[0].id, session_id=None)
    assert not store.privacy.erasures and store.users.rows[person[0].id].erased_at is None


def test_identity_erases_its_own_data_at_once(uow, store, hasher, counters, settings, ledger, person):
    user, session = person
    request = erase(uow, counters, settings, ledger, person)

    assert [e.type for e in store.events][-2:] == ["identity.session.ended", "identity.privacy.erasure_requested"]
    assert request.status == "pending"
    row = store.users.rows[user.id]
    assert (row.name, row.phone, row.erased_at is not None) == ("", None, True)
    assert "ada@example.com" not in str(store.users.rows) and not store.users.roles(user.id)
    stored = store.sessions.rows[session.session.id]
    assert stored.ended_at is not None and stored.end_reason == "account_erased"
    assert (stored.user_agent, stored.client_ip) == ("", "")
    assert not store.consents.rows and not store.policies.accepted(user.id) and not store.tokens.rows
    assert counters.epoch >= 1
    with pytest.raises(errors.InvalidCredentials):  # login refused
        check_password_guess(uow, hasher, counters, settings, "ada@example.com", PASSWORD, "")
    register(uow, hasher)  # the address is free again
    assert [e.request_id for e in ledger.lines] == [request.id] and store.privacy.ledger_rows[request.id]
    requested = next(e for e in store.events if e.type == "identity.privacy.erasure_requested")
    assert requested.payload == {"request_id": request.id, "user_id": user.id}
    status = erasures.erasure_status(uow, request_id=request.id, viewer=Identity(), services=settings.privacy_services)
    assert status["waiting_for"] == ["linking", "content", "audit"]
    assert status["results"]["identity"]["erased"] and status["results"]["identity"]["kept"]


def test_it_completes_when_every_service_answered(uow, store, counters, settings, ledger, person):
    request = erase(uow, counters, settings, ledger, person)
    assert answer(uow, settings, request, "linking") is False
    assert answer(uow, settings, request, "linking", erased=["changed"]) is False  # the first answer stands
    assert answer(uow, settings, request, "content") is False
    assert answer(uow, settings, request, "audit") is True
    status = erasures.erasure_status(uow, request_id=request.id, viewer=Identity(), services=settings.privacy_services)
    assert status["status"] == "completed" and status["waiting_for"] == []
    assert status["results"]["linking"]["erased"] == ["contact details"]
    assert status["results"]["linking"]["kept"] == [{"data": "anonymized records", "reason": "the company's record",
                                                     "until": None}]
    assert store.privacy.ledger_rows[request.id].completed_at is not None
    assert [e.type for e in store.events].count("identity.privacy.erasure_completed") == 1
    assert answer(uow, settings, request, "audit") is False  # a replay's answer changes nothing
    with pytest.raises(errors.UnknownErasureRequest):
        erasures.record_erasure_answer(uow, settings.privacy_services, service="linking", request_id="nope",
                                       user_id=request.user_id, **ANSWER)
    with pytest.raises(errors.UnknownErasureRequest):
        erasures.record_erasure_answer(uow, settings.privacy_services, service="linking", request_id=request.id,
                                       user_id="someone-else", **ANSWER)


def test_a_second_request_while_one_runs_is_a_conflict(uow, store, counters, settings, ledger, person):
    erase(uow, counters, settings, ledger, person)
    with pytest.raises(errors.ErasureRunning) as err:
        erase(uow, counters, settings, ledger, person)
    assert STATUS[type(err.value)][0] == 409 and len(store.privacy.erasures) == 1


def test_a_legal_hold_withholds_the_erasure_with_its_reason(uow, store, counters, settings, ledger, person):
    user, _ = person
    until = clock.now() + timedelta(days=90)
    hold = erasures.place_hold(uow, owner_id="compliance-1", user_id=user.id, reason=" litigation 42 ", until=until)
    assert (hold.reason, hold.owner_id) == ("litigation 42", "compliance-1")

    request = erase(uow, counters, settings, ledger, person)
    assert request.status == "withheld" and "litigation 42" in (request.reason or "") and request.hold_until == until
    assert store.users.rows[user.id].erased_at is None and not ledger.lines
    assert store.events[-1].type == "identity.privacy.erasure_withheld"
    assert store.events[-1].payload["hold_ids"] == [hold.id]
    # the owner sees why; nobody else even sees that it exists
    assert erasures.erasure_status(uow, request_id=request.id, viewer=Identity(user_id=user.id),
                                   services=())["reason"] == request.reason
    with pytest.raises(errors.ErasureNotFound):
        erasures.erasure_status(uow, request_id=request.id, viewer=Identity(user_id="other"), services=())
    assert erasures.erasure_status(uow, request_id=request.id, viewer=Identity(user_id="c", roles=frozenset(
        {"compliance"})), services=())["status"] == "withheld"

    erasures.release_hold(uow, hold_id=hold.id, released_by="compliance-2")
    erasures.release_hold(uow, hold_id=hold.id, released_by="compliance-2")  # idempotent
    assert [e.type for e in store.events].count("identity.privacy.hold_released") == 1
    assert erase(uow, counters, settings, ledger, person).status == "pending"


def test_an_expired_hold_no_longer_stops_anything(uow, hasher, counters, settings, ledger, person, fake_clock):
    erasures.place_hold(uow, owner_id="c", user_id=person[0].id, reason="audit", until=clock.now()
                        + timedelta(hours=1))
    fake_clock.advance(3601)
    reauthenticate(uow, hasher, counters, settings, user_id=person[0].id, session_id=person[1].session.id,
                   password=PASSWORD, client_ip="")
    assert erase(uow, counters, settings, ledger, person).status == "pending"


def test_hold_input_is_checked(uow, person):
    with pytest.raises(errors.Invalid) as err:
        erasures.place_hold(uow, owner_id="c", user_id=person[0].id, reason="  x ", until=None)
    assert "reason" in err.value.fields
    with pytest.raises(errors.Invalid) as err:
        erasures.place_hold(uow, owner_id="c", user_id=person[0].id, reason="why not",
                            until=clock.now() - timedelta(seconds=1))
    assert "until" in err.value.fields
    with pytest.raises(errors.Invalid) as err:
        erasures.place_hold(uow, owner_id="c", user_id="nobody", reason="why not", until=None)
    assert "user_id" in err.value.fields
    with pytest.raises(errors.HoldNotFound):
        erasures.release_hold(uow, hold_id="nope", released_by="c")


def test_replay_reapplies_the_ledger_after_a_restore(uow, store, counters, settings, ledger, person):
    user, _ = person
    before = dataclasses.replace(store.users.rows[user.id])  # "the backup"
    request = erase(uow, counters, settings, ledger, person)
    # identity's database is restored from the backup: the user is back, the request and ledger row gone
    store.users.rows[user.id] = before
    store.privacy.erasures.clear()
    store.privacy.results.clear()
    store.privacy.ledger_rows.clear()

    replayed = erasures.replay_erasures(uow, counters, ledger, actor="system:cli")

    assert [e.request_id for e in replayed] == [request.id]
    assert store.users.rows[user.id].erased_at is not None and store.users.rows[user.id].name == ""
    assert store.privacy.ledger_rows[request.id].replayed_at is not None
    event = store.events[-1]
    assert (event.type, event.payload, event.actor) == ("identity.privacy.erasure_replayed",
                                                        {"request_id": request.id, "user_id": user.id}, "system:cli")
    assert store.privacy.erasures[request.id].status == "pending"  # completes again when the services answer
    for service in settings.privacy_services:
        answer(uow, settings, request, service)
    assert store.privacy.erasures[request.id].status == "completed"
    assert len(ledger.lines) == 1  # the file already had it

    # a ledger row the file lacks (the file was lost) is copied back to it
    ledger.lines.clear()
    erasures.replay_erasures(uow, counters, ledger)
    assert [e.request_id for e in ledger.lines] == [request.id]


def test_the_copies_outside_the_tables_go_after_the_commit(uow, store, counters, settings, ledger, person):
    """The mails spooled to the person's address are deleted, and the erasure is announced to the processes
    that keep copies without consuming events (the gateway's spool); a withheld erasure touches neither."""
    from tests.unit.identity.fakes import FakeMailer

    user, session = person
    mailer = FakeMailer()
    mailer.send(to=user.email, subject="Welcome", body="hello", mail_id="m1")
    mailer.send(to="someone@example.com", subject="Welcome", body="hello", mail_id="m2")
    hold = erasures.place_hold(uow, owner_id="compliance-1", user_id=user.id, reason="litigation 7", until=None)
    withheld = erasures.request_erasure(uow, counters, settings, ledger, user_id=user.id,
                                        session_id=session.session.id, mailer=mailer)
    assert withheld.status == "withheld" and len(mailer.sent) == 2 and counters.erased == []

    erasures.release_hold(uow, hold_id=hold.id, released_by="compliance-2")
    erasures.request_erasure(uow, counters, settings, ledger, user_id=user.id, session_id=session.session.id,
                             mailer=mailer)
    assert [m["to"] for m in mailer.sent] == ["someone@example.com"]
    assert counters.erased == [user.id]
