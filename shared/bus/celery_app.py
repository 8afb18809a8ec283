"""The Celery app factory every service's worker and publisher use."""

from __future__ import annotations

import os
from collections.abc import Callable

from celery import Celery, bootsteps
from celery.signals import setup_logging, worker_ready
from kombu.asynchronous import Hub

from shared.bus.topology import queue_for
from shared.config import env_int


def make_celery(name: str, broker_url: str, consume_queue: str | None = None) -> Celery:
    """JSON only, late acks, requeue on a lost worker, no result backend.

    ``consume_queue`` is the consuming service whose queue this app's worker reads.
    """
    app = Celery(name, broker=broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        # 1: with Redis, a prefetched message lives only in the worker's socket buffer until kombu records it
        # as unacked; kill -9 in that window lost events with prefetch 4 (audit fault test, 1 run in 6).
        worker_prefetch_multiplier=env_int("PORTAL_WORKER_PREFETCH", 1),
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # An unacked message (worker killed) is delivered again after this many seconds.
            "visibility_timeout": env_int("PORTAL_VISIBILITY_TIMEOUT", 300),
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
        },
        task_create_missing_queues=False,
        enable_utc=True,
    )
    if broker_url.startswith(("amqp://", "amqps://")):
        # RabbitMQ: every publish waits for the broker's confirm, which it sends once the (persistent)
        # message is in its durable queues, so the relay marks rows sent only when they are safe there.
        # A worker that dies with a message unacknowledged has it delivered again as soon as its
        # connection closes.
        app.conf.broker_transport_options = {"confirm_publish": True}
    if broker_url.startswith(("redis://", "rediss://", "unix://")):
        # kombu's Redis transport loses a message popped by a worker killed before its bookkeeping ran.
        app.conf.broker_transport = "shared.bus.reliable_redis:Transport"
    if consume_queue:
        queue = queue_for(consume_queue)
        app.conf.task_queues = [queue]
        app.conf.task_default_queue = queue.name
        app.steps["consumer"].add(NoWaitWithWorkReady)
        # Now (a worker's start-up warnings come before Celery's logging set-up) and again at set-up.
        _configure_logging(consume_queue)()
        from shared import tracing

        tracing.configure(consume_queue)
        setup_logging.connect(_configure_logging(consume_queue), weak=False, dispatch_uid="portal-logging")
        if os.environ.get("PORTAL_METRICS_PORT"):
            worker_ready.connect(_serve_metrics, weak=False, dispatch_uid="portal-metrics")
    return app


class NoWaitWithWorkReady(bootsteps.StartStopStep):
    """The worker's event loop (kombu's ``Hub``) runs the callbacks queued with ``call_soon`` at the top of a round,
    then sleeps in ``poll`` until a socket is readable or the next timer is due (up to 10 s). A callback queued
    while that round's callbacks run waits for the poll to end: when the last message the broker may send (the
    prefetch window) is read by such a callback, its acknowledgement waits too, the broker sends nothing more,
    and the loop sleeps the full 10 s. It happens after a task held the loop a while (``--pool solo``: the
    outage hold of ``shared/bus/consumer.py``) and the frames of several deliveries were read one callback after
    another: on RabbitMQ the worker then received in bursts 10 s apart. Before each poll this step runs what is
    ready, so the loop sleeps only with nothing left to do (tests/integration/shared/test_worker_loop.py)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, parent: object) -> None:
        hub = getattr(parent, "hub", None)
        if hub is not None and not any(getattr(t, "__name__", "") == "run_ready" for t in hub.on_tick):
            hub.on_tick.add(run_ready(hub))


def run_ready(hub: Hub) -> Callable[[], None]:
    """A tick callback for ``hub``: run its ready callbacks, and those they queue, before it polls."""

    def tick() -> None:
        for _ in range(1000):  # a reader queues itself again only while its socket has data
            ready = hub._pop_ready()
            if not ready:
                return
            for callback in ready:
                if callback:
                    callback()

    tick.__name__ = "run_ready"
    return tick


def _configure_logging(service: str):
    """Celery leaves logging alone when ``setup_logging`` has a receiver: the worker logs like every other
    process (shared/logs.py)."""

    def configure(loglevel: object = None, **_kwargs: object) -> None:
        from shared.logs import configure as configure_logs

        configure_logs(service, "worker", level=loglevel if isinstance(loglevel, int) else 20)

    return configure


def _serve_metrics(**_kwargs: object) -> None:
    """A worker on a host of its own (no web tier beside it) serves its counters on ``PORTAL_METRICS_PORT``,
    in the main process, from the multiprocess directory its pool processes write (shared/metrics.py)."""
    from shared.metrics import serve_in_background

    serve_in_background(int(os.environ["PORTAL_METRICS_PORT"]),
                        addr=os.environ.get("PORTAL_METRICS_ADDR", "0.0.0.0"))  # noqa: S104
