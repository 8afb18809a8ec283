"""Publishing batches of events: many events per broker message, one message per event type."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from celery import Celery

from shared.bus.topology import DELIVER_TASK, EVENTS_EXCHANGE, RETRY_EXCHANGE, declare_on, queue_name
from shared.events import signing


class Publisher(Protocol):
    def publish(self, events: Sequence[dict[str, Any]]) -> None: ...

    def publish_raw(self, events: Sequence[tuple[str, str]]) -> None: ...

    def broker_epoch(self) -> str | None: ...


def group_by_type(events: Iterable[tuple[str, Any]], max_per_message: int) -> list[tuple[str, list]]:
    """``(type, item)`` pairs as consecutive runs of the same type, cut at ``max_per_message``: ``(type,
    [item, ...])`` in the original order."""
    groups: list[tuple[str, list]] = []
    current: list = []
    current_type: str | None = None
    for type_, item in events:
        if type_ != current_type or len(current) >= max_per_message:
            current, current_type = [], type_
            groups.append((type_, current))
        current.append(item)
    return groups


_EMBED = json.dumps({"callbacks": None, "errbacks": None, "chain": None, "chord": None})
REDECLARE_SECONDS = 1.0


def _declare_topology(producer: Any) -> None:
    """Declare every queue, binding and exchange on the producer's own channel.

    A topic exchange drops a message for which no queue is bound yet, and kombu's virtual transports (Redis)
    keep exchange types per connection: a channel that never declared ``events`` routes it as a direct
    exchange, to no queue, silently. Declaring is idempotent but costs ~2.6 ms, so each channel re-declares
    at most once a second. The memo lives on the channel itself: a connection that reconnects (a restarted
    or unreachable Redis) gets a new channel with nothing declared, which declares again at once (the
    Redis transport also declares on a channel that publishes to an exchange it does not know,
    ``shared/bus/reliable_redis.py``, for a channel kombu revives in the middle of a publish).
    """
    channel = producer.channel
    now = time.monotonic()
    if now - getattr(channel, "_portal_declared_at", -REDECLARE_SECONDS) < REDECLARE_SECONDS:
        return
    declare_on(channel)
    channel._portal_declared_at = now


class CeleryPublisher:
    """Publishes ``portal.events.deliver`` task messages to the ``events`` topic exchange."""

    def __init__(self, app: Celery, max_per_message: int = 1000) -> None:
        self.app = app
        self.max_per_message = max_per_message

    def publish(self, events: Sequence[dict[str, Any]]) -> None:
        """Publish envelopes (dicts), many per broker message, one message per run of one type; those not
        signed yet are signed with this process's keys of their producer (``shared.events.signing``)."""
        self.publish_raw([(e["type"], json.dumps(e if signing.SIG_FIELD in e else signing.sign(dict(e)),
                                                 separators=(",", ":"))) for e in events])

    def publish_raw(self, events: Sequence[tuple[str, str]]) -> None:
        """Publish ``(type, envelope JSON text)`` pairs as they are stored in an outbox.

        The message body is spliced from the stored JSON texts instead of decoding and re-encoding every
        event (half of the relay's cost per event); headers and properties are Celery's own protocol-2
        ones, so workers see an ordinary ``portal.events.deliver([...])`` task.
        """
        if not events:
            return
        groups = group_by_type(events, self.max_per_message)
        with self.app.producer_pool.acquire(block=True) as producer:
            _declare_topology(producer)
            for type_, batch in groups:
                task_id = str(uuid.uuid4())
                message = self.app.amqp.as_task_v2(task_id, DELIVER_TASK, args=[], kwargs={},
                                                   ignore_result=True)
                headers, properties = message.headers, message.properties
                headers["argsrepr"] = f"[<{len(batch)} {type_} events>]"
                body = "[[[" + ",".join(batch) + "]],{}," + _EMBED + "]"
                producer.publish(
                    body,
                    exchange=EVENTS_EXCHANGE.name,
                    routing_key=type_,
                    headers=headers,
                    content_type="application/json",
                    content_encoding="utf-8",
                    delivery_mode=2,
                    retry=True,
                    **properties,
                )

    def broker_epoch(self) -> str | None:
        """Which run of the broker is up (Redis' ``run_id``: new at every start), or ``None`` when the
        broker confirms each publish only once it is durable (RabbitMQ with publisher confirms).

        Redis with ``appendfsync everysec`` acknowledges writes it may not have written yet (the write is
        postponed while a background fsync runs, up to 2 s): a Redis killed then restarts without them.
        The relay republishes what it sent shortly before a new run id appears (shared/outbox.py)."""
        with self.app.producer_pool.acquire(block=True) as producer:
            connection = producer.connection
            if connection.transport.driver_type != "redis":
                return None
            return str(connection.default_channel.client.info("server")["run_id"])

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
