"""content's event consumers: the Celery task reading the ``events.content`` queue."""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery
from sqlalchemy.orm import Session

from services.content.adapters import tables
from services.content.adapters.repositories import MembershipRepository
from services.content.bootstrap import Container
from services.content.handlers import memberships
from shared.bus.consumer import EventHandler, inbox_batch_handler, register_consumer
from shared.events import Event


def _on_memberships(handler: Callable[[MembershipRepository, Event], None]) -> EventHandler:
    def handle(session: Session, event: Event) -> None:
        handler(MembershipRepository(session), event)

    return handle


HANDLERS: dict[str, EventHandler] = {
    "linking.member.added": _on_memberships(memberships.member_added),
    "linking.member.removed": _on_memberships(memberships.member_removed),
}


def create_worker(container: Container) -> Celery:
    runtime = container.runtime
    app = runtime.celery(consume=True)
    handle = inbox_batch_handler(runtime.write_session, tables.processed_events, HANDLERS)
    register_consumer(app, "content", handle, runtime.dead_letters())
    return app
