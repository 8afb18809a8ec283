"""Reading sealed rows back for reviewers (search and export): sealed values are opened inside the stored
payload text, which must give exactly what decoding, opening each value and re-encoding gives — for
non-ASCII text, free text that merely looks like a sealed value, nested objects, several people in one
row, and a person whose key was destroyed."""

from __future__ import annotations

import json

import pytest

from services.audit.bootstrap import bootstrap
from services.audit.domain import sealing
from services.audit.domain.chain import canonical_payload
from services.audit.domain.search import EventFilter, json_line
from services.audit.handlers import search
from tests.integration.audit.conftest import make_event, store
from tests.support.databases import drop_database_url, new_pg_database_url

pytestmark = pytest.mark.integration
ALICE, BOB, CAROL = "user-alice", "user-bob", "user-carol"
LOOKALIKE = 'enc1:' + "0" * 32 + ':AAAA'  # typed by someone, not sealed by us


def events() -> list:
    return [
        make_event("identity.user.registered", actor=ALICE, subject=ALICE,
                   payload={"user_id": ALICE, "name": "Zoë Ødegård-Łukasz 山田", "email": "zoe@example.com"}),
        make_event(actor=ALICE, subject="/api/content/items", payload={
            "method": "GET", "path": "/api/content/items", "status": 200, "query": f'q="{LOOKALIKE}"',
            "client_ip": "198.51.100.7", "user_agent": 'Browser "quoted" \\ backslash/1.0'}),
        make_event("identity.user.updated", actor=ALICE, subject=CAROL, payload={
            "user_id": CAROL, "changed": ["email", "name"], "email": "carol@example.com", "name": "Carol",
            "extra": {"nested": LOOKALIKE}}),
        make_event("identity.user.registered", actor=BOB, subject=BOB,
                   payload={"user_id": BOB, "name": "Bob Builder", "email": "bob@example.com"}),
        make_event("identity.privacy.erasure_requested", actor="system:identity", subject=BOB,
                   payload={"request_id": "er-bob", "user_id": BOB}),
        make_event(actor="anonymous", subject="/api/content/items", payload={
            "method": "GET", "path": "/api/content/items", "status": 200, "query": LOOKALIKE}),
    ]


def round_trip(ring, rows):
    """The obvious reading: decode the payload, open each person's carrier of the row once, then every value
    sealed under a key we made (a destroyed key reads ``[erased]``; text that only looks sealed stays as
    typed), encode it canonically again."""
    out = []
    for row in rows:
        payload = json.loads(row["payload"])
        carriers = [v for v in [row["actor"], *payload.values()]
                    if isinstance(v, str) and v.startswith(sealing.PREFIX2) and not sealing.is_reference(v)]
        carried = {}
        for carrier in carriers:
            token = sealing.sealed_person(carrier)
            if token in ring and not isinstance(carried.get(token), list):
                carried[token] = sealing.open_values(ring[token], carrier)

        def opened(value, carried=carried):
            if not sealing.is_sealed(value) or sealing.sealed_person(value) not in ring:
                return value
            return sealing.opened_value(value, ring[sealing.sealed_person(value)], carried)

        out.append({**row, "actor": opened(row["actor"]),
                    "payload": canonical_payload({k: opened(v) for k, v in payload.items()})})
    return out


def test_reviewers_see_opened_rows_exactly_as_a_json_round_trip_gives(container):
    store(container, events())
    with container.read_uow() as uow:
        rows = uow.search.search(EventFilter(), None, 100)
        people = {sealing.sealed_person(v) for r in rows
                  for v in [r["actor"], *json.loads(r["payload"]).values()] if sealing.is_sealed(v)}
        assert len(people) >= 3, "Alice, Bob and Carol each have a key"
        expected = round_trip(uow.keys.load(people), rows)
        opened = uow.keys.open_rows(rows)
    assert opened == expected
    text = json.dumps([{**r, "payload": json.loads(r["payload"])} for r in opened], ensure_ascii=False)
    assert "Zoë Ødegård-Łukasz 山田" in text and "carol@example.com" in text and "198.51.100.7" in text
    assert 'Browser "quoted" \\ backslash/1.0' in [json.loads(r["payload"]).get("user_agent") for r in opened]
    assert text.count(LOOKALIKE) == 3  # free text that looks sealed is left as typed, at any depth
    bob = [r for r in opened if r["subject"] == BOB and r["type"] == "identity.user.registered"]
    assert bob and bob[0]["actor"] == sealing.ERASED
    assert json.loads(bob[0]["payload"])["email"] == sealing.ERASED and "bob@example.com" not in text
    assert all(sealing.PREFIX + "0" not in r["actor"] for r in opened)
    assert not any(sealing.is_sealed(r["actor"]) for r in opened)


def _as_format_1(row, ring):
    """The row as the store wrote it before format 2: every sealed value encrypted on its own."""
    import base64
    import os

    def seal_v1(token, text):
        nonce = os.urandom(12)
        body = base64.b64encode(nonce + ring[token].encrypt(nonce, text.encode(), None)).decode()
        return f"{sealing.PREFIX}{token}:{body}"

    opened = round_trip(ring, [row])[0]
    token = sealing.sealed_person(row["actor"])
    payload = json.loads(opened["payload"])
    sealed = {k: seal_v1(token, v) if k in ("client_ip", "user_agent", "path") else v for k, v in payload.items()}
    return {**row, "actor": seal_v1(token, opened["actor"]), "payload": canonical_payload(sealed)}, opened


def test_rows_sealed_value_by_value_before_format_2_read_the_same(container):
    store(container, events())
    with container.read_uow() as uow:
        row = next(r for r in uow.search.search(EventFilter(type="gateway.request.completed"), None, 10)
                   if sealing.is_sealed(r["actor"]))
        ring = uow.keys.load({sealing.sealed_person(row["actor"])})
        old, expected = _as_format_1(row, ring)
        assert sealing.PREFIX2 not in old["payload"] and sealing.PREFIX2 not in old["actor"]
        assert uow.keys.open_rows([old]) == [expected]
        own = uow.keys.open_rows([old], only=sealing.sealed_person(row["actor"]))[0]
    assert own["actor"] == ALICE and json.loads(own["payload"])["client_ip"] == "198.51.100.7"


@pytest.fixture(params=["sqlite", "postgresql"])
def lines_container(request, audit_env, monkeypatch, tmp_path):
    """The store on SQLite and on PostgreSQL whatever the suite runs on: each database writes the export's
    lines its own way (``SearchRepository.json_lines``)."""
    url = new_pg_database_url("open_rows") if request.param == "postgresql" else f"sqlite:///{tmp_path / 'lines.db'}"
    monkeypatch.setenv("AUDIT_DATABASE_URL", url)
    c = bootstrap()
    yield c
    c.runtime.engine.dispose()
    drop_database_url(url)


def test_export_lines_written_by_the_database_are_the_rows_opened_one_by_one(lines_container):
    store(lines_container, events())
    with lines_container.read_uow() as uow:
        alice_sealed = uow.search.search(EventFilter(), None, 1)[0]["actor"]
    assert sealing.is_sealed(alice_sealed)
    # A real sealed value copied into columns that are never opened: shown as stored, as row by row.
    store(lines_container, [make_event(actor="system:content", subject=alice_sealed, correlation_id=alice_sealed,
                                    payload={"status": 200})])
    exported = "".join(search.export_events(lines_container, EventFilter(), "jsonl"))
    with lines_container.read_uow() as uow:
        assert uow.search.builds_lines()
        rows = uow.keys.open_rows(uow.search.search(EventFilter(), None, 100))
    expected = "".join(json_line(r) for r in rows)
    assert [json.loads(line) for line in exported.splitlines()] == [json.loads(line) for line in expected.splitlines()]
    assert exported.replace('": "' + sealing.PREFIX2, '":"' + sealing.PREFIX2) == expected  # the same but a space
    assert exported.count(alice_sealed) == 2 and "Zoë" not in exported and "Zo\\u00eb" in exported


def test_export_lines_open_a_reference_met_before_its_carrier_and_the_first_carrier_that_opens(lines_container):
    store(lines_container, events())
    with lines_container.read_uow() as uow:
        token = sealing.sealed_person(uow.search.search(EventFilter(), None, 1)[0]["actor"])
        ring = uow.keys.load({token})
    carrier = sealing.Sealer().seal_values(ring[token], token, ["zero", 'one "quoted" \\ Zoë'])
    damaged = f"{sealing.PREFIX2}{token}:{'A' * 40}"  # a carrier that does not open
    reference = f"{sealing.PREFIX2}{token}:#1"
    store(lines_container, [make_event("identity.user.updated", actor="system:identity", subject=CAROL, payload={
        "user_id": CAROL, "changed": [], "extra": {"a": [reference, damaged, carrier], "b": reference}})])
    exported = "".join(search.export_events(lines_container, EventFilter(), "jsonl"))
    with lines_container.read_uow() as uow:
        rows = uow.keys.open_rows(uow.search.search(EventFilter(), None, 100))
    assert [json.loads(line) for line in exported.splitlines()] == [json.loads(json_line(r)) for r in rows]
    extra = [json.loads(line)["payload"] for line in exported.splitlines()][-1]["extra"]
    assert extra["a"][0] == extra["b"] == 'one "quoted" \\ Zoë' and token not in json.dumps(extra)


def test_a_key_destroyed_during_an_export_reads_erased_from_the_next_page_on(lines_container, monkeypatch):
    monkeypatch.setattr(search, "EXPORT_LINES_PAGE", 2)
    store(lines_container, [make_event(actor=ALICE, subject=f"/api/content/items/{i}", payload={
        "method": "GET", "path": "/api/content/items", "status": 200, "client_ip": "198.51.100.7"})
        for i in range(6)])
    stream = search.export_events(lines_container, EventFilter(), "jsonl")
    first = next(stream)
    assert first.count("198.51.100.7") == 2 and first.count(f'"actor":"{ALICE}"') == 2
    store(lines_container, [make_event("identity.privacy.erasure_requested", actor="system:identity", subject=ALICE,
                                    payload={"request_id": "er-alice", "user_id": ALICE})])
    rest = [json.loads(line) for line in "".join(stream).splitlines()]
    rest = [r for r in rest if r["type"] == "gateway.request.completed"]  # not the erasure's own event
    assert len(rest) == 4 and "198.51.100.7" not in json.dumps(rest)
    assert all(r["actor"] == sealing.ERASED and r["payload"]["client_ip"] == sealing.ERASED for r in rest)


def test_export_lines_open_the_first_carrier_of_a_row_that_opens_and_values_sealed_one_by_one(lines_container):
    store(lines_container, events())
    with lines_container.read_uow() as uow:
        row = next(r for r in uow.search.search(EventFilter(type="gateway.request.completed"), None, 10)
                   if sealing.is_sealed(r["actor"]))
        token = sealing.sealed_person(row["actor"])
        ring = uow.keys.load({token})
        old, _ = _as_format_1(row, ring)
    carrier = sealing.Sealer().seal_values(ring[token], token, ["zero", "one"])
    damaged = f"{sealing.PREFIX2}{token}:{'A' * 40}"
    store(lines_container, [make_event("identity.user.updated", actor="system:identity", subject=CAROL, payload={
        "user_id": CAROL, "changed": [], "extra": {"c": [damaged, carrier, f"{sealing.PREFIX2}{token}:#1"],
                                                   "d": [old["actor"], LOOKALIKE]}})])
    exported = "".join(search.export_events(lines_container, EventFilter(), "jsonl"))
    with lines_container.read_uow() as uow:
        rows = uow.keys.open_rows(uow.search.search(EventFilter(), None, 100))
    assert [json.loads(line) for line in exported.splitlines()] == [json.loads(json_line(r)) for r in rows]
    extra = [json.loads(line)["payload"] for line in exported.splitlines()][-1]["extra"]
    assert extra == {"c": ["zero", "zero", "one"], "d": [ALICE, LOOKALIKE]}


@pytest.mark.parametrize("lines_container", ["sqlite"], indirect=True)
def test_a_page_with_a_time_sqlite_did_not_store_in_its_own_form_is_exported_row_by_row(lines_container, monkeypatch):
    monkeypatch.setattr(search, "EXPORT_LINES_PAGE", 2)
    store(lines_container, events())
    with lines_container.runtime.engine.begin() as conn:  # written by hand, not by the store
        conn.exec_driver_sql("UPDATE audit_events SET occurred_at = '2026-01-01 00:00:00' WHERE seq = 1")
    exported = "".join(search.export_events(lines_container, EventFilter(), "jsonl"))
    with lines_container.read_uow() as uow:
        assert uow.search.json_lines(EventFilter(), None, 2)[0] is None
        rows = uow.keys.open_rows(uow.search.search(EventFilter(), None, 100))
    expected = [json_line(r) for r in rows]
    assert rows[0]["occurred_at"] == "2026-01-01T00:00:00.000000+00:00"
    assert exported.splitlines(keepends=True)[:2] == expected[:2]  # the page read row by row
    assert [json.loads(line) for line in exported.splitlines()] == [json.loads(line) for line in expected]
