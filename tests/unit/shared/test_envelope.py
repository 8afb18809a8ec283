import uuid

import pytest
from marshmallow import ValidationError

from shared.events import load_events, new_event


def make(**payload):
    base = {"user_id": "u1", "name": "Ann", "email": "ann@example.com"}
    base.update(payload)
    return new_event("identity.user.registered", producer="identity", actor="system", subject="user:u1",
                     payload=base, correlation_id="req-1")


def test_new_event_fills_the_envelope():
    ev = make()
    assert uuid.UUID(ev.event_id)
    assert ev.version == 1 and ev.producer == "identity" and ev.correlation_id == "req-1"
    assert ev.occurred_at.endswith("+00:00")


def test_new_event_rejects_an_invalid_payload():
    with pytest.raises(ValueError, match="invalid payload"):
        new_event("identity.user.registered", producer="identity", actor="system", subject="x",
                  payload={"name": "no id"})


def test_consumers_ignore_unknown_fields_in_envelope_and_payload():
    raw = make().to_dict()
    raw["added_later"] = 1
    raw["payload"]["added_later"] = 2
    (ev,) = load_events([raw])
    assert "added_later" not in ev.payload
    assert ev.payload["email"] == "ann@example.com"


def test_unknown_types_keep_their_payload():
    raw = make().to_dict() | {"type": "future.thing.happened", "payload": {"x": 1}}
    (ev,) = load_events([raw])
    assert ev.payload == {"x": 1}


@pytest.mark.parametrize("broken", [
    {"event_id": "not-a-uuid"},
    {"type": "Bad Type"},
    {"occurred_at": "yesterday"},
    {"version": 0},
])
def test_malformed_envelopes_are_rejected(broken):
    raw = make().to_dict() | broken
    with pytest.raises(ValidationError):
        load_events([raw])


def test_missing_required_payload_field_is_rejected():
    raw = make().to_dict()
    del raw["payload"]["email"]
    with pytest.raises(ValidationError):
        load_events([raw])
