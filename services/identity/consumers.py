"""identity's event consumers: the Celery task reading the ``events.identity`` queue.

Besides the other services' privacy events (handlers to come), it receives identity's own
``identity.mail.queued``: the signal that committed mails wait to be sent.
"""

from __future__ import annotations

from celery import Celery

from services.identity.adapters import tables
from services.identity.bootstrap import Container
from services.identity.handlers.mail import send_pending_mails
from shared.bus.consumer import BatchHandler, EventHandler, inbox_batch_handler, register_consumer
from shared.events import Event

HANDLERS: dict[str, EventHandler] = {}
MAIL_QUEUED = "identity.mail.queued"


class MailNotSent(RuntimeError):
    """Some mails failed; raising makes the consumer retry the batch with backoff (then dead-letter)."""


def batch_handler(container: Container) -> BatchHandler:
    inbox = inbox_batch_handler(container.runtime.write_session, tables.processed_events, HANDLERS)

    def handle(events: list[Event]) -> None:
        inbox(events)
        if any(e.type == MAIL_QUEUED for e in events):
            # Sending is idempotent by itself (only unsent rows are sent), so a redelivered signal
            # simply finds nothing left to do.
            _sent, failed = send_pending_mails(container.uow(), container.mailer)
            if failed:
                raise MailNotSent(f"{failed} mail(s) could not be sent; will retry")

    return handle


def create_worker(container: Container) -> Celery:
    app = container.runtime.celery(consume=True)
    register_consumer(app, "identity", batch_handler(container), container.runtime.dead_letters())
    return app
