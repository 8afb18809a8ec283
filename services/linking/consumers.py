"""linking's event consumers: the Celery task reading the ``events.linking`` queue."""

from __future__ import annotations

from celery import Celery

from services.linking.adapters import tables
from services.linking.bootstrap import Container
from shared.bus.consumer import EventHandler, inbox_batch_handler, register_consumer

HANDLERS: dict[str, EventHandler] = {}


def create_worker(container: Container) -> Celery:
    runtime = container.runtime
    app = runtime.celery(consume=True)
    handle = inbox_batch_handler(runtime.write_session, tables.processed_events, HANDLERS)
    register_consumer(app, "linking", handle, runtime.dead_letters())
    return app
