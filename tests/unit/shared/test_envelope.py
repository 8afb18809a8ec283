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


def test_signed_payloads_are_taken_as_they_are_when_their_shape_matches_the_schema():
    raw = make(phone="+100").to_dict()
    (ev,) = load_events([raw], signed_payloads=True)
    assert ev.payload is raw["payload"]  # not rebuilt field by field


def test_signed_payloads_get_the_defaults_of_absent_fields():
    raw = make().to_dict()
    assert "phone" not in raw["payload"]
    (ev,) = load_events([raw], signed_payloads=True)
    assert ev.payload == {"user_id": "u1", "name": "Ann", "email": "ann@example.com", "phone": None}
    assert "phone" not in raw["payload"]  # the envelope itself is left alone


def test_signed_payloads_of_another_shape_are_loaded_the_checked_way():
    raw = make().to_dict()
    raw["payload"]["added_later"] = 2
    (ev,) = load_events([raw], signed_payloads=True)
    assert "added_later" not in ev.payload
    del raw["payload"]["email"]
    with pytest.raises(ValidationError):
        load_events([raw], signed_payloads=True)


def test_signed_payloads_do_not_spare_the_envelope_check():
    raw = make().to_dict() | {"occurred_at": "yesterday"}
    with pytest.raises(ValidationError):
        load_events([raw], signed_payloads=True)
