"""The chain's canonical record and hash: plain functions, no database."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

from services.audit.domain.chain import GENESIS, canonical_payload, canonical_record, chain_hash, iso


def row(**overrides):
    base = {
        "seq": 7, "event_id": "0b7f6a3e-8d9a-4a51-9a6e-8f7c8d2b1e01", "type": "gateway.request.completed",
        "actor": "user-1", "subject": "/api/identity/me", "correlation_id": None,
        "occurred_at": datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        "stored_at": datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC), "producer": "gateway", "version": 1,
        "payload": canonical_payload({"path": "/ü", "status": 200, "nested": {"b": 1, "a": [1, None]}}),
    }
    return base | overrides


def test_canonical_record_is_sorted_json_of_the_stored_fields_with_the_payload_as_an_object():
    r = row(actor='quote " and \\ and ünïcode', correlation_id="req-1")
    expected = {**r, "occurred_at": iso(r["occurred_at"]), "stored_at": iso(r["stored_at"]),
                "payload": json.loads(r["payload"])}
    assert canonical_record(r) == json.dumps(expected, sort_keys=True, separators=(",", ":"))
    assert canonical_record(r).isascii()


def test_hash_is_sha256_of_previous_hash_and_record():
    r = row()
    assert chain_hash(GENESIS, r) == hashlib.sha256((GENESIS + canonical_record(r)).encode()).hexdigest()
    assert chain_hash(GENESIS, r) != chain_hash("1" * 64, r)
    assert chain_hash(GENESIS, r) != chain_hash(GENESIS, row(subject="/other"))


def test_times_hash_the_same_whatever_offset_or_text_they_came_in():
    moment = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    other_zone = moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert iso(other_zone) == iso(moment) == "2026-01-02T03:04:05.123456+00:00"
    assert chain_hash(GENESIS, row(occurred_at=other_zone)) == chain_hash(GENESIS, row(occurred_at=iso(moment)))


def test_payload_text_is_canonical_and_ascii():
    assert canonical_payload({"b": 1, "a": "\x00é"}) == '{"a":"\\u0000\\u00e9","b":1}'


def test_stored_time_takes_canonical_text_as_it_is_and_normalises_the_rest():
    from services.audit.adapters.chain_store import stored_time

    moment = datetime(2026, 1, 31, 12, 0, 0, 120000, tzinfo=UTC)
    assert stored_time(iso(moment)) == (iso(moment), None)
    for text in ("2026-01-31T13:00:00.120000+01:00", "2026-01-31T12:00:00.12+00:00", "2026-01-31T12:00:00.120+00:00"):
        assert stored_time(text) == (iso(moment), moment)


def test_the_hash_covers_the_template_record_byte_for_byte_whichever_encoder_writes_it():
    from services.audit.domain.chain import _record_bytes

    plain = row(correlation_id="req-1", occurred_at=iso(row()["occurred_at"]), stored_at=iso(row()["stored_at"]))
    assert _record_bytes(plain) == canonical_record(plain).encode()  # the usual row: orjson writes it
    for fields in ({}, {"actor": "ünïcode"}, {"subject": "del \x7f"}, {"subject": 'q " \\ \x00 \n \u2028'},
                   {"correlation_id": None}, {"seq": 2**62}, {"seq": True}, {"version": 1.0},
                   {"payload": '{"a":"\\u00e9"}'}, {"stored_at": "2026-01-02T03:04:06.000000+00:00"}):
        r = row(**fields)
        expected = hashlib.sha256((GENESIS + canonical_record(r)).encode()).hexdigest()
        assert chain_hash(GENESIS, r) == expected, fields
