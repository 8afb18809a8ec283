"""kombu's Redis transport without its message-loss window on a killed worker.

kombu takes a message with ``BRPOP`` and only then records it in its ``unacked`` hash: a worker killed
in between (its process descheduled after Redis popped the message, before the bookkeeping ran) loses
the message for good — kombu issue #305, reproduced here by the audit fault test (one message of 25
events lost in about one run in eight under load). This channel pops with ``BLMOVE`` into an in-flight
list of its own, records the message in ``unacked`` as kombu does, then removes it from the in-flight
list. Whatever a dead consumer left in flight is moved back to its queue when a consumer starts on that
queue (and on each of kombu's periodic restore sweeps), so a crash costs at most a duplicate, which
every consumer drops by ``event_id``.

Used for single-queue consumers on messages without priority (every worker of this platform); anything
else falls back to kombu's own behaviour.
"""

from __future__ import annotations

import uuid
from time import monotonic
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads

INFLIGHT_PREFIX = "portal:inflight"


def inflight_pattern(queue: str) -> str:
    return f"{INFLIGHT_PREFIX}:{queue}:*"


def recover_inflight(client: Any, queue: str, exclude: str | None = None) -> int:
    """Move every message left in flight for ``queue`` back to it (oldest first); return how many."""
    moved = 0
    for key in client.scan_iter(match=inflight_pattern(queue), count=100):
        key = bytes_to_str(key)
        if key == exclude:
            continue
        while client.lmove(key, queue, "RIGHT", "RIGHT") is not None:
            moved += 1
    return moved


class Channel(kombu_redis.Channel):
    _reliable_queue: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._consumer_id = uuid.uuid4().hex
        self._recovered: set[str] = set()

    def _inflight_key(self, queue: str) -> str:
        return f"{INFLIGHT_PREFIX}:{queue}:{self._consumer_id}"

    def basic_consume(self, queue: str, *args: Any, **kwargs: Any) -> Any:
        if queue not in self._recovered:
            with self.conn_or_acquire() as client:
                recover_inflight(client, queue, exclude=self._inflight_key(queue))
            self._recovered.add(queue)
        return super().basic_consume(queue, *args, **kwargs)

    def _brpop_start(self, timeout: float | None = None) -> None:
        queues = self._queue_cycle.consume(len(self.active_queues))
        if len(queues) != 1 or self.global_keyprefix:
            self._reliable_queue = None
            return super()._brpop_start(timeout)
        if timeout is None:
            timeout = self.brpop_timeout
        queue = queues[0]
        self._reliable_queue = queue
        self._in_poll = self.client.connection
        self._brpop_sent_at = monotonic()  # type: ignore[assignment]  # kombu declares it None at class level
        self.client.connection.send_command("BLMOVE", queue, self._inflight_key(queue), "RIGHT", "LEFT",
                                            timeout or 0)

    def _brpop_read(self, **options: Any) -> bool:
        queue = self._reliable_queue
        if queue is None:
            return super()._brpop_read(**options)
        try:
            try:
                item = self.client.parse_response(self.client.connection, "BLMOVE", **options)
            except self.connection_errors:
                self.client.connection.disconnect()
                raise
            if item is None:
                raise kombu_redis.Empty()
            # _deliver records the message in ``unacked`` (kombu's ack emulation) before returning;
            # only then is it safe to forget the in-flight copy.
            self.connection._deliver(loads(bytes_to_str(item)), queue)
            self.client.lrem(self._inflight_key(queue), 1, item)
            return True
        finally:
            self._in_poll = None  # type: ignore[assignment]  # kombu annotates it as bool but resets it to None itself
            self._reliable_queue = None
            self._flush_brpop_reauth()


class Transport(kombu_redis.Transport):
    Channel = Channel
