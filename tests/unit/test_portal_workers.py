"""``portal workers``: every service's worker on a thread of one process (services/cli/workers.py)."""

from __future__ import annotations

import logging
import os
import threading

import pytest
from celery.worker import state

from services.cli import workers
from services.cli.workers import ServiceOfThread, Workers, redis_url_env, service_env


class FakeWorker:
    """Runs until Celery's stop flag is set (what the real loop checks between batches), or ends at once."""

    def __init__(self, ends_by_itself: bool = False) -> None:
        self.ends_by_itself = ends_by_itself
        self.started = threading.Event()

    def start(self) -> None:
        self.started.set()
        while not self.ends_by_itself and state.should_stop is None:
            threading.Event().wait(0.01)


class FakeApp:
    def set_current(self) -> None:
        pass


def ended(pool: Workers) -> None:
    for thread in pool.threads.values():
        thread.join(timeout=10)
        assert not thread.is_alive(), thread.name


@pytest.fixture
def fakes(monkeypatch):
    made: dict[str, FakeWorker] = {}
    monkeypatch.setattr(workers, "load_app", lambda service: FakeApp())
    monkeypatch.setattr(workers, "controller",
                        lambda service, app, ready: made.setdefault(service, FakeWorker(service == "content")))
    yield made
    state.should_stop = None  # Celery's flag is global to the process


def test_a_worker_that_ends_by_itself_stops_the_others(fakes):
    pool = Workers(("identity", "content", "audit"))
    pool.start()
    ended(pool)  # only because content's ending stopped identity's and audit's
    assert all(worker.started.is_set() for worker in fakes.values())
    assert state.should_stop == 0


def test_stop_asks_every_worker_to_finish_its_batch_and_return(monkeypatch):
    monkeypatch.setattr(workers, "load_app", lambda service: FakeApp())
    monkeypatch.setattr(workers, "controller", lambda service, app, ready: FakeWorker())
    try:
        pool = Workers(("identity", "audit"))
        pool.start()
        pool.stop()
        ended(pool)
        assert pool.stopping.is_set()
    finally:
        state.should_stop = None


def test_each_service_reads_its_settings_with_its_own_redis_user(monkeypatch):
    monkeypatch.setenv(redis_url_env("content"), "redis://content:pw@127.0.0.1:1/0")
    monkeypatch.delenv("REDIS_URL", raising=False)
    with service_env("content"):
        assert os.environ["REDIS_URL"] == "redis://content:pw@127.0.0.1:1/0"
    assert "REDIS_URL" not in os.environ
    monkeypatch.setenv("REDIS_URL", "redis://shared@127.0.0.1:2/0")  # an external Redis: one URL for all
    with service_env("audit"):
        assert os.environ["REDIS_URL"] == "redis://shared@127.0.0.1:2/0"


def test_a_line_logged_on_a_workers_thread_names_its_service():
    named = ServiceOfThread(("identity", "audit"))

    def record(thread: str) -> logging.LogRecord:
        line = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
        line.threadName = thread
        named.filter(line)
        return line

    assert record("audit-worker").service == "audit"  # type: ignore[attr-defined]
    assert not hasattr(record("MainThread"), "service")
