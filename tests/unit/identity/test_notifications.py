"""Mails about other services' outcomes (link decisions, complaint steps), with in-memory fakes."""

from __future__ import annotations

from services.identity.handlers import notifications
from services.identity.handlers.mail import send_pending_mails
from tests.unit.identity.fakes import FakeMailer
from tests.unit.identity.test_accounts_and_sessions import register

DECISION = {"request_id": "r-1", "company_id": "c-1", "company_name": "Acme Corp", "decided_by": "m-1"}


def test_link_decisions_are_mailed_to_the_requester(uow, store, hasher, settings):
    user = register(uow, hasher)
    store.mails.rows.clear()
    assert notifications.notify_link_decision(uow, settings, approved=True, payload={**DECISION, "user_id": user.id})
    assert notifications.notify_link_decision(uow, settings, approved=False,
                                              payload={**DECISION, "user_id": user.id, "reason": "Not an employee"})
    mailer = FakeMailer()
    assert send_pending_mails(uow, mailer) == (2, 0)
    approved, rejected = mailer.sent
    assert approved["to"] == "ada@example.com" and "Acme Corp" in approved["subject"]
    assert "Not an employee" in rejected["body"] and "declined" in rejected["subject"]
    assert {m.template for m in store.mails.rows.values()} == {"link_approved", "link_rejected"}
    assert all(m.sent_at and m.body is None for m in store.mails.rows.values())  # recorded like every mail
    assert [e.type for e in store.events].count("identity.mail.queued") >= 2


def test_nobody_to_tell_means_no_mail(uow, store, settings):
    assert not notifications.notify_link_decision(uow, settings, approved=True,
                                                  payload={**DECISION, "user_id": "unknown"})
    assert not store.mails.rows


def test_complaint_steps_are_mailed_to_the_complainant(uow, store, hasher, settings):
    user = register(uow, hasher)
    store.mails.rows.clear()
    case = {"query_id": "q-1", "complainant_user_id": user.id, "status": "received",
            "due_at": "2026-02-01T00:00:00+00:00"}
    assert notifications.notify_complaint(uow, settings, event_type="content.complaint.received", payload=case)
    assert notifications.notify_complaint(uow, settings, event_type="content.complaint.followed_up",
                                          payload={**case, "status": "acknowledged", "reply_id": "x"})
    assert not notifications.notify_complaint(uow, settings, event_type="content.complaint.unheard_of", payload=case)
    mails = sorted(store.mails.rows.values(), key=lambda m: m.template)
    assert [m.template for m in mails] == ["complaint_followed_up", "complaint_received"]
    assert "q-1" in mails[1].body and "2026-02-01" in mails[1].body
