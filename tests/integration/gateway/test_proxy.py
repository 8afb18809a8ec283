"""The gateway under gunicorn in front of real service processes."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid

import psutil
import pytest
import requests
from sqlalchemy import create_engine, select

from services.gateway.adapters import tables
from shared.identity import Identity
from shared.web.identity import sign_headers
from tests.integration.gateway.conftest import SECRET
from tests.integration.gateway.upstream_app import drop_session, pattern_bytes, put_session
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration
MiB = 1 << 20
CSRF = "integration-csrf"


class LazyBody:
    """A request body of known length produced while it is sent (Content-Length, never in memory)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.chunks = pattern_bytes(size)
        self.buffer = b""

    def __len__(self) -> int:
        return self.size

    def read(self, amount: int = -1) -> bytes:
        while (amount < 0 or len(self.buffer) < amount) and (chunk := next(self.chunks, None)) is not None:
            self.buffer += chunk
        out, self.buffer = (self.buffer, b"") if amount < 0 else (self.buffer[:amount], self.buffer[amount:])
        return out


def digest_of(size: int) -> str:
    h = hashlib.sha256()
    for chunk in pattern_bytes(size):
        h.update(chunk)
    return h.hexdigest()


class PeakRss:
    """The largest resident size any gateway worker reaches while the block runs."""

    def __init__(self, master_pid: int) -> None:
        self.master = psutil.Process(master_pid)
        self.peak = 0
        self._stop = threading.Event()

    def _rss(self) -> int:
        try:
            return max((c.memory_info().rss for c in self.master.children()), default=0)
        except psutil.Error:
            return 0

    def __enter__(self) -> PeakRss:
        self.baseline = self._rss()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def test_large_bodies_stream_both_ways_without_buffering(stack):
    size = 64 * MiB
    with PeakRss(stack.procs["gateway"].pid) as rss:
        up = requests.post(stack.url + "/api/content/upload", data=LazyBody(size),
                           headers={"Content-Type": "application/octet-stream"}, timeout=120)
        assert up.status_code == 201, up.text
        assert up.json() == {"size": size, "sha256": digest_of(size)}
        down = requests.get(stack.url + f"/api/content/download?size={size}", stream=True, timeout=120)
        assert down.status_code == 200 and down.headers["Content-Length"] == str(size)
        assert down.headers["Content-Disposition"] == 'attachment; filename="blob.bin"'
        h, got = hashlib.sha256(), 0
        for chunk in down.iter_content(256 * 1024):
            h.update(chunk)
            got += len(chunk)
        assert got == size and h.hexdigest() == digest_of(size)
    assert rss.growth < 24 * MiB, f"a gateway worker grew by {rss.growth / MiB:.1f} MiB"


def test_chunked_upload_and_download_of_unknown_length(stack):
    size = 3 * MiB + 17
    up = requests.post(stack.url + "/api/content/upload", data=pattern_bytes(size),  # generator: chunked
                       headers={"Content-Type": "application/octet-stream"}, timeout=60)
    assert up.json() == {"size": size, "sha256": digest_of(size)}
    down = requests.get(stack.url + f"/api/content/download?size={size}&chunked=1", timeout=60)
    assert "Content-Length" not in down.headers or down.headers["Content-Length"] == str(size)
    assert hashlib.sha256(down.content).hexdigest() == digest_of(size)


def test_error_shapes(stack):
    cases = [("GET", "/api/nope/x", 404, "not_found"), ("GET", "/api/identity/internal/sessions/resolve", 404,
                                                         "not_found"),
             ("POST", "/api/linking/healthz", 405, "method_not_allowed"),
             ("GET", "/api/audit/events", 503, "service_unavailable")]
    for method, path, status, code in cases:
        resp = requests.request(method, stack.url + path, timeout=10)
        assert resp.status_code == status, (path, resp.text)
        assert resp.json()["error"]["code"] == code
        assert resp.headers["Content-Type"] == "application/json"
        assert resp.headers["X-Request-ID"]
        if status == 503:  # a service that cannot be reached: try again shortly
            assert resp.headers["Retry-After"] == "1"
    wrong_type = requests.post(stack.url + "/api/content/json", data="x", headers={"Content-Type": "text/plain"},
                               timeout=10)
    assert wrong_type.status_code == 415
    assert wrong_type.json()["error"]["code"] == "unsupported_media_type"
    too_big = requests.post(stack.url + "/api/content/json", data=b"[" + b"1," * MiB + b"1]",
                            headers={"Content-Type": "application/json"}, timeout=30)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"


def test_a_service_429_with_retry_after_is_passed_on_not_retried(stack):
    for method in ("GET", "POST"):
        resp = requests.request(method, stack.url + "/api/content/busy", json={} if method == "POST" else None,
                                timeout=10)
        assert resp.status_code == 429 and resp.headers["Retry-After"] == "3", resp.text
        assert resp.json()["error"]["code"] == "too_many_streams"


def test_readiness_names_the_service_that_is_down(stack):
    resp = requests.get(stack.url + "/readyz", timeout=10)
    assert resp.status_code == 503
    assert list(resp.json()["error"]["fields"]) == ["audit"]
    doc = requests.get(stack.url + "/openapi.json", timeout=10).json()
    assert doc["x-unavailable-services"] == ["audit"]
    assert "/api/linking/healthz" not in doc["paths"] and "/healthz" in doc["paths"]


def test_every_response_has_its_own_request_id(stack):
    http = requests.Session()
    ids = [http.get(stack.url + "/api/content/echo", headers={"X-Request-ID": "client-made"}, timeout=10)
           .headers["X-Request-ID"] for _ in range(20)]
    assert len(set(ids)) == 20 and "client-made" not in ids
    signed = sign_headers(SECRET.encode(), Identity(user_id="system:test", request_id="trace-7"), "GET",
                          "/api/content/echo", service="gateway")
    resp = http.get(stack.url + "/api/content/echo", headers=signed, timeout=10)
    assert resp.headers["X-Request-ID"] == "trace-7"
    assert resp.json()["identity"]["request_id"] == "trace-7"  # the service sees the same id


def test_sessions_and_immediate_revocation_across_workers(stack, store):
    token = f"tok-{uuid.uuid4()}"
    user = f"user-{uuid.uuid4()}"
    put_session(store, token, {"session_id": "s-1", "user_id": user, "roles": ["support"],
                               "csrf_hash": hashlib.sha256(CSRF.encode()).hexdigest(), "auth_time": 1,
                               "policy_acceptance_required": False})
    cookies = {"portal_session": token}

    def who() -> str | None:
        # a fresh connection each time, so both gateway workers take turns
        return requests.get(stack.url + "/api/content/echo", cookies=cookies, timeout=10).json()["identity"][
            "user_id"]

    assert all(who() == user for _ in range(12))
    no_csrf = requests.post(stack.url + "/api/content/echo", cookies=cookies, json={}, timeout=10)
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "csrf_failed"
    drop_session(store, token)
    assert all(who() is None for _ in range(12))


def spooled(spool_path, request_ids) -> dict[str, dict]:
    engine = create_engine(f"sqlite:///{spool_path}")
    try:
        with engine.connect() as conn:
            bodies = [json.loads(b) for (b,) in conn.execute(select(tables.outbox.c.body))]
    finally:
        engine.dispose()
    return {b["correlation_id"]: b for b in bodies if b["correlation_id"] in request_ids}


def test_access_events_land_in_the_spool_under_their_request_id(stack):
    started = time.monotonic()
    responses = [requests.get(stack.url + path, headers={"User-Agent": "itest"}, timeout=10)
                 for path in ("/api/content/echo?x=1", "/api/linking/healthz", "/api/nope", "/api/audit/events")]
    ids = {r.headers["X-Request-ID"]: r.status_code for r in responses}
    events = wait_until(lambda: (found := spooled(stack.spool, ids)) and len(found) == len(ids) and found,
                        timeout=10, message="access events spooled")
    for rid, status in ids.items():
        event = events[rid]
        assert event["type"] == "gateway.request.completed" and event["payload"]["status"] == status
        assert event["payload"]["user_agent"] == "itest" and event["payload"]["client_ip"] == "127.0.0.1"
        assert event["actor"] == "anonymous"
        assert 0 < event["payload"]["duration_ms"] < (time.monotonic() - started) * 1000
