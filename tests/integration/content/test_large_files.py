"""A 50 MB file up and down through a real gunicorn process: the hash matches, ranges work, and the
worker's memory does not grow with the file (peak RSS measured while the bytes flow)."""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
import pytest
import requests

from shared.identity import Identity
from tests.support.net import free_port, wait_for_port
from tests.support.processes import VENV_BIN, Proc, base_env, wait_until
from tests.support.signing import signed_send

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MB = 1024 * 1024
SIZE = 50 * MB
BLOCK = MB
SEED = 20300101
BOUNDARY = "portal-test-boundary-7d3a"
EDITOR = Identity(user_id="u-editor", roles=frozenset({"editor"}))
READER = Identity(user_id="u-reader")
# Growth allowed over the warmed-up baseline: one chunk buffers, SQLAlchemy, the response; not the file.
MAX_GROWTH = 20 * MB


def blocks(size: int = SIZE, seed: int = SEED) -> Iterator[bytes]:
    """The same pseudo-random bytes every time, generated on the fly (never held whole)."""
    rng = random.Random(seed)
    left = size
    while left > 0:
        block = rng.randbytes(min(BLOCK, left))
        left -= len(block)
        yield block


class MultipartStream:
    """A multipart body read in small pieces, with a known length (so it is sent with Content-Length)."""

    def __init__(self, size: int, filename: str = "big.zip", content_type: str = "application/zip") -> None:
        self.head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
                     f"Content-Type: {content_type}\r\n\r\n").encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.size = size
        self.sha256 = hashlib.sha256()
        self._parts = self._generate()
        self._buffer = b""

    def _generate(self) -> Iterator[bytes]:
        yield self.head
        for block in blocks(self.size):
            self.sha256.update(block)
            yield block
        yield self.tail

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buffer) < n:
            nxt = next(self._parts, None)
            if nxt is None:
                break
            self._buffer += nxt
        if n < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out


class PeakRss:
    """Samples a process's resident set size in a thread; ``peak`` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()

    def now(self) -> int:
        return self.process.memory_info().rss

    @contextmanager
    def measuring(self):
        self.peak = self.now()
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self._stop.clear()
            self.peak = max(self.peak, self.now())

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            self._stop.wait(0.005)


class Service:
    def __init__(self, base: str, secret: bytes) -> None:
        self.base = base
        self.secret = secret
        self.http = requests.Session()

    def request(self, method: str, path: str, who: Identity, **kwargs):
        return signed_send(self.http, self.secret, "content", who, method, self.base + path, timeout=120, **kwargs)

    def upload(self, item_id: str, body: MultipartStream):
        return self.request("POST", f"/items/{item_id}/collaterals", EDITOR, data=body,
                            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})


@pytest.fixture
def service(tmp_path, database_url, redis_url, internal_secret):
    env = base_env({
        "CONTENT_DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PORTAL_INTERNAL_SECRET": internal_secret,
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "CONTENT_MAX_UPLOAD_BYTES": str(64 * MB),
    })
    port = free_port()
    web = Proc("content-web", [str(VENV_BIN / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}",
                               "--timeout", "120", "services.content.wsgi:app"], env, tmp_path).start()
    try:
        wait_for_port(port, timeout=60)
        worker = wait_until(lambda: psutil.Process(web.pid).children(), timeout=30, message="gunicorn worker")[0]
        svc = Service(f"http://127.0.0.1:{port}", internal_secret.encode())
        def ready() -> bool:
            try:  # the first answer of a worker on a loaded machine may take longer than a poll
                return svc.http.get(svc.base + "/readyz", timeout=30).status_code == 200
            except requests.RequestException:
                return False

        wait_until(ready, timeout=120, message="content ready")
        yield svc, PeakRss(worker.pid), tmp_path / "var" / "collaterals"
    finally:
        web.stop()
        assert "Traceback" not in web.output(), web.output()[-3000:]


def test_a_50mb_file_round_trips_with_its_hash_and_bounded_memory(service):
    svc, rss, storage_dir = service
    item = svc.request("POST", "/items", EDITOR, json={"title": "Big", "visibility": "users"})
    assert item.status_code == 201
    item_id = item.json()["id"]

    # Warm up the worker (imports, pools, first-request allocations) before taking the baseline.
    small = svc.upload(item_id, MultipartStream(MB))
    assert small.status_code == 201
    assert svc.request("GET", f"/collaterals/{small.json()['id']}/download", READER).status_code == 200
    baseline = rss.now()

    body = MultipartStream(SIZE)
    with rss.measuring():
        resp = svc.upload(item_id, body)
    upload_growth = rss.peak - baseline
    assert resp.status_code == 201, resp.text
    stored = resp.json()
    assert stored["size"] == SIZE and stored["sha256"] == body.sha256.hexdigest()
    on_disk = [p for p in storage_dir.rglob(stored["id"]) if p.is_file()]
    assert len(on_disk) == 1 and on_disk[0].stat().st_size == SIZE
    assert upload_growth < MAX_GROWTH, f"upload grew the worker by {upload_growth / MB:.1f} MB"

    received = hashlib.sha256()
    total = 0
    path = f"/collaterals/{stored['id']}/download"
    with rss.measuring(), svc.request("GET", path, READER, stream=True) as down:
        assert down.status_code == 200
        assert down.headers["Content-Length"] == str(SIZE)
        assert down.headers["ETag"] == f'"{stored["sha256"]}"'
        assert down.headers["Content-Disposition"].startswith('attachment; filename="big.zip"')
        for chunk in down.iter_content(256 * 1024):
            received.update(chunk)
            total += len(chunk)
    download_growth = rss.peak - baseline
    assert total == SIZE and received.hexdigest() == stored["sha256"]
    assert download_growth < MAX_GROWTH, f"download grew the worker by {download_growth / MB:.1f} MB"

    # A range deep inside the file comes back exactly.
    start, length = 30 * MB + 12345, 70_000
    expected = b"".join(blocks())[start:start + length]
    part = svc.request("GET", f"/collaterals/{stored['id']}/download", READER,
                       headers={"Range": f"bytes={start}-{start + length - 1}"})
    assert part.status_code == 206 and part.content == expected
    assert part.headers["Content-Range"] == f"bytes {start}-{start + length - 1}/{SIZE}"
    past = svc.request("GET", f"/collaterals/{stored['id']}/download", READER, headers={"Range": f"bytes={SIZE}-"})
    assert past.status_code == 416 and past.json()["error"]["code"] == "range_not_satisfiable"


def test_a_chunked_upload_over_the_limit_is_refused_and_leaves_nothing(service):
    svc, _rss, storage_dir = service
    item_id = svc.request("POST", "/items", EDITOR, json={"title": "Big", "visibility": "users"}).json()["id"]
    body = MultipartStream(64 * MB + 1)

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit must hold on the bytes themselves
        while data := body.read(256 * 1024):
            yield data

    try:
        resp = svc.request("POST", f"/items/{item_id}/collaterals", EDITOR, data=chunked(),
                           headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    except requests.ConnectionError:
        resp = None  # the server may close while the client is still sending; the answer is then lost
    if resp is not None:
        assert resp.status_code == 413 and resp.json()["error"]["code"] == "payload_too_large"
    leftovers = [p for p in storage_dir.rglob("*") if p.is_file()] if storage_dir.exists() else []
    assert leftovers == []
