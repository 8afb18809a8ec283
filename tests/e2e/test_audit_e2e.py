"""Audit end to end, every process real (``portal run``): the audit routes through the gateway with the
roles that may and may not use them — search (filters, cursor paging, bad input), export (CSV and JSON
Lines matching the search), integrity (HTTP and ``portal audit verify``), audit of the auditors,
transparency for people (``/me/events``), public k-anonymous trends, and the disclosure register.

The gateway rate-limits per IP (300/min by default), so polling is kept to one request a second."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.support.people import grant, portal
from tests.support.platform import Platform
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "correct horse battery staple"
T = 30  # seconds per request: the machine is shared and slow
POLL = dict(timeout=60, interval=1.0)


@dataclass
class Person:
    id: str
    email: str
    session: requests.Session
    csrf: str


@dataclass
class Cast:
    base: str
    ada: Person  # a plain user, the subject of the staff access
    bob: Person  # another plain user
    rita: Person  # compliance reviewer
    sam: Person  # support staff
    started: datetime  # before any of the cast's requests
    ada_request_ids: list[str]


def register(base: str, name: str) -> tuple[str, str]:
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    resp = requests.post(f"{base}/api/identity/users", json={"name": name, "email": email, "password": PASSWORD},
                         timeout=T)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"], email


def login(base: str, user_id: str, email: str) -> Person:
    session = requests.Session()
    resp = session.post(f"{base}/api/identity/sessions", json={"email": email, "password": PASSWORD}, timeout=T)
    assert resp.status_code == 200, resp.text
    return Person(user_id, email, session, resp.json()["csrf_token"])


def assert_error(resp: requests.Response, status: int, field: str | None = None) -> dict:
    """The contract's error shape: {"error": {"code", "message", "fields"?}} with the right status."""
    assert resp.status_code == status, (resp.status_code, resp.text[:1000])
    error = resp.json()["error"]
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str), error
    assert "Traceback" not in resp.text
    if field is not None:
        assert field in error.get("fields", {}), error
    return error


@pytest.fixture(scope="module")
def cast(platform: Platform) -> Cast:
    base = platform.url
    started = datetime.now(UTC) - timedelta(seconds=1)
    ids = {name: register(base, name) for name in ("Ada", "Bob", "Rita", "Sam")}
    # Granting ends the person's sessions: grant first, log in after.
    grant(platform, ids["Rita"][1], "compliance")
    grant(platform, ids["Sam"][1], "support")
    people = {name: login(base, *ids[name]) for name in ids}
    ada = people["Ada"]
    request_ids = []
    for _ in range(3):
        me = ada.session.get(f"{base}/api/identity/me", timeout=T)
        assert me.status_code == 200, me.text
        request_ids.append(me.headers["X-Request-ID"])
    cast = Cast(base, ada, people["Bob"], people["Rita"], people["Sam"], started, request_ids)

    # Wait until every one of Ada's profile reads is in the store.
    def stored() -> bool:
        resp = cast.rita.session.get(f"{base}/api/audit/events", params={"actor": ada.id, "limit": 1000}, timeout=T)
        assert resp.status_code == 200, resp.text
        found = {e["correlation_id"] for e in resp.json()["items"] if e["type"] == "gateway.request.completed"}
        return set(request_ids) <= found

    wait_until(stored, message="Ada's profile reads in the audit store", **POLL)
    return cast


def search(cast: Cast, **params) -> requests.Response:
    return cast.rita.session.get(f"{cast.base}/api/audit/events", params=params, timeout=T)


def search_all(cast: Cast, **params) -> list[dict]:
    resp = search(cast, limit=1000, **params)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["next_cursor"] is None, "more than 1000 events for a narrow filter"
    return body["items"]


# 1. Search ----------------------------------------------------------------------------------------------


def test_search_filters(cast: Cast):
    resp = search(cast, actor=cast.ada.id)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"items", "next_cursor"}
    items = body["items"]
    assert items and all(e["actor"] == cast.ada.id for e in items)
    seqs = [e["seq"] for e in items]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # asc by default
    assert {"seq", "event_id", "type", "occurred_at", "actor", "subject", "correlation_id", "payload",
            "prev_hash", "hash"} <= set(items[0])

    typed = search_all(cast, actor=cast.ada.id, type="gateway.request.completed")
    assert typed and all(e["type"] == "gateway.request.completed" and e["actor"] == cast.ada.id for e in typed)
    assert {e["correlation_id"] for e in typed} >= set(cast.ada_request_ids)

    rid = cast.ada_request_ids[1]
    by_request = search_all(cast, correlation_id=rid)
    assert by_request and all(e["correlation_id"] == rid for e in by_request)
    assert [e["type"] for e in by_request].count("gateway.request.completed") == 1

    # Time range: since inclusive, until exclusive, on occurred_at.
    (access,) = [e for e in by_request if e["type"] == "gateway.request.completed"]
    at = datetime.fromisoformat(access["occurred_at"])
    exact = search_all(cast, correlation_id=rid, since=at.isoformat(),
                       until=(at + timedelta(microseconds=1)).isoformat())
    assert access["event_id"] in {e["event_id"] for e in exact}
    assert access["event_id"] not in {e["event_id"] for e in
                                      search_all(cast, correlation_id=rid, until=at.isoformat())}
    window = search_all(cast, actor=cast.ada.id, since=cast.started.isoformat(),
                        until=(datetime.now(UTC) + timedelta(minutes=5)).isoformat())
    assert {e["event_id"] for e in window} >= {e["event_id"] for e in typed}
    assert search_all(cast, actor=cast.ada.id, until=cast.started.isoformat()) == []
    # A time without an offset is UTC.
    naive = search_all(cast, actor=cast.ada.id, since=cast.started.replace(tzinfo=None).isoformat())
    assert {e["event_id"] for e in naive} >= {e["event_id"] for e in typed}


def test_search_cursor_paging_returns_each_event_once(cast: Cast):
    before = {e["seq"] for e in search_all(cast, actor=cast.ada.id)}
    assert len(before) >= 4  # login + three profile reads at least
    paged: list[int] = []
    cursor = None
    for _ in range(100):
        params = {"actor": cast.ada.id, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        resp = search(cast, **params)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert len(page["items"]) <= 2
        paged += [e["seq"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    after = {e["seq"] for e in search_all(cast, actor=cast.ada.id)}
    assert len(paged) == len(set(paged)), "an event came twice across pages"
    assert paged == sorted(paged)
    assert before <= set(paged) <= after

    # desc order pages too, newest first.
    resp = search(cast, actor=cast.ada.id, limit=2, order="desc")
    assert resp.status_code == 200
    first = resp.json()
    assert [e["seq"] for e in first["items"]] == sorted(after, reverse=True)[:2]
    second = search(cast, actor=cast.ada.id, limit=2, order="desc", cursor=first["next_cursor"]).json()
    assert set(e["seq"] for e in second["items"]).isdisjoint(e["seq"] for e in first["items"])
    assert all(s < min(e["seq"] for e in first["items"]) for s in (e["seq"] for e in second["items"]))

    # A cursor reused with other filters is refused.
    assert_error(search(cast, actor=cast.bob.id, limit=2, cursor=first["next_cursor"]), 422, "cursor")


def test_search_refuses_other_roles_and_bad_input(cast: Cast):
    url = f"{cast.base}/api/audit/events"
    assert_error(cast.ada.session.get(url, timeout=T), 403)
    assert_error(cast.sam.session.get(url, timeout=T), 403)  # support is not compliance
    assert_error(requests.get(url, timeout=T), 401)

    assert_error(search(cast, since="yesterday-ish"), 422, "since")
    assert_error(search(cast, until="2026-13-45T00:00:00"), 422, "until")
    assert_error(search(cast, since="2026-02-01T00:00:00Z", until="2026-01-01T00:00:00Z"), 422)
    assert_error(search(cast, cursor="not-a-cursor"), 422, "cursor")
    assert_error(search(cast, cursor="MTIzLmFiYy5kZWY="), 422, "cursor")  # "123.abc.def": forged tag
    assert_error(search(cast, limit=0), 422, "limit")
    assert_error(search(cast, limit=1001), 422, "limit")
    assert_error(search(cast, limit="many"), 422, "limit")
    assert_error(search(cast, order="sideways"), 422, "order")


# 2. Export ----------------------------------------------------------------------------------------------


def export(cast: Cast, **params) -> requests.Response:
    return cast.rita.session.get(f"{cast.base}/api/audit/events/export", params=params, timeout=60)


def test_export_csv_and_jsonl_match_the_search(cast: Cast):
    filters = {"actor": cast.ada.id, "type": "gateway.request.completed"}
    before = {e["seq"]: e for e in search_all(cast, **filters)}

    resp = export(cast, format="csv", **filters)
    assert resp.status_code == 200, resp.text[:1000]
    assert resp.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in resp.headers.get("Content-Disposition", "")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert rows and set(rows[0]) >= {"seq", "event_id", "type", "actor", "correlation_id", "payload", "hash"}
    csv_seqs = [int(r["seq"]) for r in rows]
    assert csv_seqs == sorted(csv_seqs) and len(set(csv_seqs)) == len(csv_seqs)

    resp = export(cast, format="jsonl", **filters)
    assert resp.status_code == 200, resp.text[:1000]
    assert resp.headers["Content-Type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in resp.text.splitlines() if line.strip()]
    jsonl_seqs = [e["seq"] for e in lines]
    assert jsonl_seqs == sorted(jsonl_seqs) and len(set(jsonl_seqs)) == len(jsonl_seqs)

    after = {e["seq"]: e for e in search_all(cast, **filters)}
    for seqs in (csv_seqs, jsonl_seqs):
        assert set(before) <= set(seqs) <= set(after)
    for row in rows:
        event = after[int(row["seq"])]
        for key in ("event_id", "type", "actor", "correlation_id", "hash", "prev_hash"):
            assert row[key] == (event[key] or ""), (key, row, event)
        assert json.loads(row["payload"]) == event["payload"]
    for line in lines:
        event = after[line["seq"]]
        for key in ("event_id", "type", "actor", "subject", "correlation_id", "occurred_at", "payload", "hash",
                    "prev_hash"):
            assert line[key] == event[key], (key, line, event)

    # Default format is JSON Lines; a filter for nothing exports nothing (CSV: the header only).
    none = export(cast, format="csv", correlation_id=f"no-such-{uuid.uuid4().hex}")
    assert none.status_code == 200 and len(list(csv.reader(io.StringIO(none.text)))) == 1


def test_export_refuses_other_roles_and_bad_input(cast: Cast):
    url = f"{cast.base}/api/audit/events/export"
    assert_error(cast.ada.session.get(url, params={"format": "csv"}, timeout=T), 403)
    assert_error(requests.get(url, params={"format": "csv"}, timeout=T), 401)
    assert_error(export(cast, format="xlsx"), 422, "format")
    assert_error(export(cast, format="csv", since="not a date"), 422, "since")


# 3. Integrity -------------------------------------------------------------------------------------------


def test_integrity_over_http_and_cli(cast: Cast, platform: Platform):
    resp = cast.rita.session.get(f"{cast.base}/api/audit/integrity", timeout=120)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["ok"] is True and body["checked"] > 0, body
    assert "first_broken" not in body or body["first_broken"] is None

    assert_error(cast.ada.session.get(f"{cast.base}/api/audit/integrity", timeout=T), 403)
    assert_error(requests.get(f"{cast.base}/api/audit/integrity", timeout=T), 401)

    result = portal(platform, "audit", "verify")
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-2000:])
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] is True and report["checked"] >= body["checked"]


# 4. Audit of the auditors -------------------------------------------------------------------------------


def test_searches_and_exports_are_themselves_audited(cast: Cast):
    marker = f"audited-{uuid.uuid4().hex}"
    searched = search(cast, correlation_id=marker)
    assert searched.status_code == 200 and searched.json()["items"] == []
    exported = export(cast, format="jsonl", correlation_id=marker)
    assert exported.status_code == 200 and exported.text.strip() == ""

    def recorded(rid: str, event_type: str) -> list[dict]:
        return [e for e in search_all(cast, correlation_id=rid) if e["type"] == event_type]

    for resp, event_type in ((searched, "audit.log.searched"), (exported, "audit.log.exported")):
        rid = resp.headers["X-Request-ID"]
        (event,) = wait_until(lambda rid=rid, t=event_type: recorded(rid, t),
                              message=f"{event_type} of request {rid}", **POLL)
        assert event["actor"] == cast.rita.id, event
        assert event["payload"]["filters"].get("correlation_id") == marker, event
    (search_event,) = recorded(searched.headers["X-Request-ID"], "audit.log.searched")
    assert search_event["payload"]["results"] == 0
    # The reviewer can be found by actor too.
    mine = search_all(cast, actor=cast.rita.id, type="audit.log.searched", since=cast.started.isoformat())
    assert search_event["event_id"] in {e["event_id"] for e in mine}


# 5. Transparency ----------------------------------------------------------------------------------------


def test_a_person_sees_staff_access_to_their_data_and_nobody_else_does(cast: Cast):
    base, ada, bob, sam = cast.base, cast.ada, cast.bob, cast.sam
    reason = "ticket 4711: cannot log in"
    # Staff reads need a reason and the support (or admin) role.
    assert_error(sam.session.get(f"{base}/api/identity/users/{ada.id}", timeout=T), 422, "reason")
    refused = bob.session.get(f"{base}/api/identity/users/{ada.id}", params={"reason": reason}, timeout=T)
    assert_error(refused, 403)
    read = sam.session.get(f"{base}/api/identity/users/{ada.id}", params={"reason": reason}, timeout=T)
    assert read.status_code == 200, read.text
    assert read.json()["email"] == ada.email

    def my_events(person: Person, **params) -> dict:
        resp = person.session.get(f"{base}/api/audit/me/events", params={"limit": 200, **params}, timeout=T)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def staff_access() -> list[dict]:
        return [e for e in my_events(ada)["items"]
                if e["type"] == "identity.pii.accessed" and e["correlation_id"] == read.headers["X-Request-ID"]]

    (access,) = wait_until(staff_access, message="the staff access in Ada's history", **POLL)
    assert access["kind"] == "staff_access" and access["actor"] == sam.id, access
    assert set(access["details"]) <= {"fields", "data_categories", "purpose", "reason", "service"}, access
    assert access["details"].get("reason") == reason, access

    items = my_events(ada)["items"]
    seqs = [e["seq"] for e in items]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    own = [e for e in items if e["kind"] == "own"]
    assert all(e["actor"] == ada.id for e in own)
    assert {e["correlation_id"] for e in own if e["type"] == "gateway.request.completed"} >= set(cast.ada_request_ids)
    for e in own:
        if e["type"] == "gateway.request.completed":
            assert set(e["details"]) <= {"method", "path", "query", "status", "client_ip", "user_agent"}, e
    assert all(e["kind"] == "staff_access" and e["type"].endswith(".pii.accessed")
               for e in items if e["kind"] != "own")

    # Bob never sees it, nor anything of Ada's.
    bob_items = my_events(bob)["items"]
    assert bob_items, "Bob's own login and requests"
    assert access["seq"] not in {e["seq"] for e in bob_items}
    assert all(e["actor"] == bob.id for e in bob_items if e["kind"] == "own")
    assert not [e for e in bob_items if e["kind"] == "staff_access"]
    # (except Bob's own refused attempt, whose path names Ada's id)
    refused_rid = refused.headers["X-Request-ID"]
    leaked = [e for e in bob_items if ada.id in json.dumps(e) and e["correlation_id"] != refused_rid]
    assert not leaked, leaked

    # Paging: each event once; Ada's cursor is hers alone.
    first = my_events(ada, limit=1)
    assert first["next_cursor"]
    second = my_events(ada, limit=1, cursor=first["next_cursor"])
    assert second["items"] and second["items"][0]["seq"] < first["items"][0]["seq"]
    stolen = bob.session.get(f"{base}/api/audit/me/events", params={"cursor": first["next_cursor"]}, timeout=T)
    assert_error(stolen, 422, "cursor")
    assert_error(ada.session.get(f"{base}/api/audit/me/events", params={"limit": 0}, timeout=T), 422, "limit")
    assert_error(requests.get(f"{base}/api/audit/me/events", timeout=T), 401)


# 6. Trends ----------------------------------------------------------------------------------------------


def test_trends_are_public_and_name_nobody(cast: Cast):
    resp = requests.get(f"{cast.base}/api/audit/trends", timeout=T)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert {"to", "k", "items"} <= set(body) and body["k"] >= 2
    for item in body["items"]:
        assert set(item) <= {"day", "kind", "item_id", "count", "people"}
        assert item["people"] >= body["k"]
    for person in (cast.ada, cast.bob, cast.rita, cast.sam):
        assert person.id not in resp.text and person.email not in resp.text
    assert "@" not in resp.text

    today = datetime.now(UTC).date()
    ranged = requests.get(f"{cast.base}/api/audit/trends", timeout=T,
                          params={"from": (today - timedelta(days=7)).isoformat(), "to": today.isoformat()})
    assert ranged.status_code == 200, ranged.text
    assert ranged.json()["to"] == today.isoformat()
    trends = f"{cast.base}/api/audit/trends"
    assert_error(requests.get(trends, params={"from": "last tuesday"}, timeout=T), 422, "from")
    assert_error(requests.get(trends, params={"from": today.isoformat(),
                                              "to": (today - timedelta(days=1)).isoformat()}, timeout=T), 422)
    assert_error(requests.get(trends, params={"from": (today - timedelta(days=400)).isoformat(),
                                              "to": today.isoformat()}, timeout=T), 422)


def test_trends_response_names_its_range(cast: Cast):
    today = datetime.now(UTC).date()
    start = (today - timedelta(days=7)).isoformat()
    resp = requests.get(f"{cast.base}/api/audit/trends", params={"from": start, "to": today.isoformat()}, timeout=T)
    assert resp.status_code == 200, resp.text
    assert resp.json().get("from") == start


# 7. Disclosures -----------------------------------------------------------------------------------------


def test_disclosure_register(cast: Cast):
    base, rita = cast.base, cast.rita
    url = f"{base}/api/audit/disclosures"
    entry = {"subject_user_id": cast.ada.id, "recipient": "Police of Examplestadt, case 2026-17",
             "legal_basis": "legal obligation (court order 12/2026)", "data_categories": ["contact_details"]}
    resp = rita.session.post(url, json=entry, headers={"X-CSRF-Token": rita.csrf}, timeout=T)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["id"] and {k: created[k] for k in entry} == entry, created
    assert created["recorded_by"] == rita.id

    listed = rita.session.get(url, params={"subject_user_id": cast.ada.id}, timeout=T)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert set(page) == {"items", "next_cursor"}
    assert created["id"] in {e["id"] for e in page["items"]}
    assert all(e["subject_user_id"] == cast.ada.id for e in page["items"])
    everyone = rita.session.get(url, timeout=T)
    assert everyone.status_code == 200 and created["id"] in {e["id"] for e in everyone.json()["items"]}

    # Only compliance.
    ada = cast.ada
    assert_error(ada.session.post(url, json=entry, headers={"X-CSRF-Token": ada.csrf}, timeout=T), 403)
    assert_error(ada.session.get(url, timeout=T), 403)
    assert_error(requests.get(url, timeout=T), 401)

    # Invalid bodies.
    post = lambda body: rita.session.post(url, json=body, headers={"X-CSRF-Token": rita.csrf}, timeout=T)  # noqa: E731
    assert_error(post({k: v for k, v in entry.items() if k != "recipient"}), 422, "recipient")
    assert_error(post({**entry, "data_categories": []}), 422, "data_categories")
    assert_error(post({**entry, "data_categories": "contact_details"}), 422, "data_categories")
    assert_error(post({**entry, "disclosed_at": "soon"}), 422, "disclosed_at")
    assert_error(rita.session.get(url, params={"limit": 0}, timeout=T), 422, "limit")
    assert_error(rita.session.get(url, params={"cursor": "bogus"}, timeout=T), 422, "cursor")

    # Every entry is audited (actor = the reviewer, correlation id = the request id).
    rid = resp.headers["X-Request-ID"]
    events = wait_until(lambda: [e for e in search_all(cast, correlation_id=rid)
                                 if e["type"] == "audit.disclosure.recorded"],
                        message="audit.disclosure.recorded", **POLL)
    assert events[0]["actor"] == rita.id
