"""kombu's Redis transport without its message-loss window on a killed worker.

kombu takes a message with ``BRPOP`` and only then records it in its ``unacked`` hash: a worker killed
in between (its process descheduled after Redis popped the message, before the bookkeeping ran) loses
the message for good — kombu issue #305, reproduced here by the audit fault test (one message of 25
events lost in about one run in eight under load). This channel pops with ``BLMOVE`` into an in-flight
list of its own, records the message in ``unacked`` as kombu does, then removes it from the in-flight
list. Whatever a dead consumer left in flight is moved back to its queue when a consumer starts on that
queue (and on each of kombu's periodic restore sweeps), so a crash costs at most a duplicate, which
every consumer drops by ``event_id``.

A message a consumer holds (recorded in ``unacked``) is also recorded as that consumer's, and every
consumer keeps a lease of its own alive (``portal:consumer:<id>``, renewed every second, lapsing after
``LEASE_SECONDS``). Every consumer sweeps once a second (from kombu's event loop, or as it polls when it
runs without one, as ``portal workers`` does): what a consumer whose lease lapsed still held is put back in
its queue. A worker killed in the middle of a batch therefore has that batch delivered again
within seconds by any consumer alive, instead of after kombu's visibility timeout (300 s here), which
stays as the fallback for messages without an owner. The lease is renewed by a thread of its own while
the channel consumes, so a worker that runs its tasks in the consuming process (``--pool solo``, which
blocks the event loop for a whole batch) keeps it through a long batch; only a process that is gone (or
frozen whole) loses it.

Used for single-queue consumers on messages without priority (every worker of this platform); anything
else falls back to kombu's own behaviour.

Publishing never drops an event silently. kombu keeps each exchange's type in the connection's memory and
its bindings in Redis; a message for an exchange the channel does not know is routed as if the exchange
were direct, and one that matches no binding is thrown away without an error. A connection that reconnects
(Redis restarted, unreachable for a moment) comes back with a new channel that knows no exchange — kombu
also revives the channel inside a publish it retries — so the relay's next publish of access events went
nowhere while their rows were marked sent (the Redis kill -9 fault lost a batch in about one run in five).
For the platform's own exchanges this channel declares the topology first when it does not know the
exchange, writes the bindings to Redis again when none matches (Redis lost them), and raises ``Unroutable`` if still
nothing does, so the publish fails and the relay keeps the rows to publish again.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from time import monotonic, time
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import dumps, loads

from shared.bus.topology import EVENTS_EXCHANGE, RETRY_EXCHANGE, all_queues, declare_on

INFLIGHT_PREFIX = "portal:inflight"
OWNERS_KEY = "portal:unacked:owners"  # delivery tag -> id of the consumer holding it
LEASE_PREFIX = "portal:consumer"
LEASE_SECONDS = 5
BEAT_SECONDS = 1.0
OWN_EXCHANGES = frozenset({EVENTS_EXCHANGE.name, RETRY_EXCHANGE.name})


class Unroutable(Exception):
    """A message for one of the platform's exchanges matched no queue even after declaring them again."""


def lease_key(consumer_id: str) -> str:
    return f"{LEASE_PREFIX}:{consumer_id}"


class QoS(kombu_redis.QoS):
    """kombu's ack emulation, with each unacked message's owner recorded beside it."""

    def append(self, message: Any, delivery_tag: str) -> None:
        queue = self.channel.delivering_from
        if queue is None:  # not popped by this channel's reliable path: kombu's own bookkeeping
            return super().append(message, delivery_tag)
        delivery = message.delivery_info
        with self.pipe_or_acquire() as pipe:
            pipe.zadd(self.unacked_index_key, {delivery_tag: time()}) \
                .hset(self.unacked_key, delivery_tag,
                      dumps([message._raw, delivery["exchange"], delivery["routing_key"]])) \
                .hset(OWNERS_KEY, delivery_tag, f"{self.channel.consumer_id} {queue}") \
                .execute()
        virtual.QoS.append(self, message, delivery_tag)

    def _remove_from_indices(self, delivery_tag: str, pipe: Any = None) -> Any:
        return super()._remove_from_indices(delivery_tag, pipe).hdel(OWNERS_KEY, delivery_tag)

    def restore_orphans(self, client: Any) -> int:
        """Put back what consumers whose lease lapsed still held; return how many messages."""
        owners = {bytes_to_str(tag): bytes_to_str(held).split(" ", 1)
                  for tag, held in client.hgetall(OWNERS_KEY).items()}
        if not owners:
            return 0
        consumers = sorted({consumer for consumer, _ in owners.values()})
        with client.pipeline(transaction=False) as pipe:
            for consumer in consumers:
                pipe.exists(lease_key(consumer))
            alive = dict(zip(consumers, pipe.execute(), strict=True))
        orphans = [(tag, queue) for tag, (consumer, queue) in owners.items() if not alive[consumer]]
        for tag, queue in orphans:
            self._restore_to_queue(client, tag, queue)
        return len(orphans)

    def _restore_to_queue(self, client: Any, tag: str, queue: str) -> None:
        """Back to the queue it was taken from (not through the exchange, which would fan it out to every
        other bound queue again), at the end consumers take from; atomic with forgetting it as unacked."""

        def restore(pipe: Any) -> None:
            raw = pipe.hget(self.unacked_key, tag)
            pipe.multi()
            self._remove_from_indices(tag, pipe)
            if raw:
                message = loads(bytes_to_str(raw))[0]
                message.setdefault("headers", {})["redelivered"] = True
                pipe.rpush(queue, dumps(message))

        client.transaction(restore, self.unacked_key)


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
    QoS = QoS
    _reliable_queue: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._consumer_id = uuid.uuid4().hex
        self._recovered: set[str] = set()
        self._beaten_at = -BEAT_SECONDS
        self._swept_at = -BEAT_SECONDS
        self._keeper_stop: threading.Event | None = None
        self.delivering_from: str | None = None  # the queue of the message being handed over

    @property
    def consumer_id(self) -> str:
        return self._consumer_id

    def beat(self, force: bool = False) -> None:
        """Renew this consumer's lease (at most once a second unless forced)."""
        now = monotonic()
        if not force and now - self._beaten_at < BEAT_SECONDS:
            return
        self._beaten_at = now
        with self.conn_or_acquire() as client:
            client.set(lease_key(self._consumer_id), 1, ex=LEASE_SECONDS)

    def sweep(self) -> int:
        """Renew the lease, then restore what dead consumers held."""
        self._swept_at = monotonic()
        self.beat(force=True)
        with self.conn_or_acquire() as client:
            return self.qos.restore_orphans(client)

    def _keep_lease(self) -> None:
        """Renew the lease every ``BEAT_SECONDS`` from a daemon thread until the channel closes."""
        if self._keeper_stop is not None:
            return
        stop = self._keeper_stop = threading.Event()

        def keep() -> None:
            while not stop.wait(BEAT_SECONDS):
                # Redis away: the poller reconnects, the next beat tries again.
                with contextlib.suppress(Exception):
                    self.beat(force=True)

        threading.Thread(target=keep, name="portal-consumer-lease", daemon=True).start()

    def close(self) -> None:
        if self._keeper_stop is not None:
            self._keeper_stop.set()
        if not self.closed:
            try:
                with self.conn_or_acquire() as client:
                    client.delete(lease_key(self._consumer_id))
            except self.connection_errors:
                pass  # the lease lapses by itself
        super().close()

    def _lookup(self, exchange: str, routing_key: str, default: str | None = None) -> Any:
        """The queues a message for ``exchange`` goes to (kombu's routing), never none for the platform's
        own exchanges: declared on this channel first if it does not know them, again if nothing matched."""
        if exchange not in OWN_EXCHANGES:
            return super()._lookup(exchange, routing_key, default)
        if exchange not in self.state.exchanges:
            declare_on(self)
        queues = super()._lookup(exchange, routing_key, default)
        if not queues:
            self._bind_again()
            queues = super()._lookup(exchange, routing_key, default)
        if not queues:
            raise Unroutable(f"no queue is bound to exchange {exchange!r} for {routing_key!r}")
        return queues

    def _bind_again(self) -> None:
        """Write every binding of the platform's queues to Redis again. kombu writes a binding only the first
        time a connection declares it: declaring again does not bring back bindings Redis lost."""
        for queue in all_queues():
            for bound in queue.bindings:
                exchange = bound.exchange.name
                self.exchange_declare(exchange, type=bound.exchange.type, durable=True)
                self._queue_bind(exchange, *self.typeof(exchange).prepare_bind(
                    queue.name, exchange, bound.routing_key, bound.arguments))

    def _inflight_key(self, queue: str) -> str:
        return f"{INFLIGHT_PREFIX}:{queue}:{self._consumer_id}"

    def basic_consume(self, queue: str, *args: Any, **kwargs: Any) -> Any:
        self.beat(force=True)
        self._keep_lease()
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
        if monotonic() - self._swept_at >= BEAT_SECONDS:
            self.sweep()  # a consumer without kombu's event loop (``portal workers``) sweeps as it polls
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
            self.delivering_from = queue
            try:
                self.connection._deliver(loads(bytes_to_str(item)), queue)
            finally:
                self.delivering_from = None
            self.client.lrem(self._inflight_key(queue), 1, item)
            return True
        finally:
            self._in_poll = None  # type: ignore[assignment]  # kombu annotates it as bool but resets it to None itself
            self._reliable_queue = None
            self._flush_brpop_reauth()


class Transport(kombu_redis.Transport):
    Channel = Channel

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        super().register_with_event_loop(connection, loop)
        cycle: Any = self.cycle
        previous = getattr(cycle, "_portal_sweep_tref", None)
        if previous is not None:  # a reconnect registers again
            previous.cancel()

        def sweep() -> None:
            for channel in list(cycle._channels):
                if channel.active_queues:
                    try:
                        channel.sweep()
                    except channel.connection_errors:
                        return  # the poller reconnects; the next tick tries again

        cycle._portal_sweep_tref = loop.call_repeatedly(BEAT_SECONDS, sweep)
