"""The Celery app factory every service's worker and publisher use."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import setup_logging, worker_ready

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
        # Now (a worker's start-up warnings come before Celery's logging set-up) and again at set-up.
        _configure_logging(consume_queue)()
        from shared import tracing

        tracing.configure(consume_queue)
        setup_logging.connect(_configure_logging(consume_queue), weak=False, dispatch_uid="portal-logging")
        if os.environ.get("PORTAL_METRICS_PORT"):
            worker_ready.connect(_serve_metrics, weak=False, dispatch_uid="portal-metrics")
    return app


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
