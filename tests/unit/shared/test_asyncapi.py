"""The AsyncAPI document says exactly what the event registry holds (so it cannot drift), and which queues
receive each routing key."""

from __future__ import annotations

import jsonschema
from marshmallow import fields

from shared.bus.topology import QUEUE_BINDINGS
from shared.events import asyncapi, new_event
from shared.events.registry import registered_types


def resolve(doc: dict, ref: str) -> dict:
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_one_channel_per_routing_key_and_one_message_per_type_and_version():
    doc = asyncapi.document()
    types = registered_types()
    assert doc["asyncapi"] == "2.6.0"
    assert set(doc["channels"]) == set(types)
    expected = {asyncapi.message_name(t, v) for t, versions in types.items() for v in versions}
    assert set(doc["components"]["messages"]) == expected
    for type_, channel in doc["channels"].items():
        message = channel["subscribe"]["message"]
        refs = [m["$ref"] for m in message.get("oneOf", [message])]
        assert sorted(refs) == sorted(f"#/components/messages/{asyncapi.message_name(type_, v)}"
                                      for v in types[type_])
        assert channel["x-producer"] == type_.split(".")[0]


def test_payload_schemas_follow_the_marshmallow_schemas():
    doc = asyncapi.document()
    for type_, versions in registered_types().items():
        for version, cls in versions.items():
            payload = doc["components"]["schemas"][f"{asyncapi.message_name(type_, version)}.payload"]
            declared = cls().fields.values()
            assert set(payload.get("properties", {})) == {f.data_key or f.name for f in declared}, type_
            required = {f.data_key or f.name for f in declared if f.required}
            assert set(payload.get("required", [])) == required, type_
            for f in declared:
                if isinstance(f, fields.String) and not f.allow_none:
                    assert payload["properties"][f.data_key or f.name]["type"] == "string"
            assert payload.get("additionalProperties") is not False  # new fields are compatible


def test_a_real_event_validates_against_its_message():
    doc = asyncapi.document()
    event = new_event("linking.member.added", producer="linking", actor="user:u1", subject="company:c1",
                      payload={"company_id": "c1", "user_id": "u1", "role": "member"}).to_dict()
    message = doc["components"]["messages"][asyncapi.message_name("linking.member.added", event["version"])]
    schema = {**message["payload"], "components": doc["components"]}
    jsonschema.validate(event, schema, cls=jsonschema.Draft202012Validator)
    bad = {**event, "payload": {"company_id": "c1"}}
    try:
        jsonschema.validate(bad, schema, cls=jsonschema.Draft202012Validator)
    except jsonschema.ValidationError as exc:
        assert "user_id" in exc.message or "role" in exc.message
    else:
        raise AssertionError("a payload without its required fields must not validate")


def test_consumers_are_the_queues_bound_to_the_routing_key():
    assert asyncapi.consumers("linking.member.added") == ["events.audit", "events.content"]
    assert asyncapi.consumers("gateway.request.completed") == ["events.audit"]
    assert asyncapi._topic_matches("a.#.c", "a.c") and not asyncapi._topic_matches("a.*", "a.b.c")
    assert set(QUEUE_BINDINGS) >= {q.removeprefix("events.") for q in asyncapi.consumers("identity.user.registered")}
