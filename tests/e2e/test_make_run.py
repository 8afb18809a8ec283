"""``portal run`` as a real process: it starts everything, serves through the gateway, restarts what
dies, and leaves nothing behind when stopped. Embedded Redis unless PORTAL_TEST_REDIS_URL is set; SQLite
unless PORTAL_TEST_PG_URL is set (then one fresh PostgreSQL database per service).

One platform for the module (starting it costs most of the time on two cores); the tests run in file
order and the last one stops it."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess

import pytest
import requests

from services.cli.run_plan import read_env_file
from tests.support.platform import LAYOUT, Platform
from tests.support.processes import REPO, VENV_BIN, base_env, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_portal_run_starts_everything_and_serves_through_the_gateway(platform: Platform):
    pids = platform.pids()
    assert set(pids) >= platform.expected_children(), platform.proc.output()[-3000:]
    if "relay" not in pids:
        assert not LAYOUT.migrations, "a service with migrations has an outbox, so a relay must run"

    if "gateway" in LAYOUT.web:
        assert f"Portal ready at {platform.url}" in platform.proc.output()
        assert requests.get(f"{platform.url}/healthz", timeout=5).status_code == 200
        if LAYOUT.complete:
            assert requests.get(f"{platform.url}/readyz", timeout=5).status_code == 200
        routed = requests.get(f"{platform.url}/api/linking/healthz", timeout=5)
        assert routed.status_code == 200 and routed.json()["service"] == "linking"
        assert routed.headers.get("X-Request-ID")
    for service in (s for s in LAYOUT.web if s != "gateway"):
        # Straight to each service: only the health routes are open without the gateway's signature.
        base = platform.service_url(service)
        assert requests.get(f"{base}/healthz", timeout=5).json()["service"] == service
        assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
        if service != "web":  # the pages have no API document
            assert requests.get(f"{base}/openapi.json", timeout=5).status_code == 200

    secrets_file = platform.var_dir / "secrets.env"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert "PORTAL_INTERNAL_SECRET=" in secrets_file.read_text()
    if not platform.external_redis:
        assert (platform.var_dir / "redis").is_dir()  # the append-only file lives there
        # The embedded Redis answers only with the password of var/secrets.env (it is in portal.env's URL).
        import redis

        url = read_env_file(platform.var_dir / "portal.env")["REDIS_URL"]
        assert redis.Redis.from_url(url).ping()
        port = redis.Redis.from_url(url).connection_pool.connection_kwargs["port"]
        stranger = redis.Redis(host="127.0.0.1", port=port)
        with pytest.raises(redis.AuthenticationError):
            stranger.get("portal:sessions:epoch")
    # Everything under var/ is the user's alone: databases, spool, mails, Redis's files, keys.
    assert stat.S_IMODE(platform.var_dir.stat().st_mode) == 0o700
    shared = [f"{p} {stat.S_IMODE(p.lstat().st_mode):o}" for p in platform.var_dir.rglob("*")
              if stat.S_IMODE(p.lstat().st_mode) & 0o077 and not p.is_symlink()]
    assert shared == []


def test_portal_commands_find_the_running_platform(platform: Platform):
    """``portal events dead-letters`` (like ``grant-role``) needs the platform's secrets, broker and
    databases: it finds them through the var dir alone."""
    listing = subprocess.run([str(VENV_BIN / "portal"), "events", "dead-letters"], cwd=REPO, timeout=120,
                             env=base_env({"PORTAL_VAR_DIR": str(platform.var_dir)}), capture_output=True,
                             text=True, check=False)
    assert listing.returncode == 0 and "0 dead letter(s)" in listing.stderr, listing.stderr[-2000:]


@pytest.mark.skipif(not LAYOUT.workers, reason="no service has a Celery worker in this checkout")
def test_a_killed_worker_and_web_process_are_restarted(platform: Platform):
    service = "linking" if "linking" in LAYOUT.workers else LAYOUT.workers[0]
    worker = f"{service}-worker"
    before = platform.pids()
    os.kill(before[worker], signal.SIGKILL)

    def restarted(name: str) -> int | None:
        pid = platform.pids().get(name)
        return pid if pid and pid != before[name] and not _group_gone(pid) else None

    wait_until(lambda: restarted(worker), timeout=30, message=f"{worker} restarted")
    assert f"{worker} exited unexpectedly (signal SIGKILL)" in platform.proc.output()
    consuming = re.compile(rf"{worker}\s+\| .*{service}@\S+ ready\.")
    wait_until(lambda: consuming.search(platform.proc.output().split(f"restarted {worker}")[-1]),
               timeout=60, message="restarted worker consuming again")
    assert _group_gone(before[worker])  # the killed worker's pool processes were cleaned up

    if f"{service}-web" in before:
        web = f"{service}-web"
        os.kill(before[web], signal.SIGKILL)
        wait_until(lambda: restarted(web), timeout=30, message=f"{web} restarted")

        def serving() -> bool:
            # The restarted master listens at once; its worker may still be booting (a slow answer).
            try:
                return requests.get(f"{platform.service_url(service)}/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_until(serving, timeout=60, message=f"{web} serving again")


def test_ctrl_c_stops_every_process_redis_last(platform: Platform):
    pids = set(platform.started_pids.values()) | set(platform.pids().values())  # first and restarted ones
    os.kill(platform.proc.pid, signal.SIGINT)
    assert platform.proc.popen is not None
    assert platform.proc.popen.wait(timeout=60) == 0
    # Every child's whole process group (gunicorn workers, celery pool processes) is gone.
    wait_until(lambda: all(_group_gone(pid) for pid in pids), timeout=10, message="children gone")
    assert not platform.pids()
    output = platform.proc.output()
    assert "all processes stopped" in output
    if not platform.external_redis:
        stopped = [line for line in output.splitlines() if "| stopped " in line]
        assert stopped[-1].endswith("stopped redis (exit code 0)"), stopped  # Redis stops last
