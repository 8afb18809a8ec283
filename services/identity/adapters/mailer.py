"""Mail senders chosen by configuration: SMTP when ``SMTP_URL`` is set, otherwise ``.eml`` files under
``var/mail/`` (development and tests: a real file a person can open, nothing leaves the machine)."""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from services.identity.handlers.ports import Mailer
from shared import clock


def _message(sender: str, to: str, subject: str, body: str, mail_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(clock.now())
    msg["Message-ID"] = make_msgid(idstring=mail_id.replace("-", ""))
    msg["X-Portal-Mail-Id"] = mail_id
    msg.set_content(body)
    return msg


class FileMailer:
    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    def forget(self, address: str) -> int:
        """Delete the spooled mails sent to ``address`` (an erasure); how many."""
        wanted = address.strip().lower()
        gone = 0
        for path in self.directory.glob("*.eml") if wanted and self.directory.is_dir() else ():
            try:
                with path.open("rb") as fh:
                    to = BytesHeaderParser(policy=default).parse(fh).get("To", "")
                if str(to).strip().lower() == wanted:
                    path.unlink()
                    gone += 1
            except FileNotFoundError:
                continue
        return gone

    def send(self, *, to: str, subject: str, body: str, mail_id: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / f"{clock.now():%Y%m%dT%H%M%S%f}-{mail_id}.eml"  # names sort by time
        tmp = final.with_suffix(".tmp")
        tmp.write_bytes(bytes(_message(self.sender, to, subject, body, mail_id)))
        os.replace(tmp, final)  # readers never see half a mail


class SmtpMailer:
    """``smtp://user:pass@host:587?starttls=1`` or ``smtps://user:pass@host:465``."""

    def forget(self, address: str) -> int:
        return 0  # nothing is kept here: the mail server's copies are outside the platform

    def __init__(self, url: str, sender: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://[user:pass@]host[:port][?starttls=1] or smtps://...")
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.ssl else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.sender = sender
        self.timeout = timeout

    def send(self, *, to: str, subject: str, body: str, mail_id: str) -> None:
        msg = _message(self.sender, to, subject, body, mail_id)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.ssl:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.starttls:
                smtp.starttls(context=context)
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(msg)


def make_mailer(smtp_url: str, mail_dir: Path, sender: str) -> Mailer:
    return SmtpMailer(smtp_url, sender) if smtp_url else FileMailer(mail_dir, sender)
