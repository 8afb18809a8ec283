"""linking's event consumers: the Celery task reading the ``events.linking`` queue."""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery
from sqlalchemy.orm import Session

from services.linking.adapters import tables
from services.linking.adapters.repositories import UserRepository
from services.linking.bootstrap import Container
from services.linking.handlers import privacy, projection
from services.linking.handlers.projection import UserStore
from shared.bus.consumer import EventHandler, erasure_handlers, inbox_batch_handler, register_consumer
from shared.events import Event
from shared.events.privacy import ErasureRequest
from shared.identity import Identity


def _on_users(handler: Callable[[UserStore, Event], None]) -> EventHandler:
    """Run a projection handler on the users table, inside the inbox batch's transaction."""

    def run(session: Session, event: Event) -> None:
        handler(UserRepository(session), event)

    return run


def handlers_for(container: Container) -> dict[str, EventHandler]:
    """Event type -> handler. identity.* events not listed here are marked processed and otherwise ignored."""

    def erase(session: Session, request: ErasureRequest) -> None:
        context = Identity(user_id=privacy.WORKER, request_id=request.correlation_id)
        privacy.erase_person(container.bound_uow(session, context), request, container.settings)

    return {
        "identity.user.registered": _on_users(projection.user_registered),
        "identity.user.updated": _on_users(projection.user_updated),
        **erasure_handlers(erase),
    }


def create_worker(container: Container) -> Celery:
    runtime = container.runtime
    app = runtime.celery(consume=True)
    handle = inbox_batch_handler(runtime.write_session, tables.processed_events, handlers_for(container))
    register_consumer(app, "linking", handle, runtime.dead_letters())
    return app
