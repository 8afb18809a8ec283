"""Prometheus metrics: what every process counts, and what a scrape reads from the stores.

Counters and histograms live in the process that sees the thing happen (a web request, a consumed
batch, a relay publish). Under gunicorn (several worker processes) and Celery prefork they are kept in
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode): one directory per service and host,
set before any process imports this module (``portal run``, ``shared/web/gunicorn_conf.py``), emptied
when the service starts, and a dead gunicorn worker's live gauges removed by the ``child_exit`` hook.
A service's web tier, worker and scheduler on one host share that directory, so its ``/metrics`` shows all
of them; a process on a host of its own (a worker pod) serves the same exposition on
``PORTAL_METRICS_PORT`` (``serve_in_background``).

Gauges of state (outbox backlog and age, dead letters, queue depth, audit chain head) are read from the
database and the broker at scrape time by a ``StateCollector``, so they are right whichever process
changed the state. docs/operations.md lists every metric.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("portal.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# ``portal run`` runs every service's worker in one process (services/cli/workers.py), whose counters go to a
# directory of their own; a service's /metrics adds those of its own ``service`` label from there.
WORKERS_MULTIPROC_ENV = "PORTAL_WORKERS_MULTIPROC_DIR"
METRICS_SERVICE_ENV = "PORTAL_METRICS_SERVICE"
CONTENT_TYPE = CONTENT_TYPE_LATEST
if os.environ.get(MULTIPROC_ENV):
    # The first count writes a file there: a fresh emptyDir or tmpfs has no such directory yet.
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

REQUESTS = Counter("portal_http_requests_total", "HTTP requests answered, per route and status",
                   ["service", "method", "route", "status"])
LATENCY = Histogram("portal_http_request_duration_seconds", "Time to answer an HTTP request",
                    ["service", "method", "route", "status"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
EVENTS_PUBLISHED = Counter("portal_events_published_total", "Events the relay published, per type",
                           ["service", "type"])
PUBLISH_FAILURES = Counter("portal_relay_publish_failures_total", "Relay rounds that failed to publish",
                           ["service"])
EVENTS_CONSUMED = Counter("portal_events_consumed_total", "Events a consumer handled, per type",
                          ["service", "type"])
BATCH_SIZE = Histogram("portal_consumer_batch_size", "Events per consumed batch", ["service"],
                       buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000))
BATCH_DURATION = Histogram("portal_consumer_batch_duration_seconds", "Time to handle one batch", ["service"],
                           buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
RETRIES = Counter("portal_consumer_retries_total", "Failed batches sent back for another attempt", ["service"])
DEAD_LETTERED = Counter("portal_events_dead_lettered_total", "Events put in the dead-letter table", ["service"])
LOGINS = Counter("portal_identity_logins_total", "Login attempts by outcome (ok, failed, throttled)",
                 ["outcome"])
DUTY_RUNS = Counter("portal_schedule_duty_runs_total", "Periodic duties run, by outcome (ok, failed)",
                    ["duty", "outcome"])
DUTY_DURATION = Histogram("portal_schedule_duty_duration_seconds", "Time a periodic duty ran", ["duty"],
                          buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600))

StateReader = Callable[[], Iterable[GaugeMetricFamily]]


def prepare_multiprocess_dir(path: Path) -> None:
    """Empty (or create) a service's directory before its processes start: values of a previous run
    would otherwise be added to this one's."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)


def mark_process_dead(pid: int) -> None:
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


class StateCollector(Collector):
    """Gauges read at scrape time; a reader that fails is logged and left out of this scrape."""

    def __init__(self, readers: Iterable[StateReader]) -> None:
        self.readers = list(readers)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for reader in self.readers:
            try:
                yield from reader()
            except Exception:  # noqa: BLE001 - a scrape reports what it can read
                log.warning("metrics: state reader %s failed", getattr(reader, "__qualname__", reader),
                            exc_info=True)


class OneService(Collector):
    """The samples labelled ``service`` in another multiprocess directory (the shared workers' process)."""

    def __init__(self, path: str, service: str) -> None:
        self.path, self.service = path, service

    def collect(self) -> Iterator[Any]:
        if not os.path.isdir(self.path):
            return
        for family in multiprocess.MultiProcessCollector(None, path=self.path).collect():
            family.samples = [s for s in family.samples if s.labels.get("service") == self.service]
            if family.samples:
                yield family


def registry(state: Iterable[StateReader] = ()) -> CollectorRegistry:
    """Every process's counters (the multiprocess directory, else this process) plus the state gauges."""
    if os.environ.get(MULTIPROC_ENV):
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
        shared, service = os.environ.get(WORKERS_MULTIPROC_ENV), os.environ.get(METRICS_SERVICE_ENV)
        if shared and service and shared != os.environ[MULTIPROC_ENV]:
            reg.register(OneService(shared, service))
    else:
        reg = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):  # noqa: SLF001 - this process's own metrics
            reg.register(collector)
    readers = list(state)
    if readers:
        reg.register(StateCollector(readers))
    return reg


def exposition(state: Iterable[StateReader] = ()) -> bytes:
    return generate_latest(registry(state))


def serve_in_background(port: int, state: Iterable[StateReader] = (), addr: str = "0.0.0.0") -> None:  # noqa: S104
    """A process without a web tier of its own (a worker on its own host) serves its metrics here."""
    start_http_server(port, addr=addr, registry=registry(state))
    log.info("metrics on %s:%d/metrics", addr, port)


def observe_request(service: str, method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(service, method, route, str(status)).inc()
    LATENCY.labels(service, method, route, str(status)).observe(seconds)


def gauge(name: str, doc: str, labels: list[str], samples: Iterable[tuple[list[str], float]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in samples:
        family.add_metric(values, value)
    return family


def age_seconds(when: Any) -> float:
    if when is None:
        return 0.0
    stamp = when.timestamp() if hasattr(when, "timestamp") else float(when)
    return max(0.0, time.time() - stamp)
