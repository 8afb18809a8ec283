"""The consuming side: one Celery task per service that takes a batch of events.

At least once in, exactly once in effect: handlers run inside one transaction with the record of
processed ``event_id``s. A failing batch is sent back to the service's own queue with backoff; on the
last attempt events are tried one by one and only the failing ones go to the dead-letter table.
Nothing is swallowed: every failure is logged and kept.

A database that cannot be reached (restarted, down, locked) is not the events' fault. The worker first
rides it out in place: it tries the same batch again every ``OUTAGE_POLL_CAP`` seconds at most, for up
to ``OUTAGE_HOLD`` seconds, still holding the message (unacknowledged; its consumer lease stays alive), so it
stores the batch within a second of the database coming back and the rest of the queue follows in order.
Only a longer outage sends the batch back to the queue, again and again, the wait capped at
``OUTAGE_RETRY_CAP`` seconds. Either way without using up its attempts and never to the dead letters —
which live in that same database (tests/faults/test_postgres_restart.py: a 16 s PostgreSQL restart
dead-lettered, and so lost, 134 access events before this). Sending each batch back with a countdown
instead made a queue of timed redeliveries that the worker held and replayed on its own clock.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from celery import Celery
from marshmallow import ValidationError
from sqlalchemy import Engine, Table
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from shared import metrics, tracing
from shared.bus.publisher import CeleryPublisher
from shared.bus.topology import DELIVER_TASK
from shared.config import env_float
from shared.events import Event, load_events, signing
from shared.events.privacy import ERASURE_EVENTS, ErasureRequest, erasure_request
from shared.identity import Identity
from shared.inbox import DeadLetterStore, already_processed, mark_processed
from shared.leftovers import checkpoint_wal

log = logging.getLogger("portal.consumer")

BatchHandler = Callable[[list[Event]], None]
EventHandler = Callable[[Session, Event], None]


OUTAGE_RETRY_CAP = 10.0
OUTAGE_HOLD = env_float("PORTAL_CONSUMER_OUTAGE_HOLD", 60.0)  # well inside the broker's visibility timeout
OUTAGE_POLL_CAP = 0.5


def backoff_seconds(attempt: int, cap: float = 60.0) -> float:
    return min(cap, (2 ** attempt) * (0.5 + random.random() / 2))


def is_outage(exc: BaseException) -> bool:
    """The consumer's database could not be used at all (connection refused or lost, locked, starting up)."""
    return isinstance(exc, OperationalError | InterfaceError | DisconnectionError)


def register_consumer(
    app: Celery,
    service: str,
    handle_batch: BatchHandler,
    dead_letters: DeadLetterStore,
    max_attempts: int = 5,
    check_payloads: bool = True,
) -> Any:
    """The service's ``deliver`` task. ``check_payloads=False``: payloads of signed events are checked for
    shape only (``load_events(signed_payloads=True)``), for a consumer that stores them as they are."""
    publisher = CeleryPublisher(app)
    signing.require_verify_keys(service)

    # shared=False: this app's task only. Celery adds a shared task to every app finalized after it, and
    # `portal workers` holds every service's app in one process, each with a `deliver` of this same name.
    @app.task(name=DELIVER_TASK, bind=True, acks_late=True, reject_on_worker_lost=True, shared=False)
    def deliver(self: Any, events: list[dict[str, Any]], attempt: int = 0) -> int:
        started, started_ns = time.perf_counter(), time.time_ns()
        good_raw, good = _load_or_dead_letter(service, events, dead_letters, attempt, check_payloads)
        metrics.BATCH_SIZE.labels(service).observe(len(events) if isinstance(events, list) else 1)
        try:
            if good:
                _ride_out_outages(service, handle_batch, good)
        except Exception as exc:  # noqa: BLE001 - every failure is retried, then dead-lettered
            if is_outage(exc):
                delay = backoff_seconds(min(attempt, 4), cap=OUTAGE_RETRY_CAP)
                log.warning("%s: batch of %d still waits for its database (%s) after %.0fs; sent back, retry in %.1fs",
                            service, len(good), type(exc).__name__, OUTAGE_HOLD, delay)
                # The same attempt number: an outage never uses up a batch's attempts.
                publisher.send_to_queue(service, good_raw, attempt, countdown=delay)
                return 0
            if attempt + 1 < max_attempts:
                delay = backoff_seconds(attempt)
                log.warning("%s: batch of %d failed (attempt %d), retry in %.1fs: %r",
                            service, len(good), attempt + 1, delay, exc)
                publisher.send_to_queue(service, good_raw, attempt + 1, countdown=delay)
                metrics.RETRIES.labels(service).inc()
                return 0
            log.error("%s: batch of %d failed %d times; isolating events", service, len(good), attempt + 1)
            return _isolate(service, good_raw, good, handle_batch, dead_letters, attempt + 1)
        finally:
            metrics.BATCH_DURATION.labels(service).observe(time.perf_counter() - started)
        log.info("%s: stored batch of %d events in %.1f ms", service, len(good),
                 (time.perf_counter() - started) * 1000)
        _count_consumed(service, good)
        _trace_consumed(service, good, started_ns)
        return len(good)

    return deliver


def _ride_out_outages(service: str, handle_batch: BatchHandler, events: list[Event],
                      hold: float | None = None) -> None:
    """``handle_batch(events)``, tried again in this process while its database cannot be reached, for up to
    ``hold`` seconds; the last outage error is raised when that runs out, any other error at once."""
    hold = OUTAGE_HOLD if hold is None else hold
    deadline, pause = time.monotonic() + hold, 0.05
    while True:
        try:
            handle_batch(events)
            return
        except Exception as exc:
            if not is_outage(exc) or time.monotonic() + pause > deadline:
                raise
            if pause == 0.05:
                log.warning("%s: batch of %d waits for its database (%s); trying again every %.1fs at most",
                            service, len(events), type(exc).__name__, OUTAGE_POLL_CAP)
        time.sleep(pause)
        pause = min(OUTAGE_POLL_CAP, pause * 2)


def _load_or_dead_letter(service: str, events: list[dict[str, Any]], dead_letters: DeadLetterStore, attempt: int,
                         check_payloads: bool = True):
    """The events of the batch this service may act on: signed by their producer, well formed.
    Every other one goes to the dead letters with the reason."""
    if not isinstance(events, list):
        events = [events]
    signed = []
    for raw in events:
        reason = signing.refusal(service, raw)
        if reason is None:
            signed.append(raw)
        else:
            log.error("%s: event %s dead-lettered: %s", service,
                      raw.get("event_id") if isinstance(raw, dict) else "?", reason)
            dead_letters.add(raw if isinstance(raw, dict) else {"raw": raw}, reason, attempt + 1)
            metrics.DEAD_LETTERED.labels(service).inc()
    try:
        return signed, load_events(signed, signed_payloads=not check_payloads)
    except ValidationError:
        pass
    good_raw, good = [], []
    for raw in signed:
        try:
            good.append(load_events([raw], signed_payloads=not check_payloads)[0])
            good_raw.append(raw)
        except ValidationError as exc:
            log.error("malformed event %s dead-lettered: %s", raw.get("event_id"), exc.messages)
            dead_letters.add(raw, f"malformed: {exc.messages}", attempt + 1)
            metrics.DEAD_LETTERED.labels(service).inc()
    return good_raw, good


def _isolate(service: str, raws: Sequence[dict[str, Any]], events: Sequence[Event], handle_batch: BatchHandler,
             dead_letters: DeadLetterStore, attempts: int) -> int:
    stored = 0
    for raw, event in zip(raws, events, strict=True):
        try:
            handle_batch([event])
            stored += 1
            _count_consumed(service, [event])
        except Exception as exc:  # noqa: BLE001 - kept in the dead-letter table for replay
            log.error("event %s (%s) dead-lettered: %r", event.event_id, event.type, exc,
                      extra={"event_id": event.event_id, "correlation_id": event.correlation_id})
            dead_letters.add(raw, repr(exc), attempts)
            metrics.DEAD_LETTERED.labels(service).inc()
    return stored


def _trace_consumed(service: str, events: Sequence[Event], started_ns: int) -> None:
    """One span per event that carries a trace context, the child of the span that emitted it; it covers
    the batch the event was handled in."""
    for event in events:
        if event.traceparent:
            span = tracing.tracer(service).start_span(
                f"{service} consume {event.type}", context=tracing.parent_from({"traceparent": event.traceparent}),
                kind=tracing.CONSUMER, start_time=started_ns,
                attributes={"portal.event_id": event.event_id, "portal.event_type": event.type})
            span.end()


def _count_consumed(service: str, events: Sequence[Event]) -> None:
    by_type: dict[str, int] = {}
    for event in events:
        by_type[event.type] = by_type.get(event.type, 0) + 1
    for type_, count in by_type.items():
        metrics.EVENTS_CONSUMED.labels(service, type_).inc(count)


def inbox_batch_handler(
    session_factory: Callable[[], Session],
    processed: Table,
    handlers: Mapping[str, EventHandler],
) -> BatchHandler:
    """A batch handler for projection-keeping services: one transaction, duplicates dropped."""

    def handle(events: list[Event]) -> None:
        with session_factory() as session:
            with session.begin():
                seen = already_processed(session, processed, [e.event_id for e in events])
                fresh: list[Event] = []
                for event in events:
                    if event.event_id in seen:
                        continue
                    seen.add(event.event_id)
                    handler = handlers.get(event.type)
                    if handler is not None:
                        handler(session, event)
                    fresh.append(event)
                mark_processed(session, processed, fresh)
            bind = session.get_bind()
        if any(e.type in ERASURE_EVENTS and e.type in handlers for e in fresh) and isinstance(bind, Engine):
            checkpoint_wal(bind)  # the erased rows' old pages leave the WAL (shared/leftovers.py)

    return handle


Uow = TypeVar("Uow")


def in_unit_of_work(bound_uow: Callable[[Session, Identity], Uow], worker: str,
                    handler: Callable[[Uow, Event], None]) -> EventHandler:
    """``handler(uow, event)``, its unit of work inside the inbox batch's transaction (a service's
    ``container.bound_uow``), acting as ``worker`` for the event's correlation id: the one way a consumer's
    handler gets its transaction."""

    def handle(session: Session, event: Event) -> None:
        handler(bound_uow(session, Identity(user_id=worker, request_id=event.correlation_id)), event)

    return handle


def erasure_handlers(erase: Callable[[Session, ErasureRequest], None]) -> dict[str, EventHandler]:
    """A privacy participant's handlers for identity's erasure requests (``shared/events/privacy.py``),
    run in the inbox transaction: a malformed request raises, is retried, then dead-lettered."""

    def handle(session: Session, event: Event) -> None:
        erase(session, erasure_request(event))

    return dict.fromkeys(ERASURE_EVENTS, handle)


def replay_dead_letters(dead_letters: DeadLetterStore, app: Celery, service: str,
                        ids: Sequence[int] | None = None) -> int:
    """Send dead letters back to the service's queue (fresh attempt counter)."""
    events = dead_letters.take_for_replay(ids, lambda evs: CeleryPublisher(app).send_to_queue(service, evs))
    return len(events)
