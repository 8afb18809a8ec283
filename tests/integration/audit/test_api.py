"""audit's HTTP routes through the Flask test client: roles, filters, paging, export, errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from services.audit.adapters import tables
from shared.identity import Identity
from tests.integration.audit.conftest import REVIEWER, SUPPORT, events_at, make_event, store

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def outbox_types(container) -> list[dict]:
    with container.runtime.engine.connect() as conn:
        return [json.loads(b) for b in conn.execute(select(tables.outbox.c.body).order_by(tables.outbox.c.id))
                .scalars()]


@pytest.mark.parametrize("path", ["/events", "/events/export", "/integrity", "/disclosures"])
def test_compliance_only(client, path):
    assert client.get(path, as_=Identity()).status_code == 401
    resp = client.get(path, as_=SUPPORT)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    assert client.call("GET", path).status_code == 401
    assert client.http.get(path).status_code == 401  # unsigned: not from the gateway


def test_search_filters(client, container):
    store(container, events_at(5, actor="alice") + events_at(3, actor="bob", subject="/api/content/items/1")
          + [make_event("identity.user.registered", actor="carol", subject="carol", correlation_id="req-x",
                        payload={"user_id": "carol", "name": "C", "email": "c@example.com"}, occurred_at=T0)])
    body = client.get("/events", actor="alice").get_json()
    assert [i["actor"] for i in body["items"]] == ["alice"] * 5 and body["next_cursor"] is None
    item = body["items"][0]
    assert set(item) == {"seq", "event_id", "type", "version", "occurred_at", "stored_at", "producer", "actor",
                         "subject", "correlation_id", "payload", "prev_hash", "hash"}
    assert item["payload"]["method"] == "GET"
    assert len(client.get("/events", subject="/api/content/items/1").get_json()["items"]) == 3
    assert len(client.get("/events", type="identity.user.registered").get_json()["items"]) == 1
    assert client.get("/events", correlation_id="req-x").get_json()["items"][0]["actor"] == "carol"
    since = (T0 + timedelta(minutes=1)).isoformat()
    until = (T0 + timedelta(minutes=3)).isoformat()
    window = client.get("/events", actor="alice", since=since, until=until).get_json()["items"]
    assert [i["occurred_at"][:16] for i in window] == ["2026-01-01T00:01", "2026-01-01T00:02"]
    assert client.get("/events", since="2026-01-01", actor="bob").status_code == 200  # a date, UTC
    desc = client.get("/events", actor="alice", order="desc").get_json()["items"]
    assert [i["seq"] for i in desc] == sorted((i["seq"] for i in desc), reverse=True)


def test_keyset_paging_is_stable_while_events_arrive(client, container):
    store(container, events_at(7, actor="dave"))
    seen, cursor = [], None
    while True:
        query = {"actor": "dave", "limit": 3} | ({"cursor": cursor} if cursor else {})
        body = client.get("/events", **query).get_json()
        seen += [i["seq"] for i in body["items"]]
        if len(seen) == 3:
            store(container, events_at(2, actor="dave", start=T0 + timedelta(days=1)))  # arrives mid-way
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 9


@pytest.mark.parametrize("query, field", [
    ({"cursor": "garbage"}, "cursor"),
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-13-01"}, "until"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, "until"),
    ({"limit": 0}, "limit"),
    ({"limit": 1001}, "limit"),
    ({"limit": "many"}, "limit"),
    ({"order": "sideways"}, "order"),
    ({"actor": "x" * 201}, "actor"),
])
def test_bad_input_is_422(client, query, field):
    resp = client.get("/events", **query)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]


def test_a_cursor_only_works_for_its_own_search(client, container):
    store(container, events_at(4, actor="erin"))
    cursor = client.get("/events", actor="erin", limit=2).get_json()["next_cursor"]
    assert client.get("/events", actor="erin", limit=2, cursor=cursor).status_code == 200
    resp = client.get("/events", actor="frank", limit=2, cursor=cursor)
    assert resp.status_code == 422 and "cursor" in resp.get_json()["error"]["fields"]


def test_every_search_and_export_is_itself_audited(client, container):
    client.get("/events", actor="user-9", limit=5)
    client.get("/events/export", actor="user-9", format="csv").get_data()
    searched, exported = outbox_types(container)[-2:]
    assert searched["type"] == "audit.log.searched" and searched["actor"] == REVIEWER.user_id
    assert searched["payload"]["filters"] == {"actor": "user-9"} and searched["correlation_id"] == "req-review"
    assert exported["type"] == "audit.log.exported" and exported["payload"]["format"] == "csv"


def test_export_streams_csv_and_jsonl_with_the_same_filters(client, container):
    store(container, events_at(5, actor="gina") + events_at(2, actor="=cmd|' /C calc'!A0"))
    resp = client.get("/events/export", actor="gina", format="jsonl")
    assert resp.status_code == 200 and resp.is_streamed
    assert resp.headers["Content-Type"] == "application/x-ndjson"
    assert "attachment" in resp.headers["Content-Disposition"]
    lines = [json.loads(line) for line in resp.get_data(as_text=True).splitlines()]
    assert [i["actor"] for i in lines] == ["gina"] * 5
    assert lines == client.get("/events", actor="gina").get_json()["items"]
    resp = client.get("/events/export", format="csv")
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert len(rows) == 7 and json.loads(rows[0]["payload"])["method"] == "GET"
    assert {r["actor"] for r in rows} == {"gina", "'=cmd|' /C calc'!A0"}  # no formula reaches a spreadsheet
    assert client.get("/events/export", format="xml").status_code == 422


def test_integrity_over_http(client, container):
    store(container, events_at(12))
    body = client.get("/integrity").get_json()
    assert {k: body[k] for k in ("ok", "checked", "last_seq")} == {"ok": True, "checked": 12, "last_seq": 12}
    assert set(body) == {"ok", "checked", "last_seq", "public_key", "anchor"}
    assert outbox_types(container)[-1]["type"] == "audit.integrity.checked"
    with container.runtime.engine.begin() as conn:
        conn.execute(tables.audit_events.update().where(tables.audit_events.c.seq == 4).values(subject="/edited"))
    body = client.get("/integrity").get_json()
    assert body["ok"] is False and body["first_broken"] == 4 and body["problem"]
