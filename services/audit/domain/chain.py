"""The hash chain of the server log store: plain rules, no database.

Every stored event gets a sequence number and ``hash = sha256(prev_hash + canonical JSON of the
stored fields)``; the first event's ``prev_hash`` is ``GENESIS``. Changing, removing, inserting or
reordering a row changes a hash that a later row (or a signed checkpoint) depends on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

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


# Built once: ``json.dumps`` with options builds a new encoder per call, a third of the hashing cost.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def canonical_payload(payload: Mapping[str, Any]) -> str:
    """Payload as stored: sorted keys, no spaces, ASCII only (no raw NUL byte ever reaches a database)."""
    return _CANONICAL.encode(payload)


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


def chain_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_record(row)).encode()).hexdigest()


def chain_of(event_id: str, chains: int) -> int:
    """Which of ``chains`` chains an event is appended to: a stable function of its id, so a redelivered
    copy meets the original under the same head lock and is dropped there."""
    if chains == 1:
        return 0
    return int.from_bytes(hashlib.sha256(event_id.encode()).digest()[:8], "big") % chains
