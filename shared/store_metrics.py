"""The state gauges every service exposes, read from its database and the broker at scrape time
(``shared/metrics.py`` explains why at scrape time)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import redis
from kombu import Connection
from sqlalchemy import Engine, Table, func, select

from shared.bus.topology import queue_name
from shared.metrics import StateReader, age_seconds, gauge


def outbox_reader(service: str, engine: Engine, outbox: Table) -> StateReader:
    """Rows not yet published and the age of the oldest (the gateway's outbox is its access spool)."""

    def read() -> Iterable:
        with engine.connect() as conn:
            count, oldest = conn.execute(select(func.count(), func.min(outbox.c.created_at))
                                         .where(outbox.c.sent_at.is_(None))).one()
        yield gauge("portal_outbox_backlog", "Outbox rows not yet published", ["service"], [([service], count)])
        yield gauge("portal_outbox_oldest_unsent_age_seconds", "Age of the oldest unpublished outbox row",
                    ["service"], [([service], age_seconds(oldest))])

    return read


def dead_letter_reader(service: str, engine: Engine, dead_letters: Table) -> StateReader:
    """Dead letters waiting for a replay and the age of the oldest."""

    def read() -> Iterable:
        with engine.connect() as conn:
            count, oldest = conn.execute(select(func.count(), func.min(dead_letters.c.failed_at))
                                         .where(dead_letters.c.replayed_at.is_(None))).one()
        yield gauge("portal_dead_letters", "Dead letters not replayed", ["service"], [([service], count)])
        yield gauge("portal_dead_letters_oldest_age_seconds", "Age of the oldest dead letter not replayed",
                    ["service"], [([service], age_seconds(oldest))])

    return read


def queue_depth(service: str, broker_url: str) -> Callable[[], int]:
    """Messages waiting in the service's queue: on Redis the length of Celery's list of the queue's name; on
    RabbitMQ the message count a passive declare reports (ready messages, not those a worker holds)."""
    queue = queue_name(service)
    if broker_url.startswith(("redis://", "rediss://", "unix://")):
        client = redis.Redis.from_url(broker_url, socket_timeout=1.0, socket_connect_timeout=1.0)
        return lambda: int(client.llen(queue))

    def depth() -> int:
        with Connection(broker_url, connect_timeout=2.0, transport_options={"max_retries": 0}) as conn:
            return int(conn.default_channel.queue_declare(queue=queue, passive=True).message_count)

    return depth


def queue_depth_reader(service: str, broker_url: str) -> StateReader:
    """The service's queue depth (``queue_depth``) as the gauge ``portal_queue_depth``."""
    queue = queue_name(service)
    depth = queue_depth(service, broker_url)

    def read() -> Iterable:
        yield gauge("portal_queue_depth", "Messages waiting in a queue", ["queue"], [([queue], depth())])

    return read
