"""Mail over SMTP (``SMTP_URL``) against a real SMTP server (aiosmtpd, in this process, on a free port):
the message as received, authentication, and delivery through the whole path — outbox, relay, broker,
identity's Celery worker — including a server that is down at first and comes up while the worker retries."""

from __future__ import annotations

import os
import smtplib
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from services.identity.adapters import tables
from services.identity.adapters.mailer import SmtpMailer, make_mailer
from tests.integration.identity.conftest import worker_idle
from tests.support.net import free_port
from tests.support.processes import base_env, celery_worker, wait_until

pytestmark = pytest.mark.integration
USER, SECRET = "portal", "s3cret:with@odd/chars"  # noqa: S105 - a throwaway server's login


class Inbox:
    """What the SMTP server accepted: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.original_content or envelope.content, policy=email_policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == SECRET.encode()
    return AuthResult(success=ok, handled=False)


def smtp_server(port: int, inbox: Inbox, *, auth: bool = False) -> Controller:
    kwargs = dict(authenticator=_authenticate, auth_require_tls=False, auth_required=True) if auth else {}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


def test_smtp_url_selects_smtp_and_the_message_arrives_whole(inbox: Inbox, tmp_path: Path):
    port = free_port()
    server = smtp_server(port, inbox)
    try:
        mailer = make_mailer(f"smtp://127.0.0.1:{port}", tmp_path / "mail", "Portal <portal@example.com>")
        assert isinstance(mailer, SmtpMailer)
        mailer.send(to="ada@example.com", subject="Confirm your address – Ünïcode", body="Hello Ada,\nthe link.\n",
                    mail_id="mail-123")
    finally:
        server.stop()
    [(rcpt, msg)] = inbox.received
    assert rcpt == ["ada@example.com"]
    assert msg["To"] == "ada@example.com" and msg["From"] == "Portal <portal@example.com>"
    assert msg["Subject"] == "Confirm your address – Ünïcode"
    assert msg["X-Portal-Mail-Id"] == "mail-123" and msg["Message-ID"] and msg["Date"]
    body = msg.get_body(preferencelist=("plain",)).get_content()
    assert body.replace("\r\n", "\n") == "Hello Ada,\nthe link.\n"  # SMTP carries CRLF line ends
    assert not list((tmp_path / "mail").glob("*"))  # nothing written as a file


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a loopback test server
def test_smtp_login_with_url_encoded_credentials(inbox: Inbox):
    port = free_port()
    server = smtp_server(port, inbox, auth=True)
    try:
        quoted = "s3cret%3Awith%40odd%2Fchars"
        SmtpMailer(f"smtp://{USER}:{quoted}@127.0.0.1:{port}", "portal@example.com").send(
            to="bob@example.com", subject="hi", body="x", mail_id="m1")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            SmtpMailer(f"smtp://{USER}:wrong@127.0.0.1:{port}", "portal@example.com").send(
                to="bob@example.com", subject="hi", body="x", mail_id="m2")
        with pytest.raises(smtplib.SMTPException):  # the server demands a login
            SmtpMailer(f"smtp://127.0.0.1:{port}", "portal@example.com").send(
                to="bob@example.com", subject="hi", body="x", mail_id="m3")
    finally:
        server.stop()
    assert [r for r, _ in inbox.received] == [["bob@example.com"]]


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "mail.example.com:25"])
def test_a_malformed_smtp_url_is_refused_at_start(url: str):
    with pytest.raises(ValueError, match="SMTP_URL"):
        SmtpMailer(url, "portal@example.com")


def test_the_worker_sends_over_smtp_and_retries_until_the_server_is_up(client, container, inbox: Inbox,
                                                                       tmp_path: Path):
    port = free_port()  # nothing listens there yet
    env = base_env({k: os.environ[k] for k in ("IDENTITY_DATABASE_URL", "REDIS_URL", "PORTAL_INTERNAL_SECRET",
                                               "PORTAL_VAR_DIR", "IDENTITY_ARGON2_MEMORY_KIB",
                                               "IDENTITY_ARGON2_TIME_COST")})
    env["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    worker = celery_worker("identity", env, tmp_path).start()
    server = None
    try:
        client.register("smtp-user@example.com")
        relay = container.runtime.relay()

        def mail_row():
            relay.run_once()
            with container.runtime.engine.connect() as conn:
                m = tables.mails.c
                return conn.execute(select(m.attempts, m.last_error, m.sent_at)).first()

        failed = wait_until(lambda: (r := mail_row()) and r.attempts >= 1 and r, timeout=60,
                            message="a failed attempt recorded while the SMTP server is down")
        assert failed.sent_at is None and failed.last_error, failed
        server = smtp_server(port, inbox)
        sent = wait_until(lambda: (r := mail_row()) and r.sent_at and r, timeout=60,
                          message="the mail sent once the server is up")
        assert sent.attempts >= 1
        [(rcpt, msg)] = inbox.received
        assert rcpt == ["smtp-user@example.com"] and "verify-email#token=" in msg.get_body().get_content()
        assert not list(Path(container.settings.mail_dir).glob("*.eml"))  # SMTP only, no files
        wait_until(lambda: worker_idle(worker), timeout=30, message="the worker finished its task")
    finally:
        worker.stop()
        if server is not None:
            server.stop()
    assert "Traceback" not in worker.output(), worker.output()[-3000:]
