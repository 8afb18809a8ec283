"""Rate limits and body limits on a gateway of their own; the spool surviving kill -9; the relay."""

from __future__ import annotations

import base64
import json
import subprocess

import pytest
import redis
import requests

from tests.integration.gateway.test_proxy import spooled
from tests.support.processes import VENV_BIN, Proc, wait_until

pytestmark = pytest.mark.integration


def test_rate_limit_is_429_with_retry_after_and_the_body_limit_413(stack):
    _proc, url = stack.start_gateway("gateway-limited", GATEWAY_RATE_LIMIT_IP="5/min",
                                     GATEWAY_MAX_BODY_BYTES="1000",
                                     GATEWAY_SPOOL_URL=f"sqlite:///{stack.log_dir / 'limited.db'}")
    http = requests.Session()
    too_big = http.post(url + "/api/content/upload", data=b"x" * 1001,
                        headers={"Content-Type": "application/octet-stream"}, timeout=10)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"
    statuses = [http.get(url + "/api/content/echo", timeout=10).status_code for _ in range(6)]
    assert statuses == [200] * 4 + [429] * 2  # the 413 counted too
    limited = http.get(url + "/api/linking/healthz", timeout=10)
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 120
    assert limited.headers["X-Request-ID"]
    assert http.get(url + "/healthz", timeout=10).status_code == 200


def _published_correlation_ids(redis_url: str) -> set[str]:
    """Request ids of the events waiting in audit's queue (kombu's Redis list of task messages)."""
    client = redis.Redis.from_url(redis_url)
    ids = set()
    try:
        for raw in client.lrange("events.audit", 0, -1):
            message = json.loads(raw)
            body = message["body"]
            if message.get("properties", {}).get("body_encoding") == "base64":
                body = base64.b64decode(body)
            args = json.loads(body)[0]
            ids |= {event["correlation_id"] for event in args[0]}
    finally:
        client.close()
    return ids


def test_spooled_events_survive_kill_9_and_the_relay_publishes_them(stack):
    spool = stack.log_dir / "doomed.db"
    spool_url = f"sqlite:///{spool}"
    proc, url = stack.start_gateway("gateway-doomed", GATEWAY_SPOOL_URL=spool_url)
    http = requests.Session()
    ids = {http.get(url + "/api/content/echo", timeout=10).headers["X-Request-ID"] for _ in range(40)}
    # each event is committed before its response goes out: kill at once
    proc.kill9()
    assert set(spooled(spool, ids)) == ids

    relay = Proc("relay-gateway", [str(VENV_BIN / "portal"), "relay", "gateway"],
                 {**stack.env, "GATEWAY_SPOOL_URL": spool_url}, stack.log_dir).start()
    stack.procs["relay-gateway"] = relay
    try:
        wait_until(lambda: ids <= _published_correlation_ids(stack.redis_url), timeout=30,
                   message="access events published to the audit queue")
    except TimeoutError:
        raise AssertionError(relay.output()[-3000:]) from None
    finally:
        relay.stop()


def test_a_full_spool_disk_refuses_with_503_rather_than_serve_unrecorded(stack, tmp_path):
    """The spool on a 1 MiB tmpfs, filled up: requests are refused with 503 (never served without their
    access event); once space is freed, they are served and recorded again."""
    disk = tmp_path / "tiny"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True,
                             text=True, check=False)
    assert mounted.returncode == 0, f"this test needs to mount a tmpfs (root): {mounted.stderr}"
    try:
        spool = disk / "spool.db"
        proc, url = stack.start_gateway("gateway-full-disk", GATEWAY_SPOOL_URL=f"sqlite:///{spool}")
        http = requests.Session()
        served = http.get(url + "/api/content/echo", timeout=10)
        assert served.status_code == 200
        filler = disk / "filler"
        with open(filler, "wb", buffering=0) as fh:  # fill the disk to the last byte
            for block in (4096, 1):
                try:
                    while True:
                        fh.write(b"\0" * block)
                except OSError:
                    pass
        statuses = []
        for _ in range(200):  # the WAL has room for some rows: keep going until it has none
            resp = http.get(url + "/api/content/echo", timeout=10)
            statuses.append(resp.status_code)
            if resp.status_code == 503:
                assert resp.json()["error"]["code"] == "service_unavailable"
                assert resp.headers["Retry-After"] and resp.headers["X-Request-ID"]
                assert "echo" not in resp.text  # nothing of the service's answer
                break
        assert statuses[-1] == 503, statuses
        filler.unlink()
        again = http.get(url + "/api/content/echo", timeout=10)
        assert again.status_code == 200
        assert again.headers["X-Request-ID"] in spooled(spool, {again.headers["X-Request-ID"]})
        proc.stop()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
