"""The live audit stream end to end, every process real (``portal run``): a reviewer's Server-Sent Events
through the gateway — events arrive as they are stored with increasing ids, the stream outlives the
gateway's read timeout, Last-Event-ID resumes, filters apply, the wrong people and bad filters get the
contract's errors, and the stream request is one access event in the store."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from tests.support.people import Person, assert_error, person
from tests.support.platform import Platform, running_platform
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
T = 30
READ_TIMEOUT = 8  # the gateway's upstream read timeout here (30 s by default); a stream must outlive it


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {"GATEWAY_READ_TIMEOUT": str(READ_TIMEOUT), "PORTAL_AUDIT_STREAM_HEARTBEAT_SECONDS": "1",
           "PORTAL_AUDIT_STREAMS_PER_PROCESS": "1"}
    with running_platform(tmp_path_factory.mktemp("portal-run"), env) as running:
        yield running


class EventStream:
    """An open SSE response read by a thread: frames land in a queue the test waits on."""

    def __init__(self, session: requests.Session, url: str, params: dict | None = None,
                 last_event_id: int | None = None) -> None:
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        # As a browser's page does: a process at its stream cap answers 429 until a closed stream's
        # heartbeat has found its client gone.
        deadline, tries = time.monotonic() + 60, []
        while True:
            self.resp = session.get(url, params=params, headers=headers, stream=True, timeout=T)
            tries.append((time.monotonic(), self.resp.status_code))
            if self.resp.status_code != 429 or time.monotonic() > deadline:
                break
            self.resp.close()
            time.sleep(float(self.resp.headers["Retry-After"]))
        assert self.resp.status_code == 200, (tries, self.resp.text)
        self.frames: queue.Queue[tuple[float, str]] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        buffer = ""
        try:
            for chunk in self.resp.iter_content(chunk_size=None):
                buffer += chunk.decode()
                while "\n\n" in buffer:
                    frame, buffer = buffer.split("\n\n", 1)
                    self.frames.put((time.time(), frame))
        except (requests.RequestException, OSError, ValueError, AttributeError) as exc:
            self.frames.put((time.time(), f"<end> {exc!r}"))  # closed by the test, or cut
            return
        self.frames.put((time.time(), "<end>"))

    def events(self, until, timeout: float = 60.0) -> list[tuple[float, int, dict]]:
        """(arrival time, id, event) of every event until ``until(events)`` holds."""
        out: list[tuple[float, int, dict]] = []
        deadline = time.monotonic() + timeout
        while not until(out):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"stream: condition not met; got {[(i, e['type']) for _, i, e in out]}")
            try:
                at, frame = self.frames.get(timeout=left)
            except queue.Empty:
                continue
            assert not frame.startswith("<end>"), f"the stream ended: {frame}"
            if frame.startswith("id: "):
                id_line, data = frame.split("\n", 1)
                out.append((at, int(id_line[4:]), json.loads(data[len("data: "):])))
        return out

    def close(self) -> None:
        self.resp.close()


def access_ids(who: Person, base: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        resp = who.http.get(f"{base}/api/identity/me", timeout=T)
        assert resp.status_code == 200, resp.text
        ids.append(resp.headers["X-Request-ID"])
    return ids


def accesses(events: list[tuple[float, int, dict]]) -> dict[str, tuple[float, int, dict]]:
    return {e["correlation_id"]: (at, i, e) for at, i, e in events if e["type"] == "gateway.request.completed"}


def test_live_stream_through_the_gateway(platform: Platform):
    base = platform.url
    rita, ada, bob = person(platform, "Rita", "compliance"), person(platform, "Ada"), person(platform, "Bob")
    url = f"{base}/api/audit/events/stream"
    stream = EventStream(rita.http, url, {"actor": ada.id})
    assert stream.resp.status_code == 200 and stream.resp.headers["Content-Type"].startswith("text/event-stream")
    stream_request = stream.resp.headers["X-Request-ID"]

    mine = access_ids(ada, base, 3)
    access_ids(bob, base, 2)  # filtered out
    got = stream.events(lambda out: set(mine) <= set(accesses(out)))
    assert all(e["actor"] == ada.id for _, _, e in got), "the actor filter applies"
    ids = [i for _, i, _ in got]
    assert ids == sorted(set(ids)) and ids == [e["seq"] for _, _, e in got]
    # Each arrives within about a second of being stored (the stream polls every 0.5 s).
    lags = [at - datetime.fromisoformat(e["stored_at"]).timestamp() for at, _, e in got]
    assert max(lags) < 3.0, lags

    # Quiet for longer than the gateway's read timeout: heartbeats keep the stream open.
    time.sleep(READ_TIMEOUT + 3)
    later = access_ids(ada, base, 1)
    more = stream.events(lambda out: set(later) <= set(accesses(out)))
    assert min(i for _, i, _ in more) > ids[-1]
    stream.close()

    # Resume after the second of Ada's accesses: only newer events come back.
    second = accesses(got)[mine[1]][1]
    resumed = EventStream(rita.http, url, {"actor": ada.id}, last_event_id=second)
    again = resumed.events(lambda out: set(mine[2:] + later) <= set(accesses(out)))
    assert all(i > second for _, i, _ in again) and mine[0] not in accesses(again)
    resumed.close()

    # Other roles and bad filters: the contract's JSON errors, not a stream.
    assert_error(ada.http.get(url, timeout=T), 403, "forbidden")
    assert_error(requests.get(url, timeout=T), 401)
    assert_error(rita.http.get(url, params={"since": "last tuesday"}, timeout=T), 422, "validation_error", "since")

    # The stream request itself: one access event and one audited read.
    def recorded() -> list[dict]:
        resp = rita.http.get(f"{base}/api/audit/events", params={"correlation_id": stream_request}, timeout=T)
        assert resp.status_code == 200, resp.text
        return resp.json()["items"]

    wait_until(lambda: any(e["type"] == "gateway.request.completed" for e in recorded()), timeout=60,
               interval=1.0, message="the stream's access event")
    kinds = sorted(e["type"] for e in recorded())
    assert kinds == ["audit.log.streamed", "gateway.request.completed"], kinds
    (access,) = [e for e in recorded() if e["type"] == "gateway.request.completed"]
    assert access["payload"]["path"] == "/api/audit/events/stream" and access["payload"]["status"] == 200
