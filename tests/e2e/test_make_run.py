"""``portal run`` as a real process: it starts everything, serves through the gateway, restarts what
dies, and leaves nothing behind when stopped. Embedded Redis unless PORTAL_TEST_REDIS_URL is set; SQLite
unless PORTAL_TEST_PG_URL is set (then one fresh PostgreSQL database per service).

One platform for the module (starting it costs most of the time on two cores); the tests run in file
order and the last one stops it."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess

import pytest
import redis
import requests
from sqlalchemy import create_engine, text

from services.cli.keys import event_keys_for
from services.cli.redis_users import redis_user
from services.cli.secret_files import read_env_file
from shared.events.signing import MASTER_ENV, PRODUCERS, pair_env
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
    assert "PORTAL_EVENT_MASTER_KEY" not in secrets_file.read_text()
    if not platform.external_redis:
        assert (platform.var_dir / "redis").is_dir()  # the append-only file lives there
        # The embedded Redis answers only with the password of var/secrets.env (it is in portal.env's URL).
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
    worker = platform.worker_child(service)
    before = platform.pids()
    os.kill(before[worker], signal.SIGKILL)

    def restarted(name: str) -> int | None:
        pid = platform.pids().get(name)
        return pid if pid and pid != before[name] and not _group_gone(pid) else None

    wait_until(lambda: restarted(worker), timeout=30, message=f"{worker} restarted")
    assert f"{worker} exited unexpectedly (signal SIGKILL)" in platform.proc.output()
    consuming = re.compile(rf"{worker}\s+\| .*ready\.")
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


def _environ(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as fh:
        raw = fh.read().decode(errors="replace")
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def test_each_process_holds_only_its_own_keys_and_redis_user(platform: Platform):
    """Through the real processes' environments: no child holds the event master key, each holds only the
    pair keys it signs or verifies with, and its own Redis user's URL and no other Redis password."""
    envs = {name: _environ(pid) for name, pid in platform.pids().items() if name != "redis"}
    assert set(envs) >= platform.expected_children() - {"redis"}
    def user(url: str) -> str:
        return redis.Redis.from_url(url).connection_pool.connection_kwargs["username"]

    for name, env in envs.items():
        assert MASTER_ENV not in env, name
        assert "PORTAL_EVENT_MASTER_KEY" not in " ".join(env.values()), name
        held = {k for k in env if k.startswith("PORTAL_EVENT_KEY_")}
        assert not [k for k in env if k.startswith("PORTAL_REDIS_PASSWORD")], name
        if name == "workers":  # every service's worker: what they hold between them, each its own Redis user
            assert held == set().union(*(event_keys_for(f"{s}-worker") for s in LAYOUT.workers))
            if not platform.external_redis:
                assert "REDIS_URL" not in env
                assert {s: user(env[f"PORTAL_WORKER_REDIS_URL_{s.upper()}"]) for s in LAYOUT.workers} \
                    == {s: s for s in LAYOUT.workers}
            continue
        assert held == event_keys_for(name), name
        if not platform.external_redis:
            assert user(env["REDIS_URL"]) == redis_user(name), name
    if "content-web" in envs:
        assert not [k for k in envs["content-web"] if k.startswith("PORTAL_EVENT_KEY_IDENTITY_")]
    for audit_worker in ("audit-worker", "workers"):
        if audit_worker in envs:
            assert {pair_env(p, "audit") for p in PRODUCERS} <= set(envs[audit_worker])
    assert "PORTAL_EVENT_MASTER_KEY" not in (platform.var_dir / "portal.env").read_text()


@pytest.mark.skipif("content" not in LAYOUT.web or "audit" not in LAYOUT.workers, reason="needs content and audit")
def test_a_content_process_cannot_pass_an_event_off_as_identitys(platform: Platform):
    """With content-web's very environment (its keys, its Redis user), an envelope claiming producer identity
    cannot be signed, and one tagged with content's own key towards audit is dead-lettered by the real audit
    worker as a bad signature, never stored."""
    env = _environ(platform.pids()["content-web"])
    forge = (
        "import json, sys\n"
        "from shared.bus.celery_app import make_celery\n"
        "from shared.bus.publisher import CeleryPublisher\n"
        "from shared.config import ConfigError, broker_url\n"
        "from shared.events import new_event, signing\n"
        "event = new_event('identity.privacy.erasure_requested', producer='identity', actor='system:identity',\n"
        "                  subject='u-forged', payload={'request_id': 'r-forged', 'user_id': 'u-forged'}).to_dict()\n"
        "try:\n"
        "    signing.sign(dict(event))\n"
        "    sys.exit('content signed as identity')\n"
        "except ConfigError:\n"
        "    pass\n"
        "event['sig'] = signing.signatures(event, {'audit': signing.pair_key('content', 'audit')})\n"
        "CeleryPublisher(make_celery('forger', broker_url())).publish_raw([(event['type'], json.dumps(event))])\n"
        "print(event['event_id'])\n"
    )
    done = subprocess.run([str(VENV_BIN / "python"), "-c", forge], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    event_id = done.stdout.strip().splitlines()[-1]

    def dead_lettered() -> list[dict]:
        listing = subprocess.run([str(VENV_BIN / "portal"), "events", "dead-letters", "--service", "audit",
                                  "--json"], cwd=REPO, env=base_env({"PORTAL_VAR_DIR": str(platform.var_dir)}),
                                 capture_output=True, text=True, timeout=120, check=False)
        rows = [json.loads(line) for line in listing.stdout.splitlines() if line.startswith("{")]
        return [r for r in rows if r["event_id"] == event_id]

    rows = wait_until(dead_lettered, timeout=90, interval=2.0, message="the forged event in audit's dead letters")
    assert "bad signature" in rows[0]["error"] and "identity" in rows[0]["error"]
    engine = create_engine(read_env_file(platform.var_dir / "portal.env")["AUDIT_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM audit_events WHERE event_id = :e"), {"e": event_id})
            assert stored.scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.skipif(bool(os.environ.get("PORTAL_TEST_REDIS_URL")), reason="ACL users are the embedded Redis's")
def test_redis_refuses_strangers_wrong_users_and_administration(platform: Platform):
    """The embedded Redis: no default user, a right user with a wrong password is refused, and a service's
    user may use the queues but not FLUSHALL, CONFIG or DEBUG; the gateway's user cannot read the queues."""
    envs = {name: _environ(pid) for name, pid in platform.pids().items() if name != "redis"}
    content = redis.Redis.from_url(envs["content-web"]["REDIS_URL"])
    port = content.connection_pool.connection_kwargs["port"]
    for username, password in ((None, None), ("default", "x"), ("content", "wrong-password"),
                               ("admin", "wrong-password"), ("nobody", "x")):
        with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
            redis.Redis(host="127.0.0.1", port=port, username=username, password=password).ping()
    content.set("portal:acl-probe", "1")
    for command in (("FLUSHALL",), ("FLUSHDB",), ("CONFIG", "GET", "requirepass"), ("DEBUG", "SLEEP", "0"),
                    ("ACL", "LIST"), ("KEYS", "*")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            content.execute_command(*command)
    assert content.get("portal:acl-probe") == b"1"  # nothing was flushed
    content.delete("portal:acl-probe")
    assert content.llen("events.content") >= 0  # its own work: the queues
    if "gateway" in envs:
        gateway = redis.Redis.from_url(envs["gateway"]["REDIS_URL"])
        assert gateway.ping()
        with pytest.raises(redis.exceptions.NoPermissionError):
            gateway.llen("events.audit")


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
