"""``portal workers identity linking content audit``: the named services' Celery workers in one process.

``portal run`` starts this instead of one ``celery worker`` process per service: each worker is an interpreter
carrying its own SQLAlchemy, Celery/kombu, redis-py, cryptography and service code (~70 MiB), and at rest the
four mostly wait on the broker (docs/performance.md, "Footprint"). Here each service keeps everything that was
its own: its Celery app, task and consumer, its broker connection as its own Redis user, its queue, its
database, its dead letters and its metrics (``service`` label). Each runs on a thread of its own as Celery's
worker with the solo pool, one batch at a time, in Celery's blocking consume loop (kombu's event loop is one
per process, ``kombu.asynchronous.get_event_loop``, so two workers cannot each have one); the loss-free Redis
transport keeps its lease and sweeps in that loop too (``shared/bus/reliable_redis.py``).

What it gives up is the isolation between the services' workers: this process holds every service's event
keys and Redis user at once (docs/decisions.md, "One worker process under portal run"). Compose and
Kubernetes keep one worker per service. A worker whose thread ends stops the others and the process exits
with an error, so the supervisor restarts them all; what they held is delivered again and deduplicated by
``event_id``, as for any dead worker.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # Celery is imported when the workers start: `portal run` and the relay import this module
    from celery import Celery
    from celery.worker.worker import WorkController

log = logging.getLogger("portal.workers")


def redis_url_env(service: str) -> str:
    """The variable holding ``service``'s own broker URL (its Redis user) in this process's environment."""
    return f"PORTAL_WORKER_REDIS_URL_{service.upper()}"


@contextmanager
def service_env(service: str, environ: Mapping[str, str] | None = None) -> Iterator[None]:
    """``REDIS_URL`` as ``service``'s own while its settings are read (once, at bootstrap)."""
    env = os.environ if environ is None else environ
    own = env.get(redis_url_env(service))
    before = os.environ.get("REDIS_URL")
    if own:
        os.environ["REDIS_URL"] = own
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("REDIS_URL", None)
        else:
            os.environ["REDIS_URL"] = before


def load_app(service: str) -> Celery:
    """``services/<service>/worker.py``'s app, its service's settings read with its own broker URL."""
    with service_env(service):
        return importlib.import_module(f"services.{service}.worker").app


def controller(service: str, app: Celery, ready: Callable[[object], None]) -> WorkController:
    from shared.bus.topology import queue_name

    """What ``celery -A services.<service>.worker worker -Q events.<service> --pool solo --without-gossip
    --without-mingle --without-heartbeat`` runs, without the parts that are one per process (signal handlers,
    logging set-up, kombu's event loop)."""
    return app.WorkController(
        hostname=f"{service}@{socket.gethostname()}", queues=[queue_name(service)], pool_cls="solo",
        concurrency=1, use_eventloop=False, without_gossip=True, without_mingle=True, without_heartbeat=True,
        loglevel=logging.INFO, ready_callback=ready)


class Workers:
    """The workers on their threads; ``stop`` asks each to finish the batch it holds and return."""

    def __init__(self, services: tuple[str, ...]) -> None:
        self.apps = {service: load_app(service) for service in services}
        self.controllers = {service: controller(service, app, self._ready_callback(service))
                            for service, app in self.apps.items()}
        self.threads: dict[str, threading.Thread] = {}
        self.stopping = threading.Event()
        self.ready: set[str] = set()
        self._lock = threading.Lock()

    def _ready_callback(self, service: str) -> Callable[[object], None]:
        from shared.bus.topology import queue_name

        def ready(_consumer: object) -> None:
            with self._lock:
                self.ready.add(service)
                everyone = self.ready == set(self.apps)
            log.info("%s worker consuming %s", service, queue_name(service))
            if everyone:  # the line a supervisor or a test waits for, as after `celery worker`'s start
                log.info("workers of %s ready.", ", ".join(self.apps))

        return ready

    def start(self) -> None:
        for service, worker in self.controllers.items():
            thread = threading.Thread(target=self._run, args=(service, worker), name=f"{service}-worker")
            self.threads[service] = thread
            thread.start()

    def _run(self, service: str, worker: WorkController) -> None:
        self.apps[service].set_current()  # for this thread: Celery's task tracer looks the task up there
        try:
            worker.start()
        finally:
            if not self.stopping.is_set():
                log.error("%s worker stopped on its own; stopping the others", service)
                self.stop()

    def stop(self) -> None:
        """Celery's own warm stop (what its SIGTERM handler does): each worker's loop raises ``WorkerShutdown``
        between batches, and the worker closes its consumer and connection in its own thread."""
        from celery.worker import state

        self.stopping.set()
        state.should_stop = 0

    def wait(self) -> None:
        for thread in self.threads.values():
            thread.join()


class ServiceOfThread(logging.Filter):
    """A line logged on a worker's thread names that worker's service (``service`` of the JSON lines)."""

    def __init__(self, services: tuple[str, ...]) -> None:
        super().__init__()
        self.threads = {f"{service}-worker": service for service in services}

    def filter(self, record: logging.LogRecord) -> bool:
        service = self.threads.get(record.threadName or "")
        if service:
            record.service = service
        return True


@click.command("workers")
@click.argument("services", nargs=-1, required=True,
                type=click.Choice(("identity", "linking", "content", "audit")))
def workers(services: tuple[str, ...]) -> None:
    """Run the named services' Celery workers in this one process until SIGTERM (``portal run``)."""
    from shared.logs import configure

    pool = Workers(services)
    configure("workers", "worker")  # after every service's worker set up logging for itself
    for handler in logging.getLogger().handlers:
        handler.addFilter(ServiceOfThread(services))
    asked = threading.Event()

    def on_signal(*_: object) -> None:
        asked.set()
        pool.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    pool.start()
    pool.wait()
    if not asked.is_set():
        raise SystemExit(1)  # a worker ended by itself: the supervisor restarts the process
