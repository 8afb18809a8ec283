"""The API reference for people and the event catalogue: ``GET /api/docs`` (Swagger UI from the packaged
``swagger-ui-bundle`` assets, no CDN, pointed at the merged ``/openapi.json``) and ``GET /api/asyncapi.json``
(generated from the event registry, ``shared/events/asyncapi.py``).

The page runs under a strict Content-Security-Policy, no ``'unsafe-inline'`` anywhere: its start-up code is a
static file (``static/docs-init.js``) and its styles the packaged stylesheet; Swagger UI (React) sets element
styles through the DOM, which a CSP does not govern. tests/browser/test_api_docs.py renders it in Chromium.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, jsonify, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from shared.events import asyncapi
from shared.web.errors import NotFound

blp = Blueprint("gateway_reference", __name__)

DOCS = "/api/docs"
OWN_PATHS = frozenset({DOCS, f"{DOCS}/", "/api/asyncapi.json"})
OWN_PREFIXES = (f"{DOCS}/",)
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"})
OWN = frozenset(path.name for path in STATIC.iterdir())  # docs-init.js, docs.css
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>portal API reference</title>
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
  <link rel="stylesheet" href="/api/docs/docs.css">
  <link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
  <main id="swagger-ui"></main>
  <script src="/api/docs/swagger-ui-bundle.js"></script>
  <script src="/api/docs/docs-init.js"></script>
</body>
</html>
"""


def is_own(path: str) -> bool:
    """Paths under /api/ that the gateway answers itself instead of proxying."""
    return path in OWN_PATHS or path.startswith(OWN_PREFIXES)


@blp.get(DOCS)
@blp.get(f"{DOCS}/")
def docs() -> Response:
    resp = Response(PAGE, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = CSP
    return resp


@blp.get(f"{DOCS}/<name>")
def asset(name: str) -> Response:
    if name in OWN:
        resp = send_from_directory(STATIC, name, max_age=3600)
    elif name in ASSETS:
        resp = send_from_directory(swagger_ui_path, name, max_age=86400)
    else:
        raise NotFound("No such file.")
    resp.headers["Cache-Control"] = "public, max-age=3600"
    resp.headers["Content-Security-Policy"] = CSP
    return resp


@blp.get("/api/asyncapi.json")
def asyncapi_document() -> Response:
    return jsonify(asyncapi.document())
