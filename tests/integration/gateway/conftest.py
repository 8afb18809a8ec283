"""Real processes for the gateway's integration tests: the gateway under gunicorn in front of the
real linking service and stand-in services (tests/integration/gateway/upstream_app.py), a private Redis,
and the spool file on disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests

from tests.support.databases import drop_database_url, new_database_url
from tests.support.net import free_port
from tests.support.processes import VENV_BIN, Proc, base_env, wait_until

SECRET = "integration-gateway-secret-" + "5d8e2b7f" * 2
STAND_IN = "tests.integration.gateway.upstream_app:create()"


def gunicorn(name: str, app: str, port: int, env: dict[str, str], log_dir: Path, *flags: str) -> Proc:
    return Proc(name, [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--no-control-socket",
                       *flags, app], env, log_dir)


def healthy(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def wait_healthy(proc: Proc, url: str, timeout: float = 60) -> None:
    try:
        wait_until(lambda: healthy(url) or not proc.alive(), timeout=timeout, message=f"{proc.name} up")
    except TimeoutError:
        raise AssertionError(f"{proc.name} did not start:\n{proc.output()[-3000:]}") from None
    assert proc.alive(), f"{proc.name} died:\n{proc.output()[-3000:]}"


@dataclass
class Stack:
    url: str  # the gateway
    spool: Path
    redis_url: str
    env: dict[str, str]
    log_dir: Path
    procs: dict[str, Proc] = field(default_factory=dict)

    def start_gateway(self, name: str, **env: str) -> tuple[Proc, str]:
        """Another gateway process on the same services (its own settings and spool)."""
        port = free_port()
        proc = gunicorn(name, "services.gateway.wsgi:app", port, {**self.env, **env}, self.log_dir,
                        "-c", "python:services.gateway.gunicorn_conf").start()
        self.procs[name] = proc
        url = f"http://127.0.0.1:{port}"
        wait_healthy(proc, url)
        return proc, url


@pytest.fixture(scope="module")
def stack(tmp_path_factory, redis_url):
    tmp = tmp_path_factory.mktemp("gateway-stack")
    ports = {name: free_port() for name in ("identity", "content", "linking")}
    linking_db = new_database_url(tmp, "linking")
    env = base_env({
        "PORTAL_INTERNAL_SECRET": SECRET, "PORTAL_VAR_DIR": str(tmp), "REDIS_URL": redis_url,
        "LINKING_DATABASE_URL": linking_db, "FAKE_SESSIONS_REDIS": redis_url,
        **{f"{n.upper()}_URL": f"http://127.0.0.1:{p}" for n, p in ports.items()},
        "AUDIT_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there: audit is down
        "WEB_URL": f"http://127.0.0.1:{ports['content']}",  # the content stand-in answers the page paths too
        "GATEWAY_RATE_LIMIT_IP": "off", "GATEWAY_RATE_LIMIT_USER": "off",
        "GATEWAY_WORKERS": "2", "GATEWAY_THREADS": "8",
    })
    procs = {
        "identity": gunicorn("identity-stand-in", STAND_IN, ports["identity"], {**env, "UPSTREAM_NAME": "identity"},
                             tmp),
        "content": gunicorn("content-stand-in", STAND_IN, ports["content"], {**env, "UPSTREAM_NAME": "content"},
                            tmp, "--worker-class", "gthread", "--threads", "4"),
        "linking": gunicorn("linking", "services.linking.wsgi:app", ports["linking"], env, tmp,
                            "-c", "python:shared.web.gunicorn_conf", "--workers", "1"),
    }
    for proc in procs.values():
        proc.start()
    stack = Stack(url="", spool=tmp / "gateway-spool.db", redis_url=redis_url, env=env, log_dir=tmp,
                  procs=procs)
    try:
        for name, proc in procs.items():
            wait_healthy(proc, f"http://127.0.0.1:{ports[name]}")
        _proc, stack.url = stack.start_gateway("gateway")
        yield stack
    finally:
        for proc in stack.procs.values():
            proc.stop()
        drop_database_url(linking_db)


@pytest.fixture
def store(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
