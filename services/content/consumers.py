"""content's event consumers: the Celery task reading the ``events.content`` queue."""

from __future__ import annotations

from celery import Celery
from sqlalchemy.orm import Session

from services.content.adapters import tables
from services.content.bootstrap import Container
from services.content.handlers import memberships, privacy
from shared.bus.consumer import (
    EventHandler,
    erasure_handlers,
    in_unit_of_work,
    inbox_batch_handler,
    register_consumer,
)
from shared.events.privacy import ErasureRequest
from shared.identity import Identity


def handlers_for(container: Container) -> dict[str, EventHandler]:
    """Event type -> handler. Other events bound to the queue (``linking.company.*``, ``identity.user.*``,
    the other ``identity.privacy.*``) are marked processed and otherwise ignored."""

    def erase(session: Session, request: ErasureRequest) -> None:
        """The erasure, its answer (outbox) and the record that the request was processed commit
        together. A replay (new event id) runs it again, idempotently."""
        context = Identity(user_id=privacy.WORKER, request_id=request.correlation_id)
        privacy.erase_person(container.bound_uow(session, context), request, container.settings)

    return {
        "linking.member.added": in_unit_of_work(container.bound_uow, privacy.WORKER, memberships.member_added),
        "linking.member.removed": in_unit_of_work(container.bound_uow, privacy.WORKER, memberships.member_removed),
        **erasure_handlers(erase),
    }


def create_worker(container: Container) -> Celery:
    runtime = container.runtime
    app = runtime.celery(consume=True)
    handle = inbox_batch_handler(runtime.write_session, tables.processed_events, handlers_for(container))
    register_consumer(app, "content", handle, runtime.dead_letters())
    return app
