"""The merged OpenAPI document."""

from __future__ import annotations

from services.gateway.domain.openapi import merge


def service_doc(schema_name: str) -> dict:
    return {
        "openapi": "3.0.3",
        "tags": [{"name": "users"}],
        "paths": {
            "/users": {"post": {"tags": ["users"], "requestBody": {"content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}, "responses": {}}},
            "/internal/sessions/resolve": {"post": {"responses": {}}},
            "/healthz": {"get": {"responses": {}}},
        },
        "components": {"schemas": {schema_name: {"type": "object", "properties": {
            "self": {"$ref": f"#/components/schemas/{schema_name}"}}}}},
    }


def test_paths_are_prefixed_internal_and_health_left_out():
    doc = merge({"identity": service_doc("User"), "content": service_doc("User")}, ["audit"])
    assert "/api/identity/users" in doc["paths"] and "/api/content/users" in doc["paths"]
    assert not any("internal" in p for p in doc["paths"])
    assert not any(p.endswith("/healthz") and p.startswith("/api/") for p in doc["paths"])
    assert {"/healthz", "/readyz", "/openapi.json"} <= set(doc["paths"])
    assert doc["x-unavailable-services"] == ["audit"]


def test_components_are_namespaced_and_refs_follow():
    doc = merge({"identity": service_doc("User"), "content": service_doc("User")}, [])
    schemas = doc["components"]["schemas"]
    assert {"identity.User", "content.User", "Error"} <= set(schemas)
    op = doc["paths"]["/api/content/users"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/content.User")
    assert schemas["identity.User"]["properties"]["self"]["$ref"] == "#/components/schemas/identity.User"
    assert op["tags"] == ["content/users"]
    assert "x-unavailable-services" not in doc
