"""Corrections reach linking's projection through the real workers; other services' outcomes (link
decisions, complaint steps) become mails sent by identity's real worker."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from services.identity.adapters import tables as identity_tables
from shared.bus.celery_app import make_celery
from shared.bus.publisher import CeleryPublisher
from shared.events import new_event
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration


def mails_to(platform, address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(Path(platform.identity.settings.mail_dir).glob("*.eml")):
        with open(path, "rb") as fh:
            message = email.message_from_binary_file(fh, policy=email.policy.default)
        if message["To"] == address:
            found.append(message)
    return found


def mail(platform, address: str, subject_part: str) -> email.message.EmailMessage:
    def find():
        return next((m for m in mails_to(platform, address) if subject_part in m["Subject"]), None)

    return wait_until(find, timeout=60, message=f"a mail '{subject_part}' to {address}")


def test_a_corrected_name_and_a_confirmed_new_email_reach_linking(platform):
    user, caller = platform.person("correct")
    renamed = platform.http.call("PATCH", "/me", caller, json={"name": "Corrected Name"})
    assert renamed.status_code == 200
    wait_until(lambda: platform.projected(user["id"]).name == "Corrected Name", timeout=60,
               message="the new name in linking's projection")

    new_address = f"new-{uuid.uuid4().hex[:8]}@example.com"
    changed = platform.http.call("PATCH", "/me", caller, json={"email": new_address})
    assert changed.status_code == 200 and changed.get_json()["pending_email"] == new_address
    confirmation = mail(platform, new_address, "Confirm your new email address")
    token = re.search(r"token=([A-Za-z0-9_-]+)", confirmation.get_content()).group(1)
    assert platform.projected(user["id"]).email == user["email"]  # not before it is confirmed
    assert platform.http.call("POST", "/email/verify", json={"token": token}).status_code == 200
    wait_until(lambda: platform.projected(user["id"]).email == new_address, timeout=60,
               message="the confirmed address in linking's projection")
    assert platform.projected(user["id"]).name == "Corrected Name"


def test_link_decisions_and_complaint_steps_are_mailed(platform):
    user, _ = platform.person("mailed")
    admin = platform.api.admin()
    manager = platform.api.register("manager")[0]
    tag = user["id"][:8]
    yes = platform.api.ok("POST", "/companies", admin, 201, json={"name": f"Yes Co {tag}",
                                                                  "primary_contact_user_id": manager})
    no = platform.api.ok("POST", "/companies", admin, 201, json={"name": f"No Co {tag}",
                                                                 "primary_contact_user_id": manager})
    for company in (yes, no):
        platform.api.ok("POST", f"/companies/{company['id']}/link-requests", user["id"], 201,
                        json={"share_contact": True})
    requests = {r["company"]["id"]: r["id"] for r in
                platform.api.ok("GET", "/me/link-requests", user["id"])["items"]}
    platform.api.ok("POST", f"/link-requests/{requests[yes['id']]}/approve", manager)
    platform.api.ok("POST", f"/link-requests/{requests[no['id']]}/reject", manager,
                    json={"reason": "Only employees"})

    approved = mail(platform, user["email"], f"You are now linked to Yes Co {tag}")
    rejected = mail(platform, user["email"], f"Your request to join No Co {tag} was declined")
    assert "Only employees" in rejected.get_content() and "approved" in approved.get_content()

    complaint = new_event("content.complaint.received", producer="content", actor=user["id"], subject=user["id"],
                          payload={"query_id": "q-1", "complainant_user_id": user["id"], "status": "received",
                                   "owner_id": None, "due_at": "2031-01-15T00:00:00+00:00"})
    CeleryPublisher(make_celery("content-stand-in", platform.redis_url)).publish([complaint.to_dict()])
    received = mail(platform, user["email"], "We received your complaint")
    assert "q-1" in received.get_content() and "2031-01-15" in received.get_content()

    def recorded():
        with platform.identity.runtime.engine.connect() as conn:
            rows = conn.execute(select(identity_tables.mails.c.template, identity_tables.mails.c.sent_at)
                                .where(identity_tables.mails.c.user_id == user["id"])).all()
        return {r.template for r in rows if r.sent_at} >= {"link_approved", "link_rejected", "complaint_received"}

    wait_until(recorded, timeout=30, message="the mails recorded as sent")
