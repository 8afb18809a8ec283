"""audit's event consumer: the Celery task reading ``events.audit`` (bound to every event, '#').

Each broker message carries a batch of events; the whole batch is stored in one transaction
(``handlers.store_events``). Retries, isolation of a bad event and dead letters are the shared
consumer's (``shared.bus.consumer``).
"""

from __future__ import annotations

import gc

from celery import Celery
from celery.signals import worker_process_init

from services.audit import handlers
from services.audit.bootstrap import Container
from shared.bus.consumer import register_consumer
from shared.config import ConfigError
from shared.events import Event


def create_worker(container: Container) -> Celery:
    if container.settings.signer is None:
        raise ConfigError("the audit worker signs checkpoints and heads: set PORTAL_AUDIT_SIGNING_KEY_FILE "
                          "to its Ed25519 private key (PEM, mode 0600)")
    runtime = container.runtime
    app = runtime.celery(consume=True)
    # One message at a time. With Redis, a message popped by BRPOP lives only in the worker's socket
    # buffer until kombu records it as unacked; with prefetch > 1 a popped reply can wait there while
    # the worker is busy, and a killed worker loses it (tests/e2e/test_audit_fault.py caught it). The
    # log store must lose nothing; one 500-event message per round trip costs little throughput.
    app.conf.worker_prefetch_multiplier = 1

    def store(events: list[Event]) -> None:
        handlers.store_events(container, events)

    # Payloads are stored as their producer signed them: checked for shape, not re-validated field by field.
    register_consumer(app, "audit", store, runtime.dead_letters(), check_payloads=False)
    # Sent as a solo pool starts (``celery worker --pool solo``, ``portal workers``) and in each prefork child.
    worker_process_init.connect(collect_less, weak=False, dispatch_uid="audit-collect-less")
    return app


# A batch of 1,000 events allocates some 30,000 container objects (decoded envelopes, payloads, rows), none
# of them in a reference cycle: they die by reference counting. Python's collector, at its default first
# threshold (700 allocations), ran dozens of times per batch and now and then walked every object of the
# process (Celery, SQLAlchemy, the schemas): ~20 µs CPU per event of the consumer's ~105 in process
# (docs/performance.md, "Audit ingestion").
GC_FIRST_THRESHOLD = 50_000


def collect_less(**_kwargs: object) -> None:
    """The consuming process's collector (the whole process: under ``portal workers`` the other services'
    workers too): what start-up made moves to the permanent generation (never walked again), and the first
    generation is collected every ``GC_FIRST_THRESHOLD`` allocations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_FIRST_THRESHOLD, 10, 10)
