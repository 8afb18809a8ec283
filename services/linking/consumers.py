"""linking's event consumers: the Celery task reading the ``events.linking`` queue."""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery
from sqlalchemy.orm import Session

from services.linking.adapters import tables
from services.linking.adapters.repositories import UserRepository
from services.linking.adapters.uow import LinkingUnitOfWork
from services.linking.bootstrap import Container
from services.linking.config import SERVICE
from services.linking.handlers import privacy, projection
from services.linking.handlers.projection import UserStore
from shared.bus.consumer import EventHandler, inbox_batch_handler, register_consumer
from shared.events import Event
from shared.web.identity import Identity


def _on_users(handler: Callable[[UserStore, Event], None]) -> EventHandler:
    """Run a projection handler on the users table, inside the inbox batch's transaction."""

    def run(session: Session, event: Event) -> None:
        handler(UserRepository(session), event)

    return run


def _erase(session: Session, event: Event) -> None:
    """identity.privacy.erasure_requested / erasure_replayed: erase, and answer, in the inbox transaction."""
    context = Identity(user_id=privacy.PRIVACY_ACTOR, request_id=event.correlation_id)
    uow = LinkingUnitOfWork(lambda: session, tables.outbox, SERVICE, context, nested=True)
    privacy.erase_person(str(event.payload["request_id"]), str(event.payload["user_id"]), uow,
                         replayed=event.type == "identity.privacy.erasure_replayed")


# identity.* events not listed here are marked processed and otherwise ignored.
HANDLERS: dict[str, EventHandler] = {
    "identity.user.registered": _on_users(projection.user_registered),
    "identity.user.updated": _on_users(projection.user_updated),
    "identity.privacy.erasure_requested": _erase,
    "identity.privacy.erasure_replayed": _erase,
}


def create_worker(container: Container) -> Celery:
    runtime = container.runtime
    app = runtime.celery(consume=True)
    handle = inbox_batch_handler(runtime.write_session, tables.processed_events, HANDLERS)
    register_consumer(app, "linking", handle, runtime.dead_letters())
    return app
