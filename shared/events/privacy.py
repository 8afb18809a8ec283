"""The privacy participant contract: what a service holding personal data does for exports and erasures.

identity owns privacy requests (docs/internal-contracts.md, "Privacy requests"). A participant:

1. answers ``GET EXPORT_PATH`` (``api/privacy.py``, signed callers only) with ``{"service", "data"}``;
2. handles ``ERASURE_EVENTS`` with ``handlers/privacy.py:erase_person(uow, request, settings)``, which
   erases and emits ``erasure_completed(service)`` (``ErasureCompletedV1``) in the same transaction;
3. is registered once, in ``PARTICIPANTS``: the queue bindings (``shared/bus/topology.py``), identity's
   list of services to ask and to wait for, and ``tests/unit/test_wiring.py`` all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from shared.events.classification import PLAIN, PSEUDONYM
from shared.events.envelope import Event

PARTICIPANTS: tuple[str, ...] = ("linking", "content", "audit")

ERASURE_REQUESTED = "identity.privacy.erasure_requested"
ERASURE_REPLAYED = "identity.privacy.erasure_replayed"  # a ledger entry re-applied after a restore
ERASURE_EVENTS = (ERASURE_REQUESTED, ERASURE_REPLAYED)
EXPORT_PATH = "/internal/privacy/users/<user_id>/export"

MAX_USER_ID = 64  # user ids live in String(64) columns
# A participant may put ``erased:<request_id>`` where a user id was (content's pseudonym), so the
# request id leaves room for the prefix. identity's request ids are UUIDs (36 characters).
MAX_REQUEST_ID = MAX_USER_ID - len("erased:")
MAX_TEXT = 1000  # one line of an answer's ``erased`` / ``kept``


def actor(service: str) -> str:
    """Who a participant's worker acts as when it erases (the events' ``actor``)."""
    return f"system:{service}"


def erasure_completed(service: str) -> str:
    """The event type of ``service``'s answer."""
    return f"{service}.privacy.erasure_completed"


def is_user_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_USER_ID and "\x00" not in value


class MalformedErasureRequest(ValueError):
    """The request cannot be answered (a consumer retries, then dead-letters it: never dropped silently)."""


@dataclass(frozen=True)
class ErasureRequest:
    request_id: str
    user_id: str
    replayed: bool = False  # erasure_replayed: a restored backup brought data back
    correlation_id: str | None = None


def erasure_request(event: Event) -> ErasureRequest:
    """The ``ErasureRequest`` an ``identity.privacy.erasure_*`` event carries, or ``MalformedErasureRequest``."""
    values = []
    for name, longest in (("request_id", MAX_REQUEST_ID), ("user_id", MAX_USER_ID)):
        value = event.payload.get(name)
        if not isinstance(value, str) or not value or len(value) > longest or "\x00" in value:
            raise MalformedErasureRequest(f"{event.type} {event.event_id}: {name} must be 1-{longest} characters")
        values.append(value)
    return ErasureRequest(request_id=values[0], user_id=values[1], replayed=event.type == ERASURE_REPLAYED,
                          correlation_id=event.correlation_id)


@dataclass
class ErasureAnswer:
    """What a participant erased (``"<what>: <count>"`` lines) and what it keeps (``KeptDataV1`` dicts)."""

    erased: list[str] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)

    def payload(self, request: ErasureRequest) -> dict[str, Any]:
        return {"request_id": request.request_id, "user_id": request.user_id, "erased": self.erased,
                "kept": self.kept, "replayed": request.replayed}


# --- the answer's payload: each participant registers ErasureCompletedV1 under its own event type
# (a subclass in shared/events/schemas/<service>.py); identity loads every answer with it.
# Ids, counts and categories only: the audit service stores every event.


class KeptDataV1(Schema):
    class Meta:
        unknown = EXCLUDE

    data = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT),
                         metadata=PLAIN)  # what is kept, in words (never the data itself)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT), metadata=PLAIN)
    # ISO 8601 date(time); null: no fixed end
    until = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64), metadata=PLAIN)


class ErasureCompletedV1(Schema):
    """A participant's answer to ``identity.privacy.erasure_requested`` / ``erasure_replayed``: what it
    erased and what it keeps (categories and counts, never the data itself)."""

    request_id = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REQUEST_ID), metadata=PSEUDONYM)
    user_id = fields.String(required=True, validate=validate.Length(min=1, max=MAX_USER_ID), metadata=PSEUDONYM)
    erased = fields.List(fields.String(validate=validate.Length(max=MAX_TEXT)), required=True, metadata=PLAIN)
    kept = fields.List(fields.Nested(KeptDataV1), required=True, metadata=PLAIN)
    replayed = fields.Boolean(load_default=False)  # answering erasure_replayed (a restored backup)
