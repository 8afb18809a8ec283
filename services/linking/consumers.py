"""linking's event consumers: the Celery task reading the ``events.linking`` queue."""

from __future__ import annotations

from celery import Celery
from sqlalchemy.orm import Session

from services.linking.adapters import tables
from services.linking.bootstrap import Container
from services.linking.handlers import privacy, projection
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
    """Event type -> handler. identity.* events not listed here are marked processed and otherwise ignored."""

    def erase(session: Session, request: ErasureRequest) -> None:
        context = Identity(user_id=privacy.WORKER, request_id=request.correlation_id)
        privacy.erase_person(container.bound_uow(session, context), request, container.settings)

    return {
        "identity.user.registered": in_unit_of_work(container.bound_uow, privacy.WORKER, projection.user_registered),
        "identity.user.updated": in_unit_of_work(container.bound_uow, privacy.WORKER, projection.user_updated),
        **erasure_handlers(erase),
    }


def create_worker(container: Container) -> Celery:
    runtime = container.runtime
    app = runtime.celery(consume=True)
    handle = inbox_batch_handler(runtime.write_session, tables.processed_events, handlers_for(container))
    register_consumer(app, "linking", handle, runtime.dead_letters())
    return app
