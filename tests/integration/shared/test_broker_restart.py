"""Publishing through a Redis that restarted or lost its bindings, on a private redis-server (append-only, as
``portal run`` has it) that the test kills with ``kill -9`` and starts again on the same port and files.

A connection that failed while Redis was away comes back with a new channel that knows none of the
exchanges; the first publish after that must still reach the queues bound to ``events``, not be routed as
if ``events`` were a direct exchange and dropped (the relay then marks the rows sent and the accesses are
lost: the Redis kill -9 fault lost a batch that way).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from shared.bus.celery_app import make_celery
from shared.bus.publisher import CeleryPublisher
from shared.bus.topology import queue_name
from tests.support.net import free_port, wait_for_port
from tests.support.redis_server import redis_binary

pytestmark = pytest.mark.integration

ACCESS = "gateway.request.completed"


class KillableRedis:
    def __init__(self, data: Path) -> None:
        self.port = free_port()
        self.data = data
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.data),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL)
        wait_for_port(self.port)
        client = redis.Redis(port=self.port)
        while True:  # answering, and done loading its append-only file
            try:
                client.ping()
                break
            except redis.BusyLoadingError:
                continue

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[KillableRedis]:
    srv = KillableRedis(tmp_path)
    srv.start()
    yield srv
    srv.stop()


def audit_queue_length(srv: KillableRedis) -> int:
    return int(redis.Redis(port=srv.port).llen(queue_name("audit")))


def access(n: int) -> list[tuple[str, str]]:
    return [(ACCESS, f'{{"type":"{ACCESS}","event_id":"e{n}"}}')]


def test_the_first_publish_after_a_redis_restart_reaches_the_queues(server: KillableRedis):
    publisher = CeleryPublisher(make_celery("restart-test", server.url))
    publisher.publish_raw(access(1))
    assert audit_queue_length(server) == 1
    server.kill()
    # What the relay does next: it looks at the broker's run id, which fails while Redis is away; the
    # connection is then set up anew on its next use.
    with pytest.raises(Exception):  # noqa: B017, PT011 - kombu's and redis-py's connection errors alike
        publisher.broker_epoch()
    server.start()
    publisher.broker_epoch()
    kept = audit_queue_length(server)  # 0 or 1: the first one may not have reached the file (the relay's window)
    publisher.publish_raw(access(2))  # within the second of the first publish's declarations
    assert audit_queue_length(server) == kept + 1


def test_a_publish_after_redis_lost_its_bindings_reaches_the_queues(server: KillableRedis):
    publisher = CeleryPublisher(make_celery("bindings-test", server.url))
    publisher.publish_raw(access(1))
    client = redis.Redis(port=server.port)
    client.delete(*client.keys("_kombu.binding*"))  # a Redis that came back without them
    publisher.publish_raw(access(2))
    assert audit_queue_length(server) == 2
