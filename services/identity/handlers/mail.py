"""Mail goes through the outbox: a use case writes mail rows in its own transaction and emits
``identity.mail.queued``; identity's worker, woken by that event, sends every pending mail and
records it (``identity.mail.sent``). The body (which may carry a token) never leaves identity."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable

from services.identity.domain.mails import Draft
from services.identity.domain.model import Mail
from services.identity.handlers.ports import IdentityUow, Mailer
from shared import clock

log = logging.getLogger("portal.identity.mail")

MAX_ATTEMPTS = 5  # after that a mail stays recorded as failed (last_error) instead of blocking others


def queue_mails(uow: IdentityUow, recipients: Iterable[tuple[str | None, str, Draft]], *, subject: str,
                policy_version: str | None = None) -> int:
    """Stage mails in the caller's open unit of work."""
    now = clock.now()
    count = 0
    template = ""
    for user_id, address, draft in recipients:
        uow.mails.add(Mail(id=str(uuid.uuid4()), user_id=user_id, to_address=address, template=draft.template,
                           subject=draft.subject, body=draft.body, policy_version=policy_version, created_at=now))
        template = draft.template
        count += 1
    if count:
        uow.emit("identity.mail.queued", subject=subject, payload={"count": count, "template": template})
    return count


def send_pending_mails(uow: IdentityUow, mailer: Mailer, limit: int = 10_000) -> tuple[int, int]:
    """Send pending mails one transaction each (on PostgreSQL the row stays locked while it is sent,
    so two workers never send the same mail). Returns ``(sent, failed)``; failures are recorded and
    the caller retries later."""
    sent = failed = 0
    skip: set[str] = set()  # failed or given up in this run: look past them
    while sent + failed < limit:
        with uow:
            batch = [m for m in uow.mails.pending(len(skip) + 1) if m.id not in skip]
            if not batch:
                break
            mail = batch[0]
            if mail.attempts >= MAX_ATTEMPTS:
                skip.add(mail.id)
                continue
            try:
                mailer.send(to=mail.to_address, subject=mail.subject, body=mail.body or "", mail_id=mail.id)
            except Exception as exc:  # noqa: BLE001 - any sender failure is recorded, then retried
                error = repr(exc)
            else:
                uow.mails.mark_sent(mail.id, clock.now())
                uow.emit("identity.mail.sent", subject=mail.user_id or "mail",
                         payload={"mail_id": mail.id, "user_id": mail.user_id, "template": mail.template,
                                  "policy_version": mail.policy_version})
                uow.commit()
                sent += 1
                continue
        log.warning("mail %s (%s) failed: %s", mail.id, mail.template, error)
        skip.add(mail.id)
        failed += 1
        with uow:
            uow.mails.mark_failed(mail.id, error)
            uow.commit()
    return sent, failed
