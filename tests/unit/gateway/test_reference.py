"""``/api/docs`` (Swagger UI from packaged assets, strict CSP) and ``/api/asyncapi.json``, served by the gateway
itself rather than proxied."""

from __future__ import annotations

import re

from shared.events import asyncapi


def test_docs_page_loads_only_its_own_files_under_a_strict_csp(gateway):
    client, _ = gateway()
    resp = client.get("/api/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    csp = dict(part.strip().split(" ", 1) for part in resp.headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'" and csp["default-src"] == "'none'"
    page = resp.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "no inline script"
    assert not re.search(r"<style|\sstyle=", page), "no inline style"
    assert "//" not in "".join(re.findall(r'(?:src|href)="([^"]+)"', page)), "no CDN: every asset is ours"
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page):
        with client.get(ref) as asset:
            assert asset.status_code == 200, ref
            assert len(asset.get_data()) > 0
    with client.get("/api/docs/docs-init.js") as init:
        assert init.mimetype in ("text/javascript", "application/javascript")
        assert '"/openapi.json"' in init.get_data(as_text=True)
    with client.get("/api/docs/swagger-ui-bundle.js") as bundle:
        assert len(bundle.get_data()) > 500_000  # the real bundle


def test_unknown_docs_files_are_404_in_the_contract_shape(gateway):
    client, _ = gateway()
    resp = client.get("/api/docs/../../etc/passwd")
    assert resp.status_code == 404
    resp = client.get("/api/docs/index.html")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_asyncapi_document_is_served_by_the_gateway(gateway):
    client, _ = gateway()
    resp = client.get("/api/asyncapi.json")
    assert resp.status_code == 200
    assert resp.get_json() == asyncapi.document()


def test_the_merged_openapi_lists_the_gateways_own_documents(gateway):
    client, _ = gateway()
    paths = client.get("/openapi.json").get_json()["paths"]
    assert paths["/api/docs"]["get"]["responses"]["200"]["content"] == {"text/html": {}}
    assert "/api/asyncapi.json" in paths
