"""Mailed tokens (verification, change of address, password reset), re-authentication, profile
corrections — against a real database, with mails written as .eml files by the file mailer."""

from __future__ import annotations

import email
import re
import statistics
import time
import uuid
from pathlib import Path

import pytest

from services.identity.handlers.mail import send_pending_mails
from tests.integration.identity.conftest import PASSWORD, advance, outbox_events

pytestmark = pytest.mark.integration


def deliver(container) -> list[email.message.Message]:
    """Send what is pending (what identity's worker does on identity.mail.queued); return all mails."""
    send_pending_mails(container.uow(), container.mailer)
    files = sorted(Path(container.settings.mail_dir).glob("*.eml"))
    return [email.message_from_bytes(f.read_bytes()) for f in files]


def token_in(message) -> str:
    match = re.search(r"token=([A-Za-z0-9_\-]+)", message.get_payload(decode=True).decode())
    assert match, "no token in mail"
    return match.group(1)


def last_mail_to(container, address: str, subject_part: str = ""):
    mails = [m for m in deliver(container) if m["To"] == address and subject_part in m["Subject"]]
    assert mails, f"no mail to {address}"
    return mails[-1]


def test_registration_mails_a_single_use_verification_link(client, container):
    user = client.register("vera@example.com")
    message = last_mail_to(container, "vera@example.com", "Confirm your email")
    token = token_in(message)
    resp = client.call("POST", "/email/verify", json={"token": token})
    assert resp.status_code == 200 and resp.get_json()["email_verified"] is True
    again = client.call("POST", "/email/verify", json={"token": token})
    assert again.status_code == 400 and again.get_json()["error"]["code"] == "token_invalid"
    assert client.call("POST", "/email/verify", json={"token": "made-up"}).status_code == 400
    assert client.call("POST", "/email/verify", json={}).status_code == 422
    verified = outbox_events(container, "identity.email.verified")
    assert verified[0]["payload"] == {"user_id": user["id"], "email": "vera@example.com"}
    # every sent mail is recorded, and its body (with the token) is wiped once sent
    from sqlalchemy import select

    from services.identity.adapters import tables
    with container.runtime.engine.connect() as conn:
        rows = conn.execute(select(tables.mails.c.template, tables.mails.c.body, tables.mails.c.sent_at)).all()
    assert [(r.template, r.body) for r in rows] == [("verify_email", None)] and rows[0].sent_at is not None
    [sent] = outbox_events(container, "identity.mail.sent")
    assert sent["payload"]["template"] == "verify_email" and sent["subject"] == user["id"]
    assert all(token not in str(e) for e in outbox_events(container))


def test_verification_links_expire_and_resending_replaces_them(client, container, clock_file):
    client.register("late@example.com")
    first = token_in(last_mail_to(container, "late@example.com"))
    caller = client.login("late@example.com")
    assert client.call("POST", "/email/verification", caller).status_code == 202
    second = token_in(last_mail_to(container, "late@example.com"))
    assert first != second
    assert client.call("POST", "/email/verify", json={"token": first}).status_code == 400  # superseded
    advance(clock_file, 49 * 3600)
    assert client.call("POST", "/email/verify", json={"token": second}).status_code == 400  # expired
    assert client.call("POST", "/email/verification").status_code == 401


def test_password_reset_answers_alike_and_ends_every_session(client, container, redis_client):
    client.register("rita@example.com")
    sessions = [client.login("rita@example.com") for _ in range(2)]
    unknown = client.call("POST", "/password-resets", json={"email": "nobody@example.com"})
    known = client.call("POST", "/password-resets", json={"email": "RITA@example.com"})
    assert unknown.status_code == known.status_code == 202
    assert unknown.get_json() == known.get_json()
    token = token_in(last_mail_to(container, "rita@example.com", "Reset"))
    weak = client.call("POST", "/password-resets/confirm", json={"token": token, "password": "short"})
    assert weak.status_code == 422 and "password" in weak.get_json()["error"]["fields"]
    epoch = int(redis_client.get("portal:sessions:epoch") or 0)
    done = client.call("POST", "/password-resets/confirm", json={"token": token, "password": "a brand new passphrase"})
    assert done.status_code == 200 and done.get_json() == {"sessions_ended": 2}
    assert int(redis_client.get("portal:sessions:epoch")) > epoch
    assert all(client.resolve(s.token).status_code == 404 for s in sessions)
    reused = client.call("POST", "/password-resets/confirm",
                         json={"token": token, "password": "another new passphrase"})
    assert reused.status_code == 400
    assert client.call("POST", "/sessions", json={"email": "rita@example.com", "password": PASSWORD}).status_code == 401
    client.login("rita@example.com", "a brand new passphrase")
    assert outbox_events(container, "identity.password.reset")[0]["payload"]["sessions_ended"] == 2
    assert client.call("POST", "/password-resets", json={"email": "not an address"}).status_code == 422


def test_profile_correction_and_email_change_with_reauthentication(client, container, clock_file):
    user = client.register("old@example.com")
    caller = client.login("old@example.com")
    advance(clock_file, 6 * 60)  # the login itself is no longer "recent"
    resp = client.call("PATCH", "/me", caller, json={"name": "Ada King", "phone": "+44 1234 567"})
    assert resp.status_code == 200 and resp.get_json()["name"] == "Ada King"
    [updated] = outbox_events(container, "identity.user.updated")
    assert updated["payload"]["changed"] == ["name", "phone"] and updated["payload"]["phone"] == "+44 1234 567"

    resp = client.call("PATCH", "/me", caller, json={"email": "new@example.com", "name": "Not Applied"})
    assert resp.status_code == 428 and resp.get_json()["error"]["code"] == "reauth_required"
    assert client.call("GET", "/me", caller).get_json()["name"] == "Ada King"  # nothing applied

    wrong = client.call("POST", "/reauth", caller, json={"password": "not my password"})
    assert wrong.status_code == 401
    ok = client.call("POST", "/reauth", caller, json={"password": PASSWORD})
    assert ok.status_code == 200 and ok.get_json()["reauth_valid_until"]
    caller = client.refresh(caller)

    taken = client.register("taken@example.com")
    assert client.call("PATCH", "/me", caller, json={"email": taken["email"]}).status_code == 409
    resp = client.call("PATCH", "/me", caller, json={"email": "New@Example.com"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["email"] == "old@example.com" and body["pending_email"] == "new@example.com"
    notice = last_mail_to(container, "old@example.com", "about to change")
    assert "new@example.com" in notice.get_payload(decode=True).decode()
    token = token_in(last_mail_to(container, "new@example.com", "new email"))
    verified = client.call("POST", "/email/verify", json={"token": token})
    assert verified.status_code == 200 and verified.get_json()["email"] == "new@example.com"
    me = client.call("GET", "/me", caller).get_json()
    assert me["email"] == "new@example.com" and me["pending_email"] is None and me["email_verified"] is True
    client.login("new@example.com")
    last = outbox_events(container, "identity.user.updated")[-1]
    assert last["payload"]["email"] == "new@example.com" and last["subject"] == user["id"]

    advance(clock_file, 6 * 60)
    assert client.call("PATCH", "/me", caller, json={"email": "third@example.com"}).status_code == 428


@pytest.mark.parametrize("body", [{"name": ""}, {"phone": "call me"}, {"email": "nope"}, {"role": "admin"},
                                  {"name": 5}])
def test_profile_bad_input(client, body):
    client.register("bad-input@example.com")
    caller = client.login("bad-input@example.com")
    resp = client.call("PATCH", "/me", caller, json=body)
    assert resp.status_code == 422 and resp.get_json()["error"]["fields"]


def test_policy_publication_mails_every_user_with_its_version(client, container, tmp_path):
    from click.testing import CliRunner

    from services.cli import main as portal

    for n in range(3):
        client.register(f"reader{n}@example.com")
    deliver(container)
    text = tmp_path / "p.txt"
    text.write_text("v2")
    assert CliRunner().invoke(portal, ["policy", "publish", "--version", "2", "--file", str(text)]).exit_code == 0
    notices = [m for m in deliver(container) if "privacy policy changed" in m["Subject"]]
    assert sorted(m["To"] for m in notices) == [f"reader{n}@example.com" for n in range(3)]
    from sqlalchemy import select

    from services.identity.adapters import tables
    with container.runtime.engine.connect() as conn:
        versions = conn.execute(select(tables.mails.c.policy_version)
                                .where(tables.mails.c.template == "policy_notice")).scalars().all()
    assert versions == ["2", "2", "2"]


def test_password_resets_are_limited_per_address_and_take_the_same_time(client, container):
    address = f"limit-{uuid.uuid4().hex[:8]}@example.com"
    client.register(address)
    floor = container.settings.reset_min_seconds
    runs: dict[str, list[float]] = {"unknown": [], "known": []}
    for _ in range(3):  # interleaved, within the per-address limit; medians, for a loaded machine
        for ask in ("unknown", "known"):
            started = time.monotonic()
            who = address if ask == "known" else f"nobody-{uuid.uuid4().hex[:8]}@example.com"
            assert client.call("POST", "/password-resets", json={"email": who}).status_code == 202
            runs[ask].append(time.monotonic() - started)
    assert min(runs["unknown"] + runs["known"]) >= floor, runs  # no quicker answer without an account
    assert abs(statistics.median(runs["known"]) - statistics.median(runs["unknown"])) < 0.5 * floor, runs
    mailed = [m for m in deliver(container) if m["To"] == address and "Reset" in m["Subject"]]
    assert len(mailed) == 3
    address = f"limit-{uuid.uuid4().hex[:8]}@example.com"
    client.register(address)
    for _ in range(container.settings.reset_limit + 2):  # a stranger hammering the address
        resp = client.call("POST", "/password-resets", json={"email": address.upper()})
        assert resp.status_code == 202 and resp.get_json()["status"] == "accepted"  # answered alike, over the limit too
    mailed = [m for m in deliver(container) if m["To"] == address and "Reset" in m["Subject"]]
    assert len(mailed) == container.settings.reset_limit  # the owner's mailbox is not flooded
