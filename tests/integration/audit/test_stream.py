"""The live stream (and one event by seq) against a real store (SQLite, or PostgreSQL with
PORTAL_TEST_PG_URL), through the Flask test client: frames, resume, filters, sealed fields opened, audited
reads, the per-process cap."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from services.audit.adapters import tables
from services.audit.handlers.stream import StreamTiming, open_stream
from shared.identity import Identity
from tests.integration.audit.conftest import REVIEWER, SUPPORT, events_at, make_event, store
from tests.integration.audit.test_api import outbox_types

pytestmark = pytest.mark.integration


@pytest.fixture
def audit_env(audit_env, monkeypatch):
    fast = {"PORTAL_AUDIT_STREAM_POLL_SECONDS": "0.05", "PORTAL_AUDIT_STREAM_HEARTBEAT_SECONDS": "0.5",
            "PORTAL_AUDIT_STREAM_MAX_SECONDS": "20", "PORTAL_AUDIT_STREAMS_PER_PROCESS": "1"}
    for key, value in fast.items():
        monkeypatch.setenv(key, value)
    return {**audit_env, **fast}


class Frames:
    """Reads a streamed response frame by frame (the test client drives the generator as it reads)."""

    def __init__(self, resp) -> None:
        self.resp = resp
        self.chunks = iter(resp.response)
        self.buffer = ""

    def next_frame(self) -> str:
        while "\n\n" not in self.buffer:
            self.buffer += _text(next(self.chunks))
        frame, self.buffer = self.buffer.split("\n\n", 1)
        return frame

    def events(self, n: int, timeout: float = 10.0) -> list[tuple[int, dict]]:
        out, deadline = [], time.monotonic() + timeout
        while len(out) < n and time.monotonic() < deadline:
            frame = self.next_frame()
            if frame.startswith("id: "):
                id_line, data_line = frame.split("\n")
                out.append((int(id_line[4:]), json.loads(data_line[6:])))
        return out

    def close(self) -> None:
        self.resp.close()


def _text(chunk) -> str:
    return chunk.decode() if isinstance(chunk, bytes) else chunk


def open_frames(client, headers: dict | None = None, **query) -> Frames:
    qs = urlencode(query)
    resp = client.http.open("/events/stream", query_string=qs, buffered=False,
                            headers={**_signed(client, query=qs), **(headers or {})})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    assert resp.headers["Cache-Control"] == "no-store" and resp.headers["X-Accel-Buffering"] == "no"
    return Frames(resp)


def _signed(client, as_: Identity = REVIEWER, query: str = "") -> dict:
    from shared.web.identity import sign_headers

    return sign_headers(client.secret, as_, "GET", "/events/stream", service="audit", query=query)


def test_new_events_arrive_in_order_and_resume_after_last_event_id(client, container):
    store(container, events_at(3, actor="old"))  # before the stream: not sent without a resume point
    stream = open_frames(client)
    assert stream.next_frame() == "retry: 2000"
    store(container, events_at(4, actor="ann"))
    got = stream.events(4)
    assert [e["actor"] for _, e in got] == ["ann"] * 4
    ids = [i for i, _ in got]
    assert ids == sorted(ids) and ids == [e["seq"] for _, e in got] and ids[0] == 4
    assert set(got[0][1]) == {"seq", "event_id", "type", "version", "occurred_at", "stored_at", "producer",
                              "actor", "subject", "correlation_id", "payload", "prev_hash", "hash"}
    stream.close()

    store(container, events_at(2, actor="bea"))
    resumed = open_frames(client, headers={"Last-Event-ID": str(ids[1])})
    again = resumed.events(4)
    assert [i for i, _ in again] == [ids[2], ids[3], ids[3] + 1, ids[3] + 2]
    resumed.close()
    # The query parameter is the first resume point; the header (sent on reconnects) wins over it.
    both = open_frames(client, headers={"Last-Event-ID": str(ids[3])}, last_event_id=0)
    assert [e["actor"] for _, e in both.events(2)] == ["bea", "bea"]
    both.close()
    query_only = open_frames(client, last_event_id=ids[3] + 1)
    assert [i for i, _ in query_only.events(1)] == [ids[3] + 2]
    query_only.close()


def test_filters_apply_and_sealed_fields_are_opened(client, container):
    stream = open_frames(client, type="identity.user.registered", last_event_id=0)
    store(container, events_at(3, actor="noise") + [make_event(
        "identity.user.registered", actor="carol", subject="carol",
        payload={"user_id": "carol", "name": "Carol", "email": "carol@example.com"})])
    ((_, event),) = stream.events(1)
    assert event["actor"] == "carol" and event["payload"]["email"] == "carol@example.com"
    stream.close()
    with container.runtime.engine.connect() as conn:  # stored sealed, shown opened
        stored = conn.execute(tables.audit_events.select().where(tables.audit_events.c.seq == event["seq"])).one()
    assert "carol@example.com" not in stored.payload and stored.actor != "carol"

    by_actor = open_frames(client, actor="carol", last_event_id=0)
    assert [e["type"] for _, e in by_actor.events(1)] == ["identity.user.registered"]
    by_actor.close()


def test_heartbeats_while_idle_and_the_stream_ends_by_itself(container):
    store(container, events_at(1))
    now = [0.0]
    frames = open_stream(container.acting_as(REVIEWER), _no_filter(), None,
                         StreamTiming(poll=1.0, heartbeat=3.0, lifetime=10.0),
                         clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert list(frames) == ["retry: 2000\n\n", ": keep-alive\n\n", ": keep-alive\n\n", ": keep-alive\n\n"]


def _no_filter():
    from services.audit.domain.search import EventFilter

    return EventFilter()


def test_opening_a_stream_is_audited(client, container):
    store(container, events_at(2))
    stream = open_frames(client, actor="user-7", last_event_id=1)
    streamed = outbox_types(container)[-1]
    assert streamed["type"] == "audit.log.streamed" and streamed["actor"] == REVIEWER.user_id
    assert streamed["payload"] == {"filters": {"actor": "user-7"}, "after": 1}
    assert streamed["correlation_id"] == "req-review"
    stream.close()


def test_one_stream_per_process_here_then_429_until_it_closes(client, container):
    first = open_frames(client)
    resp = client.http.open("/events/stream", headers=_signed(client))
    assert resp.status_code == 429 and resp.get_json()["error"]["code"] == "too_many_streams"
    assert resp.headers["Retry-After"] == "3"
    first.close()
    open_frames(client).close()  # the slot came back when the client went away


@pytest.mark.parametrize("query, headers, field", [
    ({"since": "yesterday"}, {}, "since"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, {}, "until"),
    ({"actor": "x" * 201}, {}, "actor"),
    ({"last_event_id": -1}, {}, "last_event_id"),
    ({}, {"Last-Event-ID": "abc"}, "Last-Event-ID"),
])
def test_bad_input_is_422_json(client, query, headers, field):
    qs = urlencode(query)
    resp = client.http.open("/events/stream", query_string=qs, headers={**_signed(client, query=qs), **headers})
    assert resp.status_code == 422 and resp.headers["Content-Type"] == "application/json"
    assert field in resp.get_json()["error"]["fields"]


def test_compliance_only(client):
    assert client.http.open("/events/stream", headers=_signed(client, SUPPORT)).status_code == 403
    assert client.http.open("/events/stream", headers=_signed(client, Identity())).status_code == 401
    assert client.http.get("/events/stream").status_code == 401


def test_in_the_openapi_document(client):
    doc = client.http.get("/openapi.json").get_json()
    op = doc["paths"]["/events/stream"]["get"]
    assert "text/event-stream" in op["responses"]["200"]["content"]
    assert {p["name"] for p in op["parameters"]} >= {"actor", "type", "since", "last_event_id", "Last-Event-ID"}


def test_one_event_by_seq_is_a_recorded_read(client, container):
    store(container, [make_event("identity.user.registered", actor="dora", subject="dora",
                                 payload={"user_id": "dora", "name": "Dora", "email": "dora@example.com"})])
    seq = client.get("/events", actor="dora").get_json()["items"][0]["seq"]
    event = client.get(f"/events/{seq}").get_json()
    assert event["seq"] == seq and event["payload"]["email"] == "dora@example.com"
    assert outbox_types(container)[-1]["payload"] == {"filters": {"seq": seq}, "order": "asc", "results": 1}
    missing = client.get("/events/999999")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/events/{seq}", as_=SUPPORT).status_code == 403
