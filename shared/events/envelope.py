"""The one envelope every event travels in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from dataclasses import fields as fields_of
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared import clock, tracing
from shared.events.fastcheck import CompiledPayload, check_envelope
from shared.events.registry import UnknownEventType, latest_version, schema_for


@dataclass(frozen=True)
class Event:
    event_id: str
    type: str
    version: int
    occurred_at: str
    producer: str
    actor: str
    subject: str
    correlation_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)
    # W3C Trace Context of the span that emitted it (optional; older events have none): shared/tracing.py
    traceparent: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The envelope as a dict, its payload a copy. Shallow where ``dataclasses.asdict`` copies deep: a
        payload holds JSON values only, which no caller changes, and the deep copy of each cost more than
        signing the event (every outbox row is built from one)."""
        return {name: getattr(self, name) for name in _FIELDS} | {"payload": dict(self.payload)}


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    event_id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.Regexp(r"^[a-z_]+\.[a-z_]+\.[a-z_]+$"))
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, default_timezone=None)
    producer = fields.String(required=True, validate=validate.Length(min=1, max=64))
    actor = fields.String(required=True, validate=validate.Length(min=1, max=200))
    subject = fields.String(required=True, validate=validate.Length(max=500))
    correlation_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    payload = fields.Dict(keys=fields.String(), load_default=dict)
    # Never a reason to refuse an event: a malformed value is dropped when loading (``tracing.valid``).
    traceparent = fields.Raw(load_default=None, allow_none=True)


_envelope = EnvelopeSchema()
_FIELDS = tuple(f.name for f in fields_of(Event))


def new_event(
    type_: str,
    *,
    producer: str,
    actor: str,
    subject: str,
    payload: dict[str, Any],
    correlation_id: str | None = None,
    occurred_at: datetime | None = None,
) -> Event:
    """Build an event, checking its payload against the registered schema (raises ValueError)."""
    version = latest_version(type_)
    schema = schema_for(type_, version)
    errors = schema.validate(payload)
    if errors:
        raise ValueError(f"invalid payload for {type_} v{version}: {errors}")
    return Event(
        event_id=str(uuid.uuid4()),
        type=type_,
        version=version,
        occurred_at=clock.isoformat(occurred_at or clock.now()),
        producer=producer,
        actor=actor,
        subject=subject,
        correlation_id=correlation_id,
        payload=dict(schema.dump(payload)),
        traceparent=tracing.current_traceparent(),
    )


_compiled: dict[tuple[str, int], CompiledPayload | None] = {}


def _payload_loader(type_: str, version: int) -> CompiledPayload | None:
    key = (type_, version)
    if key not in _compiled:
        try:
            _compiled[key] = CompiledPayload(schema_for(type_, version))
        except UnknownEventType:
            _compiled[key] = None
    return _compiled[key]


def load_events(raw: list[dict[str, Any]], *, strict_payload: bool = True,
                signed_payloads: bool = False) -> list[Event]:
    """Load envelopes as a consumer: unknown fields are excluded; payloads of known types are loaded
    with their schema (unknown fields dropped), payloads of unknown types are kept as they are.

    Raises ``marshmallow.ValidationError`` for a malformed envelope or payload. Valid events take
    the fast path (``fastcheck``); everything else is decided by marshmallow.

    ``signed_payloads``: every envelope's producer signature was verified (``signing.refusal``), so each
    payload was built through its schema by the producer; payloads are then checked for shape only
    (``CompiledPayload.load_signed``), not value by value. Envelopes are checked all the same.
    """
    if not isinstance(raw, list):
        raise ValidationError({"_schema": ["a batch of events must be a list"]})
    out: list[Event] = []
    for original in raw:
        item = original if check_envelope(original) else _envelope.load(original)
        payload = item.get("payload") or {}
        if strict_payload:
            loader = _payload_loader(item["type"], item["version"])
            if loader is not None:
                payload = loader.load_signed(payload) if signed_payloads else loader.load(payload)
        out.append(
            Event(
                event_id=str(item["event_id"]),
                type=item["type"],
                version=item["version"],
                occurred_at=str(original["occurred_at"]),
                producer=item["producer"],
                actor=item["actor"],
                subject=item["subject"],
                correlation_id=item.get("correlation_id"),
                payload=payload,
                traceparent=tracing.valid(original.get("traceparent")),
            )
        )
    return out


__all__ = ["Event", "EnvelopeSchema", "ValidationError", "load_events", "new_event"]
