"""The consumer's fast path gives exactly what marshmallow gives, and defers to it when unsure."""

import pytest
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared.events import new_event
from shared.events.fastcheck import CompiledPayload, check_envelope


class Payload(Schema):
    name = fields.String(required=True, validate=validate.Length(max=5))
    count = fields.Integer(load_default=0)
    ratio = fields.Float(allow_none=True, load_default=None)
    tags = fields.List(fields.String(), load_default=list)
    flag = fields.Boolean()


SCHEMA = Payload(unknown=EXCLUDE)
FAST = CompiledPayload(SCHEMA)


def slow(payload):
    return dict(SCHEMA.dump(SCHEMA.load(payload)))


@pytest.mark.parametrize("payload", [
    {"name": "a"},
    {"name": "a", "count": 3, "ratio": 1, "tags": ["x"], "flag": True, "extra": 1},
    {"name": "a", "count": "3"},          # coercible: marshmallow decides
    {"name": "a", "ratio": None},
    {"name": "a", "ratio": 3},             # an int for a Float becomes 3.0, as marshmallow does
])
def test_same_result_as_marshmallow(payload):
    assert FAST.load(payload) == slow(payload)


@pytest.mark.parametrize("payload", [
    {},                                    # required missing
    {"name": "toolong"},                   # validator
    {"name": 5},                           # wrong type
    {"name": "a", "tags": [1]},            # wrong item type
    {"name": "a", "count": None},          # None not allowed
    {"name": "a", "count": True},          # a bool is not an Integer
    {"name": "a", "ratio": True},          # nor a Float
    ["not", "a", "dict"],
])
def test_invalid_payloads_raise_like_marshmallow(payload):
    with pytest.raises(ValidationError):
        slow(payload)
    with pytest.raises(ValidationError):
        FAST.load(payload)


def test_same_types_as_marshmallow_for_floats():
    assert type(FAST.load({"name": "a", "ratio": 3})["ratio"]) is float


def test_envelope_check_accepts_real_events_and_refuses_doubtful_ones():
    raw = new_event("identity.session.ended", producer="identity", actor="u1", subject="user:u1",
                    payload={"user_id": "u1", "session_id": "s1", "reason": "logout"}).to_dict()
    assert check_envelope(raw)
    for broken in ({"event_id": raw["event_id"].upper()}, {"version": True}, {"occurred_at": "2026-01-01T00:00:00"},
                   {"actor": ""}, {"payload": []}, {"type": "Nope"}):
        assert not check_envelope(raw | broken)
    assert not check_envelope([raw])
