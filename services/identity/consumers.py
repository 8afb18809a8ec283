"""identity's event consumers: the Celery task reading the ``events.identity`` queue.

- ``identity.mail.queued`` (its own): committed mails wait to be sent.
- ``identity.privacy.export_requested`` (its own): pull every service's section of an export.
- ``<service>.privacy.erasure_completed``: a service's answer to an erasure.
- ``linking.link.approved`` / ``rejected``, ``content.complaint.*``: outcomes to mail to the person.

Answers and notifications are recorded inside the inbox transaction (deduplicated by event id);
sending mails and pulling export sections happen after it commits, driven by the stored state, so a
redelivery or a retry simply finds what is left to do.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from celery import Celery
from marshmallow import EXCLUDE, ValidationError
from sqlalchemy.orm import Session

from services.identity.adapters import tables
from services.identity.bootstrap import Container
from services.identity.domain.mails import COMPLAINT_EVENTS
from services.identity.domain.privacy import Kept
from services.identity.handlers import notifications
from services.identity.handlers.mail import send_pending_mails
from services.identity.handlers.privacy_erasures import record_erasure_answer
from services.identity.handlers.privacy_exports import collect_export
from shared.bus.consumer import BatchHandler, EventHandler, inbox_batch_handler, register_consumer
from shared.events import Event, privacy
from shared.leftovers import compact_redis_log

log = logging.getLogger("portal.identity.consumers")

MAIL_QUEUED = "identity.mail.queued"
EXPORT_REQUESTED = "identity.privacy.export_requested"
LINK_APPROVED, LINK_REJECTED = "linking.link.approved", "linking.link.rejected"
MAILING = {MAIL_QUEUED, LINK_APPROVED, LINK_REJECTED, *COMPLAINT_EVENTS}


class MailNotSent(RuntimeError):
    """Some mails failed; raising makes the consumer retry the batch with backoff (then dead-letter)."""


class ExportIncomplete(RuntimeError):
    """Some services did not give their export section; the batch is retried with backoff, then
    dead-lettered, and ``portal privacy retry-exports`` collects what is still pending."""


# Every participant's answer, checked here whoever produced it (a malformed answer fails, is retried and
# dead-lettered, never half-recorded).
_answer_schema = privacy.ErasureCompletedV1(unknown=EXCLUDE)


def _erasure_answer(container: Container, service: str, completed: list[str]) -> EventHandler:
    def handle(session: Session, event: Event) -> None:
        try:
            answer = _answer_schema.load(event.payload)
        except ValidationError as exc:
            raise ValueError(f"malformed {event.type}: {exc.messages}") from exc
        done = record_erasure_answer(container.bound_uow(session), container.settings.privacy_services,
                                     service=service, request_id=answer["request_id"], user_id=answer["user_id"],
                                     erased=answer["erased"], kept=[Kept(**k) for k in answer["kept"]])
        if done:
            completed.append(answer["request_id"])

    return handle


REWRITE_AGAIN_SECONDS = 10.0


def after_erasures(container: Container) -> None:
    """Once an erasure completed (every service erased its own): the broker's Redis rewrites its append-only
    file, which still holds every event published through it — the person's included — and the Redis of
    the counters too when it is another one (``shared/leftovers.py``). Once more ``REWRITE_AGAIN_SECONDS``
    later: the access events of the person's last requests (the erasure request itself) may still have been
    on their way to the log store at completion, and the first rewrite copied them."""
    common = container.settings.common
    urls = list(dict.fromkeys([common.broker_url, common.redis_url or common.broker_url]))
    for url in urls:
        compact_redis_log(url)
    again = threading.Timer(REWRITE_AGAIN_SECONDS, lambda: [compact_redis_log(url) for url in urls])
    again.daemon = True
    again.start()


def _in_inbox(container: Container, use_case: Callable[..., Any], **kwargs: Any) -> EventHandler:
    def handle(session: Session, event: Event) -> None:
        use_case(container.bound_uow(session), container.settings, payload=event.payload, **kwargs)

    return handle


def handlers_for(container: Container, completed: list[str] | None = None) -> dict[str, EventHandler]:
    handlers: dict[str, EventHandler] = {
        LINK_APPROVED: _in_inbox(container, notifications.notify_link_decision, approved=True),
        LINK_REJECTED: _in_inbox(container, notifications.notify_link_decision, approved=False),
    }
    for type_ in COMPLAINT_EVENTS:
        handlers[type_] = _in_inbox(container, notifications.notify_complaint, event_type=type_)
    for service in container.settings.privacy_services:
        handlers[privacy.erasure_completed(service)] = _erasure_answer(
            container, service, completed if completed is not None else [])
    return handlers


def batch_handler(container: Container) -> BatchHandler:
    completed: list[str] = []
    inbox = inbox_batch_handler(container.runtime.write_session, tables.processed_events,
                                handlers_for(container, completed))

    def handle(events: list[Event]) -> None:
        completed.clear()
        inbox(events)
        if completed:
            after_erasures(container)
        if any(e.type in MAILING for e in events):
            # Sending is idempotent by itself (only unsent rows are sent), so a redelivered signal
            # simply finds nothing left to do.
            _sent, failed = send_pending_mails(container.uow(), container.mailer)
            if failed:
                raise MailNotSent(f"{failed} mail(s) could not be sent; will retry")
        exports = [str(e.payload.get("request_id")) for e in events if e.type == EXPORT_REQUESTED]
        missing = {export_id: collect_export(container.uow(), container.export_sources, export_id)
                   for export_id in exports}
        missing = {k: v for k, v in missing.items() if v}
        if missing:
            raise ExportIncomplete(f"export sections still pending: {missing}")

    return handle


def create_worker(container: Container) -> Celery:
    app = container.runtime.celery(consume=True)
    register_consumer(app, "identity", batch_handler(container), container.runtime.dead_letters())
    return app
