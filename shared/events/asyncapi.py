"""The event catalogue as an AsyncAPI 2.6 document, generated from the registry so it cannot drift.

One channel per routing key (an event's routing key is its type, ``<service>.<entity>.<action>``, on the
``events`` topic exchange); one message per registered (type, version), its payload the envelope with the
version's marshmallow schema as ``payload`` (JSON Schema, converted by apispec's marshmallow plugin).
Each channel names the producing service and the queues bound to it (``x-consumers``, from
``shared/bus/topology.py``). The gateway serves it at ``GET /api/asyncapi.json``;
tests/unit/shared/test_asyncapi.py checks it against the registry.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from shared.bus.topology import QUEUE_BINDINGS, queue_name
from shared.events.envelope import EnvelopeSchema
from shared.events.registry import registered_types


def message_name(type_: str, version: int) -> str:
    return f"{type_}.v{version}"


def consumers(routing_key: str) -> list[str]:
    """The queues whose topic patterns match this routing key."""
    return sorted(queue_name(service) for service, patterns in QUEUE_BINDINGS.items()
                  if any(_topic_matches(p, routing_key) for p in patterns))


def _topic_matches(pattern: str, key: str) -> bool:
    """AMQP topic matching: ``*`` one word, ``#`` zero or more."""
    words, parts = pattern.split("."), key.split(".")

    def match(i: int, j: int) -> bool:
        if i == len(words):
            return j == len(parts)
        if words[i] == "#":
            return any(match(i + 1, k) for k in range(j, len(parts) + 1))
        return j < len(parts) and words[i] in ("*", parts[j]) and match(i + 1, j + 1)

    return match(0, 0)


def _open(schema: Any) -> Any:
    """Consumers must accept fields added later (docs/decisions.md: adding a field is compatible), so the
    document never says ``additionalProperties: false``."""
    if isinstance(schema, dict):
        return {k: _open(v) for k, v in schema.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(schema, list):
        return [_open(v) for v in schema]
    return schema


def _inline(_schema: Any) -> Any:
    """Nested schemas stay inline in their payload (two producers may both nest a ``KeptData``)."""
    return None


@cache
def document(version: str = "1.0") -> dict[str, Any]:
    types = registered_types()
    spec = APISpec("portal events", version, openapi_version="3.1.0",
                   plugins=[MarshmallowPlugin(schema_name_resolver=_inline)])
    spec.components.schema("Envelope", schema=EnvelopeSchema)
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    for type_ in sorted(types):
        refs = []
        for number, cls in sorted(types[type_].items()):
            name = message_name(type_, number)
            spec.components.schema(f"{name}.payload", schema=cls)
            messages[name] = {
                "name": type_,
                "title": f"{type_} version {number}",
                "summary": (cls.__doc__ or "").strip().split("\n")[0] or None,
                "contentType": "application/json",
                "payload": {"allOf": [
                    {"$ref": "#/components/schemas/Envelope"},
                    {"type": "object", "required": ["type", "version", "payload"], "properties": {
                        "type": {"const": type_}, "version": {"const": number},
                        "payload": {"$ref": f"#/components/schemas/{name}.payload"}}},
                ]},
            }
            refs.append({"$ref": f"#/components/messages/{name}"})
        channels[type_] = {
            "description": f"Routing key {type_} on the events topic exchange.",
            "x-producer": type_.split(".", 1)[0],
            "x-consumers": consumers(type_),
            "subscribe": {"operationId": f"on_{type_.replace('.', '_')}",
                          "message": refs[0] if len(refs) == 1 else {"oneOf": refs}},
        }
    schemas = _open(spec.to_dict()["components"]["schemas"])
    return {
        "asyncapi": "2.6.0",
        "info": {"title": "portal events", "version": version,
                 "description": "Every event type and version the services publish, in the one envelope. "
                                "A consumer reads the versions it knows; new fields may appear at any time."},
        "defaultContentType": "application/json",
        "channels": channels,
        "components": {"messages": {k: {key: v for key, v in m.items() if v is not None}
                                    for k, m in messages.items()},
                       "schemas": schemas},
    }
