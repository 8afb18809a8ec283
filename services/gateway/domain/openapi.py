"""One OpenAPI document for the whole portal, from each service's own.

Paths get their public prefix ``/api/<service>``; component names get the service as a prefix (two
services may both have a ``User`` schema) and every ``$ref`` follows; internal and health paths are
left out because the gateway never routes them.

Every operation lists the error statuses the layers in front of its view can answer (the gateway's rate
limit, session rules and upstream failures; the services' identity check and request parsing), each
with the contract's error shape; the statuses only the use case knows (409, 410, ...) come from the
service's own document (``shared/web/outcomes.py``). No operation has a ``default``: a status the document
does not name is a finding.
tests/e2e/test_openapi_conformance.py runs Schemathesis against this document.
"""

from __future__ import annotations

from typing import Any

_HIDDEN = ("/healthz", "/readyz", "/openapi.json")
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# status -> (component name, description); every one answers the Error schema.
ERROR_RESPONSES: dict[str, tuple[str, str]] = {
    "400": ("BadRequest", "malformed request (e.g. the body is not JSON): bad_request, malformed_json"),
    "401": ("NotAuthenticated", "no valid session for a route that needs one: not_authenticated"),
    "403": ("Forbidden", "not allowed for this account, or a state change without the session's "
                         "X-CSRF-Token: forbidden, csrf_failed"),
    "404": ("NotFound", "no such resource (or not visible to this caller): not_found"),
    "413": ("PayloadTooLarge", "the request body is larger than allowed: payload_too_large"),
    "414": ("UriTooLong", "the request line is longer than the server reads: uri_too_long"),
    "415": ("UnsupportedMediaType", "the body is not in a media type this route takes: unsupported_media_type"),
    "422": ("ValidationError", "some fields are invalid; fields names them: validation_error"),
    "428": ("PreconditionRequired", "the current privacy policy must be accepted first: "
                                    "policy_acceptance_required"),
    "429": ("RateLimited", "too many requests from this address or account; see Retry-After: rate_limited"),
    "502": ("BadGateway", "the service answered something the gateway could not pass on: bad_gateway"),
    "503": ("ServiceUnavailable", "the service is down or not ready: service_unavailable"),
    "504": ("GatewayTimeout", "the service did not answer in time: gateway_timeout"),
}
# Any operation: the gateway counts, identifies and forwards every request, and every service checks the
# caller before its view runs.
_ALWAYS = ("401", "403", "414", "428", "429", "502", "503", "504")
_WITH_BODY = ("400", "413", "415", "422")

GATEWAY_PATHS: dict[str, Any] = {
    "/healthz": {"get": {"tags": ["gateway"], "summary": "The gateway is alive",
                         "responses": {"200": {"description": "alive"}}}},
    "/readyz": {"get": {"tags": ["gateway"], "summary": "The gateway and every service are ready",
                        "responses": {"200": {"description": "ready"},
                                      "503": {"description": "a dependency is not ready",
                                              "content": {"application/json": {"schema": _ERROR_REF}}}}}},
    "/openapi.json": {"get": {"tags": ["gateway"], "summary": "This document",
                              "responses": {"200": {"description": "the merged OpenAPI document",
                                                    "content": {"application/json": {}}}}}},
    "/api/docs": {"get": {"tags": ["gateway"], "summary": "This document for people (Swagger UI)",
                          "responses": {"200": {"description": "the page", "content": {"text/html": {}}}}}},
    "/api/asyncapi.json": {"get": {"tags": ["gateway"], "summary": "The event catalogue (AsyncAPI 2.6)",
                                   "responses": {"200": {"description": "every event type and version",
                                                         "content": {"application/json": {}}}}}},
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
    components: dict[str, dict[str, Any]] = {
        "schemas": {"Error": ERROR_SCHEMA},
        "responses": {name: {"description": text, "content": {"application/json": {"schema": _ERROR_REF}}}
                      for name, text in ERROR_RESPONSES.values()},
    }
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
            paths[f"/api/{service}{path}"] = document_errors(_retag(_rewrite_refs(item, service), service))
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


def document_errors(item: Any) -> Any:
    """Add the error statuses every layer in front of the view can answer (see the module doc)."""
    if not isinstance(item, dict):
        return item
    shared_params = item.get("parameters") or []
    for method in _METHODS:
        operation = item.get(method)
        if not isinstance(operation, dict):
            continue
        params = [*shared_params, *(operation.get("parameters") or [])]
        statuses = list(_ALWAYS)
        if any(isinstance(p, dict) and p.get("in") == "path" for p in params):
            statuses.append("404")
        if "requestBody" in operation:
            statuses += _WITH_BODY
        elif any(isinstance(p, dict) and p.get("in") == "query" for p in params):
            statuses += ("400", "422")
        responses = operation.setdefault("responses", {})
        for status in sorted(statuses):
            name, _text = ERROR_RESPONSES[status]
            responses.setdefault(status, {"$ref": f"#/components/responses/{name}"})
        responses.pop("default", None)  # a service of an older version may still send one
        operation["responses"] = dict(sorted(responses.items()))
    return item


def _retag(item: Any, service: str) -> Any:
    if not isinstance(item, dict):
        return item
    for operation in item.values():
        if isinstance(operation, dict):
            operation["tags"] = [f"{service}/{t}" for t in operation.get("tags") or []] or [service]
    return item
