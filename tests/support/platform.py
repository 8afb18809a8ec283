"""The whole platform as real processes, started by ``portal run`` (what ``make run`` does). Embedded
Redis unless PORTAL_TEST_REDIS_URL is set (and as the broker unless PORTAL_TEST_BROKER_URL names a RabbitMQ
server: then a virtual host of its own); SQLite unless PORTAL_TEST_PG_URL is set (then one fresh
PostgreSQL database per service)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from services.cli.run_plan import DEFAULT_PORTS, SCHEDULED, Layout, chosen_services
from tests.support.databases import drop_database_url, template_for
from tests.support.net import free_port
from tests.support.processes import VENV_BIN, Proc, base_env, wait_until
from tests.support.rabbitmq import private_vhost
from tests.support.redis_server import shared_redis_url

# PORTAL_SERVICES narrows the run to some services while others are being written (default: all).
LAYOUT = Layout.discover(only=chosen_services())
READY = re.compile(r"Portal ready at (http://\S+)|Services ready \(no gateway yet\)")
NOT_READY = re.compile(r"warning: not ready after .*")
# Two cores shared with the rest of the suite: fewer processes and threads than ``make run``'s defaults.
TEST_SIZING = {"PORTAL_WEB_WORKERS": "1", "PORTAL_WEB_THREADS": "2", "GATEWAY_WORKERS": "1", "GATEWAY_THREADS": "4"}


@dataclass
class Platform:
    proc: Proc
    var_dir: Path
    port: int
    ports: dict[str, int]
    external_redis: bool
    started_pids: dict[str, int] = field(default_factory=dict)
    metrics_ports: dict[str, int] = field(default_factory=dict)  # gateway (internal), relay, scheduler
    scheduler_process: bool = False  # PORTAL_SCHEDULER_PROCESS: the scheduler a child, not a supervisor thread
    shared_workers: bool = True  # PORTAL_SHARED_WORKERS: every service's worker in one process

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def service_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def pids(self) -> dict[str, int]:
        run = self.var_dir / "run"
        return {p.stem: int(p.read_text()) for p in run.glob("*.pid") if p.stem != "supervisor"}

    def worker_child(self, service: str) -> str:
        """The child of ``portal run`` whose process runs ``service``'s worker."""
        return "workers" if self.shared_workers else f"{service}-worker"

    def expected_children(self) -> set[str]:
        names = {f"{s}-web" for s in LAYOUT.web if s != "gateway"}
        if LAYOUT.workers:  # every service's worker in one process unless PORTAL_SHARED_WORKERS=0
            names |= {"workers"} if self.shared_workers else {f"{s}-worker" for s in LAYOUT.workers}
        if "gateway" in LAYOUT.web:
            names.add("gateway")
        if any(s in LAYOUT.workers for s in SCHEDULED) and self.scheduler_process:
            names.add("scheduler")  # else a thread of the supervisor
        if not self.external_redis:
            names.add("redis")
        return names


def _ready(proc: Proc) -> bool:
    output = proc.output()
    if not proc.alive():
        raise AssertionError(f"portal run exited early:\n{output[-4000:]}")
    failed = NOT_READY.search(output)
    if failed:
        raise AssertionError(f"portal run never became ready: {failed.group(0)}\n{output[-4000:]}")
    return bool(READY.search(output))


@contextmanager
def running_platform(tmp_path: Path, extra_env: dict[str, str] | None = None,
                     test_sizing: bool = True) -> Iterator[Platform]:
    """``portal run`` on free ports in ``tmp_path``; stopped (and its databases dropped) on exit.
    ``test_sizing=False`` keeps ``make run``'s own process and thread counts (benchmarks)."""
    var_dir = tmp_path / "var"
    port = free_port()
    ports = {s: free_port() for s in DEFAULT_PORTS}
    metrics_ports = {"gateway": free_port(), "relay": free_port(), "scheduler": free_port()}
    extra = {
        "PORTAL_VAR_DIR": str(var_dir),
        "PORT": str(port),
        **{f"{s.upper()}_PORT": str(p) for s, p in ports.items()},
        **{f"{s.upper()}_METRICS_PORT": str(p) for s, p in metrics_ports.items()},
        **(TEST_SIZING if test_sizing else {}),
        "PORTAL_STOP_GRACE": "8",
        "PORTAL_READY_TIMEOUT": "100",
        "NO_COLOR": "1",
        # The periodic duties (retention, purges) wait an hour, so that they never run in the middle of a
        # test that moves the clock; tests/e2e/test_schedule_e2e.py runs them at once.
        "PORTAL_SCHEDULE_START_DELAY": "3600",
        **(extra_env or {}),
    }
    for name in ("PORTAL_SERVICES", "PORTAL_SHARED_WORKERS"):  # a chosen layout (0: a worker process each)
        if os.environ.get(name):
            extra[name] = os.environ[name]
    external_redis = shared_redis_url()
    if external_redis:
        extra["REDIS_URL"] = external_redis
        # Each platform is a deployment of its own: it starts on an empty database, so that neither events
        # left in queues nor the gateway's rate-limit counters of the previous test module carry over.
        redis.Redis.from_url(external_redis).flushdb()
    databases = template_for(tmp_path, tuple(LAYOUT.migrations))
    extra.update(databases)
    with ExitStack() as cleanup:
        broker = os.environ.get("PORTAL_TEST_BROKER_URL")
        if broker:  # RabbitMQ: a virtual host of this platform's own
            extra["PORTAL_BROKER_URL"] = cleanup.enter_context(private_vhost(broker))
        proc = Proc("portal-run", [str(VENV_BIN / "portal"), "run"], base_env(extra), tmp_path).start()
        platform = Platform(proc, var_dir, port, ports, bool(external_redis), metrics_ports=metrics_ports,
                            scheduler_process=extra.get("PORTAL_SCHEDULER_PROCESS", "0") in ("1", "true", "yes"),
                            shared_workers=extra.get("PORTAL_SHARED_WORKERS", "1") in ("1", "true", "yes"))
        try:
            wait_until(lambda: _ready(proc), timeout=150, interval=0.2, message="portal run ready line")
            platform.started_pids = platform.pids()
            yield platform
        finally:
            proc.stop(timeout=60)
            for url in databases.values():
                drop_database_url(url)
