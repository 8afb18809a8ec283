"""The base of every service's ``create_app``: errors, signed identity, request ids, health, OpenAPI."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import replace

from flask import Flask, Response, current_app, g, jsonify, request
from flask_smorest import Api
from opentelemetry import context as otel_context
from opentelemetry import trace
from werkzeug.exceptions import HTTPException

from shared import metrics, tracing
from shared.identity import Identity
from shared.web import outcomes
from shared.web.errors import (
    ApiError,
    ErrorSchema,
    error_response,
    http_exception_response,
    register_error_handlers,
)
from shared.web.identity import guard_body, verify_headers
from shared.web.nonces import NonceStore, nonce_store
from shared.web.wire import H_REQUEST_ID, RESPONSE_DEFAULTS

log = logging.getLogger("portal.web")

ReadinessCheck = Callable[[], None]
# /metrics is open here because only the service's own listener serves it: the gateway refuses
# /api/<service>/metrics (services/gateway/domain/routing.py).
OPEN_PATHS = ("/healthz", "/readyz", "/openapi.json", "/metrics")
JSON_TYPES = frozenset({"application/json"})


class PortalApi(Api):
    """flask-smorest, with its HTTP errors in the contract's shape, and its documents saying so: each
    operation lists the error statuses its code can answer (``shared/web/outcomes.py``), no ``default``."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # type: ignore[assignment]
    _document: str | None = None

    def handle_http_exception(self, error: HTTPException):  # type: ignore[override]
        return http_exception_response(error)

    def _openapi_json(self):  # type: ignore[no-untyped-def]
        app = current_app
        if self._document is None:  # read once per process: the code does not change while it runs
            spec = outcomes.document(self.spec.to_dict(), app.view_functions, app.url_map.iter_rules(),
                                     "#/components/schemas/Error")
            self._document = json.dumps(spec, indent=2)
        return app.response_class(self._document, mimetype="application/json")


def accepts(*mimetypes: str):
    """Mark a view as taking these request media types instead of JSON (e.g. multipart uploads)."""

    def mark(view):
        view._portal_accepts = frozenset(mimetypes)
        return view

    return mark


def changes_nothing(view):
    """Mark a view that only reads although its method is not a safe one (a POST because what it is given must
    not be in a URL, such as a session token): while Redis is away its signed calls are checked like a safe
    method's (shared/web/nonces.py). A replay of it within seconds returns what the captured answer showed."""
    view._portal_changes_nothing = True
    return view


def create_base_app(
    name: str,
    *,
    secret: bytes | None,
    max_content_length: int,
    readiness: dict[str, ReadinessCheck] | None = None,
    trusted_open_paths: Iterable[str] = (),
    verify_identity: bool = True,
    nonces: NonceStore | None = None,
    metrics_state: Iterable[metrics.StateReader] = (),
) -> tuple[Flask, PortalApi]:
    """``name`` is the service a signed call must have been made for; ``nonces`` records used signatures
    (default: Redis at ``REDIS_URL``, else this process's memory)."""
    app = Flask(name)
    app.config.update(
        API_TITLE=f"portal {name}",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=max_content_length,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    tracing.configure(name)
    api = PortalApi(app)
    register_error_handlers(app)
    open_paths = set(OPEN_PATHS) | set(trusted_open_paths)
    checks = dict(readiness or {})
    used = nonces if nonces is not None else nonce_store(os.environ.get("REDIS_URL"))

    @app.before_request
    def _identity_and_media_type():
        g.metrics_started = time.perf_counter()
        span = tracing.tracer().start_span(f"{request.method} {request.url_rule.rule if request.url_rule else '?'}",
                                           context=tracing.parent_from(request.headers), kind=tracing.SERVER)
        g.trace_token = otel_context.attach(trace.set_span_in_context(span))
        g.trace_span = span
        rid = request.headers.get(H_REQUEST_ID) or str(uuid.uuid4())
        g.request_id = rid[:200]
        if request.path in open_paths:
            g.identity = Identity(request_id=g.request_id)
        elif verify_identity:
            if secret is None:
                raise RuntimeError("verify_identity needs a secret")
            signed = verify_headers(secret, request.headers, request.method, request.path, service=name,
                                    query=request.query_string.decode("latin-1"), nonces=used,
                                    read_only=getattr(app.view_functions.get(request.endpoint or ""),
                                                      "_portal_changes_nothing", False))
            # A caller that sent no X-Request-ID gets the one this response carries, so the events the
            # request emits are correlated with it (never correlation_id=None).
            g.identity = signed if signed.request_id else replace(signed, request_id=g.request_id)
            guard_body(request.environ, request.headers)
        else:
            g.identity = Identity(request_id=g.request_id)
        _check_media_type(app)

    @app.after_request
    def _request_id(resp):
        observe_response(name, resp)
        span = g.get("trace_span")
        if span is not None:
            span.set_attribute("http.response.status_code", resp.status_code)
            span.set_attribute("portal.request_id", g.get("request_id", ""))
        return stamp_response(resp, g.get("request_id", ""))

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", service=name)

    @app.teardown_request
    def _end_span(_exc: BaseException | None = None) -> None:
        span, token = g.pop("trace_span", None), g.pop("trace_token", None)
        if span is not None:
            span.end()
        if token is not None:
            otel_context.detach(token)

    state = list(metrics_state)

    app.add_url_rule("/metrics", "prometheus_metrics", lambda: metrics_response(state))

    @app.get("/readyz")
    def readyz():
        failed = {}
        for check_name, check in checks.items():
            try:
                check()
            except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
                failed[check_name] = type(exc).__name__
        if failed:
            return error_response(503, "not_ready", f"{name} is not ready", {k: [v] for k, v in failed.items()})
        return jsonify(status="ready", service=name, checks=sorted(checks))

    return app, api


def warm_documents(app: Flask) -> None:
    """Build each API's OpenAPI document now (reading the views' code takes seconds on a busy machine),
    so the first ``GET /openapi.json`` (the gateway waits 5 s) is answered at once."""
    apis = (app.extensions.get("flask-smorest") or {}).get("apis") or {}
    for entry in apis.values():
        api = entry.get("ext_obj") if isinstance(entry, dict) else None
        if isinstance(api, PortalApi):
            with app.app_context():
                api._openapi_json()  # noqa: SLF001 - the same code path as the request


def observe_response(service: str, resp: Response) -> None:
    """Count the request being answered (``g.metrics_started`` set when it began) per route and status."""
    started = g.get("metrics_started")
    if started is not None:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe_request(service, request.method, route, resp.status_code, time.perf_counter() - started)


def stamp_response(resp: Response, request_id: str) -> Response:
    """What every answer carries: its request id, and unless the view chose otherwise no caching and no
    sniffing (``shared/web/wire.py``)."""
    resp.headers[H_REQUEST_ID] = request_id
    for name, value in RESPONSE_DEFAULTS:
        resp.headers.setdefault(name, value)
    return resp


def metrics_response(state: Iterable[metrics.StateReader] = ()) -> Response:
    """``GET /metrics`` on a service's own listener (the gateway never routes it: domain/routing.py)."""
    return Response(metrics.exposition(state), mimetype=metrics.CONTENT_TYPE)


def _check_media_type(app: Flask) -> None:
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    has_body = (request.content_length or 0) > 0 or request.headers.get("Transfer-Encoding") == "chunked"
    if not has_body:
        return
    view = app.view_functions.get(request.endpoint or "")
    allowed = getattr(view, "_portal_accepts", JSON_TYPES)
    if request.mimetype not in allowed:
        raise ApiError(f"Send {' or '.join(sorted(allowed))}.", status=415, code="unsupported_media_type")
