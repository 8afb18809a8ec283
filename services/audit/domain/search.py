"""What a compliance search asks for, and how a stored row is shown."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, Literal

from services.audit.domain.chain import iso

Order = Literal["asc", "desc"]


@dataclass(frozen=True)
class EventFilter:
    actor: str | None = None
    subject: str | None = None
    type: str | None = None
    correlation_id: str | None = None
    since: datetime | None = None  # inclusive, on occurred_at
    until: datetime | None = None  # exclusive, on occurred_at

    def as_dict(self) -> dict[str, Any]:
        """The filters given (for cursor fingerprints and the reviewer's own audit event)."""
        out = {}
        for key, value in asdict(self).items():
            if value is not None:
                out[key] = iso(value) if isinstance(value, datetime) else value
        return out


def public_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored event as reviewers see it, with its place in the chain."""
    return {
        "seq": row["seq"], "event_id": row["event_id"], "type": row["type"], "version": row["version"],
        "occurred_at": iso(row["occurred_at"]), "stored_at": iso(row["stored_at"]),
        "producer": row["producer"], "actor": row["actor"], "subject": row["subject"],
        "correlation_id": row["correlation_id"], "payload": json.loads(row["payload"]),
        "prev_hash": row["prev_hash"], "hash": row["hash"],
    }


_LINE = ('{"seq":%d,"event_id":%s,"type":%s,"version":%d,"occurred_at":%s,"stored_at":%s,"producer":%s,'
         '"actor":%s,"subject":%s,"correlation_id":%s,"payload":%s,"prev_hash":%s,"hash":%s}\n')


def json_line(row: Mapping[str, Any]) -> str:
    """``public_row`` as one JSON line, the payload spliced in as stored (already canonical JSON): the
    export writes a million of these, and a decode/encode round trip per row tripled its time."""
    q = _json_text
    return _LINE % (row["seq"], q(row["event_id"]), q(row["type"]), row["version"], q(iso(row["occurred_at"])),
                    q(iso(row["stored_at"])), q(row["producer"]), q(row["actor"]), q(row["subject"]),
                    q(row["correlation_id"]), row["payload"], q(row["prev_hash"]), q(row["hash"]))


def _json_text(value: str | None) -> str:
    return "null" if value is None else encode_basestring_ascii(value)


# What a person may see of events about them (never someone else's data that an event may carry).
_OWN_ACCESS_FIELDS = ("method", "path", "query", "status", "client_ip", "user_agent")
_STAFF_ACCESS_FIELDS = ("fields", "data_categories", "purpose", "reason", "service")


def personal_row(row: Mapping[str, Any], user_id: str) -> dict[str, Any]:
    payload = json.loads(row["payload"])
    staff_access = row["actor"] != user_id
    keep = _STAFF_ACCESS_FIELDS if staff_access else (
        _OWN_ACCESS_FIELDS if row["type"] == "gateway.request.completed" else ())
    return {
        "seq": row["seq"], "type": row["type"], "occurred_at": iso(row["occurred_at"]),
        "kind": "staff_access" if staff_access else "own",
        "actor": row["actor"], "subject": row["subject"], "correlation_id": row["correlation_id"],
        "details": {k: payload[k] for k in keep if k in payload},
    }
