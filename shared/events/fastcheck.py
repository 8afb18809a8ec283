"""A fast path for loading events on the consumer's hot path, derived from the marshmallow schemas.

marshmallow stays the single definition of every schema and the authority on errors. Loading through
it costs ~100 µs an event, which caps a consumer far below the broker's rate, so for the common case —
values already of the exact declared type — we check types, ``allow_none``, required fields and the
fields' own validators directly from the schema's field objects (a few µs). Anything the fast check
does not accept (a coercible value such as ``"12"`` for an Integer, a nested schema, a missing required
field, a wrong type) goes through marshmallow, which coerces or raises the usual ``ValidationError``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields
from marshmallow.utils import missing

_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TYPE_RE = re.compile(r"^[a-z_]+\.[a-z_]+\.[a-z_]+$")

# Exact Python types accepted without coercion, per marshmallow field class.
_SIMPLE: dict[type[fields.Field], tuple[type, ...]] = {
    fields.String: (str,),
    fields.Integer: (int,),
    fields.Float: (int, float),
    fields.Boolean: (bool,),
    fields.Dict: (dict,),
}


class _Unsupported(Exception):
    """The fast check cannot decide; let marshmallow do it."""


def _check_value(fld: fields.Field, value: Any) -> None:
    if value is None:
        if not fld.allow_none:
            raise _Unsupported
        return
    kind = type(fld)
    if kind is fields.List:
        if not isinstance(value, list):
            raise _Unsupported
        inner = fld.inner  # type: ignore[attr-defined]
        for item in value:
            _check_value(inner, item)
    else:
        accepted = _SIMPLE.get(kind)
        if accepted is None or not isinstance(value, accepted):
            raise _Unsupported
        if kind is fields.Float and type(value) is not float:
            raise _Unsupported  # marshmallow turns 3 into 3.0 and refuses True: let it decide
        if kind is fields.Integer and isinstance(value, bool):
            raise _Unsupported
    for validator in fld.validators:
        try:
            validator(value)  # marshmallow 4 fails only on ValidationError, not on a False return
        except ValidationError as exc:
            raise _Unsupported from exc


class CompiledPayload:
    """The fields of one payload schema, ready for the fast check."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.fields = [(fld.data_key or name, fld) for name, fld in schema.fields.items()
                       if not fld.dump_only]
        self.names = frozenset(key for key, _ in self.fields)
        self.required = frozenset(key for key, fld in self.fields if fld.required)
        self.defaults = [(key, fld.load_default) for key, fld in self.fields
                         if not fld.required and fld.load_default is not missing]

    def load_signed(self, payload: Any) -> dict[str, Any]:
        """A payload whose producer signed it, and so built it through its schema: only its shape is
        checked (no field the schema does not declare, every required one present; two set comparisons
        instead of a check per field), and the defaults of absent fields are filled in. Any other
        payload is loaded the checked way (``load``)."""
        if type(payload) is not dict or not (payload.keys() <= self.names and self.required <= payload.keys()):
            return self.load(payload)
        missing_defaults = [(key, default) for key, default in self.defaults if key not in payload]
        if not missing_defaults:
            return payload
        out = dict(payload)
        for key, default in missing_defaults:
            out[key] = default() if callable(default) else default
        return out

    def load(self, payload: Any) -> dict[str, Any]:
        """Return the payload as a consumer sees it (unknown fields dropped, defaults filled)."""
        if not isinstance(payload, dict):
            return self._slow(payload)
        out: dict[str, Any] = {}
        try:
            for key, fld in self.fields:
                if key in payload:
                    value = payload[key]
                    _check_value(fld, value)
                    out[key] = value
                elif fld.required:
                    raise _Unsupported
                elif fld.load_default is not missing:
                    default = fld.load_default
                    out[key] = default() if callable(default) else default
        except _Unsupported:
            return self._slow(payload)
        return out

    def _slow(self, payload: Any) -> dict[str, Any]:
        return dict(self.schema.dump(self.schema.load(payload)))


def check_envelope(raw: Any) -> bool:
    """True when ``raw`` is certainly a valid envelope; False means "ask marshmallow"."""
    if not isinstance(raw, dict):
        return False
    try:
        event_id, type_, version = raw["event_id"], raw["type"], raw["version"]
        occurred_at, producer, actor = raw["occurred_at"], raw["producer"], raw["actor"]
        subject = raw["subject"]
    except KeyError:
        return False
    if not (isinstance(event_id, str) and _UUID_RE.match(event_id)):
        return False
    if not (isinstance(type_, str) and _TYPE_RE.match(type_)):
        return False
    if type(version) is not int or version < 1:
        return False
    if not (isinstance(producer, str) and 0 < len(producer) <= 64):
        return False
    if not (isinstance(actor, str) and 0 < len(actor) <= 200):
        return False
    if not (isinstance(subject, str) and len(subject) <= 500):
        return False
    corr = raw.get("correlation_id")
    if corr is not None and not (isinstance(corr, str) and len(corr) <= 200):
        return False
    if not isinstance(raw.get("payload", {}), dict):
        return False
    if not isinstance(occurred_at, str):
        return False
    try:
        moment = datetime.fromisoformat(occurred_at)
    except ValueError:
        return False
    return moment.tzinfo is not None


def canonical_uuid(value: str) -> str:
    return str(uuid.UUID(value))
