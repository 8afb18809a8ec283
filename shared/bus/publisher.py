"""Publishing batches of events: many events per broker message, one message per event type."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from celery import Celery

from shared.bus.topology import DELIVER_TASK, EVENTS_EXCHANGE, RETRY_EXCHANGE, all_queues, queue_name


class Publisher(Protocol):
    def publish(self, events: Sequence[dict[str, Any]]) -> None: ...


def group_by_type(events: Iterable[dict[str, Any]], max_per_message: int) -> list[tuple[str, list]]:
    """Consecutive runs of the same type, cut at ``max_per_message``; keeps the original order."""
    groups: list[tuple[str, list]] = []
    for ev in events:
        if groups and groups[-1][0] == ev["type"] and len(groups[-1][1]) < max_per_message:
            groups[-1][1].append(ev)
        else:
            groups.append((ev["type"], [ev]))
    return groups


_declared_at: dict[int, float] = {}
REDECLARE_SECONDS = 1.0


def _declare_topology(producer: Any) -> None:
    """Declare every queue, binding and exchange on the producer's own connection.

    kombu's virtual transports (Redis) keep exchange types per connection, and bindings live in Redis:
    publishing to an exchange this connection never declared, or after Redis lost its bindings (a
    restart without persistence), drops the message silently. Declaring is idempotent but costs ~2.6 ms,
    so each pooled connection re-declares at most once a second: a Redis wipe costs at most a second.
    """
    key = id(producer.connection)
    now = time.monotonic()
    if now - _declared_at.get(key, -REDECLARE_SECONDS) < REDECLARE_SECONDS:
        return
    channel = producer.channel
    for queue in all_queues():
        queue(channel).declare()
    _declared_at[key] = now


class CeleryPublisher:
    """Publishes ``portal.events.deliver`` task messages to the ``events`` topic exchange."""

    def __init__(self, app: Celery, max_per_message: int = 500) -> None:
        self.app = app
        self.max_per_message = max_per_message

    def publish(self, events: Sequence[dict[str, Any]]) -> None:
        if not events:
            return
        with self.app.producer_pool.acquire(block=True) as producer:
            _declare_topology(producer)
            for type_, batch in group_by_type(events, self.max_per_message):
                self.app.send_task(
                    DELIVER_TASK,
                    args=[batch],
                    exchange=EVENTS_EXCHANGE.name,
                    exchange_type="topic",
                    routing_key=type_,
                    producer=producer,
                    retry=True,
                )

    def send_to_queue(self, service: str, events: Sequence[dict[str, Any]], attempt: int = 0,
                      countdown: float | None = None) -> None:
        """Deliver straight to one service's queue (retries, dead-letter replays)."""
        with self.app.producer_pool.acquire(block=True) as producer:
            _declare_topology(producer)
            self.app.send_task(
                DELIVER_TASK,
                args=[list(events)],
                kwargs={"attempt": attempt},
                exchange=RETRY_EXCHANGE.name,
                exchange_type="direct",
                routing_key=queue_name(service),
                countdown=countdown,
                producer=producer,
                retry=True,
            )
