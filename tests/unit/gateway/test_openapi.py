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


def test_every_operation_documents_the_error_statuses_in_the_contract_shape():
    doc = merge({"identity": service_doc("User")}, [])
    post = doc["paths"]["/api/identity/users"]["post"]["responses"]
    assert {"400", "401", "403", "413", "414", "415", "422", "428", "429", "502", "503", "504"} <= set(post)
    assert "404" not in post  # no path parameter: nothing to be not found
    assert "default" not in post  # every status is named: one the document does not name is a finding
    for status, response in post.items():
        name = response["$ref"].rsplit("/", 1)[1]
        schema = doc["components"]["responses"][name]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}, status
    assert doc["components"]["schemas"]["Error"]["properties"]["error"]["required"] == ["code", "message", "fields"]


def test_path_parameters_add_404_and_a_query_adds_422():
    item = {"parameters": [{"in": "path", "name": "user_id", "required": True, "schema": {"type": "string"}}],
            "get": {"parameters": [{"in": "query", "name": "q", "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "ok"}}}}
    doc = merge({"identity": {"paths": {"/users/{user_id}": item}}}, [])
    responses = doc["paths"]["/api/identity/users/{user_id}"]["get"]["responses"]
    assert {"200", "404", "422"} <= set(responses) and "default" not in responses
    assert "413" not in responses and "415" not in responses
    assert list(responses) == sorted(responses)
