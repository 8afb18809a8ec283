"""The hash chain of the server log store: plain rules, no database.

Every stored event gets a sequence number and ``hash = sha256(prev_hash + canonical JSON of the
stored fields)``; the first event's ``prev_hash`` is ``GENESIS``. Changing, removing, inserting or
reordering a row changes a hash that a later row (or a signed checkpoint) depends on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

import orjson

from shared.canonical_json import Canonical

GENESIS = "0" * 64

# The stored fields a hash covers.
HASHED_FIELDS = ("actor", "correlation_id", "event_id", "occurred_at", "payload", "producer", "seq",
                 "stored_at", "subject", "type", "version")


def iso(moment: datetime | str) -> str:
    """The one textual form of a stored time: UTC, microseconds, ``+00:00`` (as read back from SQLite
    and PostgreSQL alike, so the verifier recomputes exactly what the writer hashed). Text is taken to
    be in that form already (``adapters.tables.IsoTime`` reads it so)."""
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# The standard library's sort-keys encoder's bytes, written by orjson where they are the same.
_CANONICAL = Canonical(ensure_ascii=True)


def canonical_payload(payload: Mapping[str, Any]) -> str:
    """Payload as stored: sorted keys, no spaces, ASCII only (no raw NUL byte ever reaches a database)."""
    return _CANONICAL.text(payload)


_q = encode_basestring_ascii  # JSON string literal, ASCII only (C implementation)
_RECORD = ('{"actor":%s,"correlation_id":%s,"event_id":%s,"occurred_at":%s,"payload":%s,"producer":%s,'
           '"seq":%d,"stored_at":%s,"subject":%s,"type":%s,"version":%d}')


def _text(value: Any) -> str:
    if value is None:
        return "null"
    return _q(iso(value) if isinstance(value, datetime) else value)


def canonical_record(row: Mapping[str, Any]) -> str:
    """Canonical JSON (sorted keys, no spaces, ASCII) of the stored fields of one row, the payload as the
    object its stored text holds. Written out by hand: the same text as ``json.dumps(..., sort_keys=True)``
    (a unit test holds them equal) at a third of the cost, since it runs for every event stored."""
    return _RECORD % (_text(row["actor"]), _text(row["correlation_id"]), _text(row["event_id"]),
                      _text(row["occurred_at"]), row["payload"], _text(row["producer"]), row["seq"],
                      _text(row["stored_at"]), _text(row["subject"]), _text(row["type"]), row["version"])


def _record_bytes(row: Mapping[str, Any]) -> bytes | None:
    """``canonical_record(row)`` as bytes, written by orjson (the payload text embedded as it is); None where
    orjson's bytes could differ (non-ASCII or DEL in a field, a value of another type): then the template
    writes it. ~1 µs instead of ~3 per row, for every row stored and every row verified."""
    seq, version, occurred, stored = row["seq"], row["version"], row["occurred_at"], row["stored_at"]
    if type(seq) is not int or type(version) is not int:
        return None
    try:
        out = orjson.dumps({
            "actor": row["actor"], "correlation_id": row["correlation_id"], "event_id": row["event_id"],
            "occurred_at": iso(occurred) if isinstance(occurred, datetime) else occurred,
            "payload": orjson.Fragment(row["payload"]), "producer": row["producer"], "seq": seq,
            "stored_at": iso(stored) if isinstance(stored, datetime) else stored, "subject": row["subject"],
            "type": row["type"], "version": version,
        }, option=_RECORD_AS_IS)
    except (orjson.JSONEncodeError, TypeError):
        return None
    return out if out.isascii() and b"\x7f" not in out else None


# Keys are written in order already; any value that is not JSON's own goes to the template.
_RECORD_AS_IS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS


def chain_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    record = _record_bytes(row)
    if record is None:
        record = canonical_record(row).encode()
    return hashlib.sha256(prev_hash.encode() + record).hexdigest()


def chain_of(event_id: str, chains: int) -> int:
    """Which of ``chains`` chains an event is appended to: a stable function of its id, so a redelivered
    copy meets the original under the same head lock and is dropped there."""
    if chains == 1:
        return 0
    return int.from_bytes(hashlib.sha256(event_id.encode()).digest()[:8], "big") % chains
