"""content's event consumers: the Celery task reading the ``events.content`` queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from celery import Celery
from sqlalchemy.orm import Session

from services.content.adapters import tables
from services.content.adapters.privacy import ErasureRecords
from services.content.adapters.repositories import MembershipRepository
from services.content.adapters.uow import joined_unit_of_work
from services.content.bootstrap import Container
from services.content.handlers import memberships, privacy
from shared.bus.consumer import EventHandler, inbox_batch_handler, register_consumer
from shared.events import Event
from shared.web.identity import Identity

ERASURE_EVENTS = ("identity.privacy.erasure_requested", "identity.privacy.erasure_replayed")


def _on_memberships(handler: Callable[[MembershipRepository, ErasureRecords, Event], None]) -> EventHandler:
    def handle(session: Session, event: Event) -> None:
        handler(MembershipRepository(session), ErasureRecords(session), event)

    return handle


def _on_erasure(retention: timedelta) -> EventHandler:
    """Erase in the inbox batch's transaction: the erasure, its answer (outbox) and the record that the
    request was processed commit together. A replay (new event id) runs it again, idempotently."""

    def handle(session: Session, event: Event) -> None:
        request_id, user_id = privacy.erasure_request(event)
        context = Identity(user_id=privacy.WORKER, request_id=event.correlation_id)
        privacy.erase_person(joined_unit_of_work(session, context), request_id, user_id, retention,
                             replayed=event.type == "identity.privacy.erasure_replayed")

    return handle


def handlers_for(container: Container) -> dict[str, EventHandler]:
    """Event type -> handler. Other events bound to the queue (``linking.company.*``, ``identity.user.*``,
    the other ``identity.privacy.*``) are marked processed and otherwise ignored."""
    erase = _on_erasure(timedelta(days=container.settings.complaint_retention_days))
    return {
        "linking.member.added": _on_memberships(memberships.member_added),
        "linking.member.removed": _on_memberships(memberships.member_removed),
        **{type_: erase for type_ in ERASURE_EVENTS},
    }


def create_worker(container: Container) -> Celery:
    runtime = container.runtime
    app = runtime.celery(consume=True)
    handle = inbox_batch_handler(runtime.write_session, tables.processed_events, handlers_for(container))
    register_consumer(app, "content", handle, runtime.dead_letters())
    return app
