"""One OpenAPI document for the whole portal, from each service's own.

Paths get their public prefix ``/api/<service>``; component names get the service as a prefix (two
services may both have a ``User`` schema) and every ``$ref`` follows; internal and health paths are
left out because the gateway never routes them.
"""

from __future__ import annotations

from typing import Any

_HIDDEN = ("/healthz", "/readyz", "/openapi.json")
_ERROR_REF = {"$ref": "#/components/schemas/Error"}

GATEWAY_PATHS: dict[str, Any] = {
    "/healthz": {"get": {"tags": ["gateway"], "summary": "The gateway is alive",
                         "responses": {"200": {"description": "alive"}}}},
    "/readyz": {"get": {"tags": ["gateway"], "summary": "The gateway and every service are ready",
                        "responses": {"200": {"description": "ready"},
                                      "503": {"description": "a dependency is not ready",
                                              "content": {"application/json": {"schema": _ERROR_REF}}}}}},
    "/openapi.json": {"get": {"tags": ["gateway"], "summary": "This document",
                              "responses": {"200": {"description": "the merged OpenAPI document"}}}},
}

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    }, "required": ["code", "message", "fields"]}},
    "required": ["error"],
}


def merge(docs: dict[str, dict[str, Any]], unavailable: list[str], version: str = "1.0") -> dict[str, Any]:
    paths: dict[str, Any] = dict(GATEWAY_PATHS)
    components: dict[str, dict[str, Any]] = {"schemas": {"Error": ERROR_SCHEMA}}
    tags: list[dict[str, Any]] = [{"name": "gateway", "description": "The gateway's own endpoints"}]
    for service in sorted(docs):
        doc = docs[service]
        for kind, items in (doc.get("components") or {}).items():
            if isinstance(items, dict):
                target = components.setdefault(kind, {})
                for name, value in items.items():
                    target[f"{service}.{name}"] = _rewrite_refs(value, service)
        for tag in doc.get("tags") or []:
            if isinstance(tag, dict) and "name" in tag:
                tags.append({**tag, "name": f"{service}/{tag['name']}"})
        for path, item in (doc.get("paths") or {}).items():
            if path in _HIDDEN or path == "/internal" or path.startswith("/internal/"):
                continue
            paths[f"/api/{service}{path}"] = _retag(_rewrite_refs(item, service), service)
    merged: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "portal", "version": version,
                 "description": "Every service's API as served by the gateway under /api/<service>."},
        "paths": dict(sorted(paths.items())),
        "components": components,
        "tags": tags,
    }
    if unavailable:
        merged["x-unavailable-services"] = sorted(unavailable)
    return merged


def _rewrite_refs(value: Any, service: str) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and item.startswith("#/components/"):
                kind, _, name = item[len("#/components/"):].partition("/")
                out[key] = f"#/components/{kind}/{service}.{name}"
            else:
                out[key] = _rewrite_refs(item, service)
        return out
    if isinstance(value, list):
        return [_rewrite_refs(item, service) for item in value]
    return value


def _retag(item: Any, service: str) -> Any:
    if not isinstance(item, dict):
        return item
    for operation in item.values():
        if isinstance(operation, dict):
            operation["tags"] = [f"{service}/{t}" for t in operation.get("tags") or []] or [service]
    return item
