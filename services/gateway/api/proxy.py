"""``/api/<service>/<rest>`` -> ``<SERVICE>_URL/<rest>``, every other path (a page) -> ``WEB_URL``:
admit, sign, stream both ways.

A plain WSGI handler in front of the Flask app (which keeps the gateway's own endpoints): every
request through the portal passes here, and Flask's request context, routing and response objects
cost as much CPU as the proxying itself. What it does is the same as a view would: work out the edge
facts, call the use cases (``identify``, ``enforce_session_rules``), answer errors in the contract's
JSON shape, and spool the access event when the response is closed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from urllib3.exceptions import HTTPError
from werkzeug.exceptions import HTTPException
from werkzeug.wsgi import LimitedStream

from services.gateway.adapters.upstream import BLOCK, UpstreamBody, request_chunks, unavailable
from services.gateway.api import reference
from services.gateway.api.context import API_PREFIX, close_access, read_request
from services.gateway.bootstrap import Container
from services.gateway.domain import pages
from services.gateway.domain.edge import EdgeRequest
from services.gateway.domain.routing import (
    PAGES,
    Route,
    forwardable_request_headers,
    forwardable_response_headers,
    resolve_route,
)
from services.gateway.handlers import Caller, enforce_session_rules, identify
from shared import logs, metrics, tracing
from shared.web.errors import DEFAULT_CODES, ApiError, error_body
from shared.web.identity import Identity, sign_headers
from shared.web.wire import H_REQUEST_ID, RESPONSE_DEFAULTS

log = logging.getLogger(__name__)

OWN_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/metrics"})  # the gateway's; every other path is a page
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_NO_BODY_STATUSES = (204, 304)

StartResponse = Callable[..., Any]


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class Proxy:
    """WSGI middleware: ``/api/...`` is proxied here, everything else goes to ``fallback`` (Flask)."""

    def __init__(self, container: Container, fallback: Callable[[dict, StartResponse], Iterable[bytes]]) -> None:
        self.c = container
        self.fallback = fallback
        self.secret = container.settings.common.internal_secret
        self.tracer = tracing.tracer()  # once: looking it up is a provider call per request

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        page = not path.startswith(API_PREFIX)
        if reference.is_own(path) or (page and (path in OWN_PATHS or PAGES not in self.c.upstreams.urls)):
            return self.fallback(environ, start_response)
        req = read_request(self.c, environ)  # the one read of the environ (the body stays a stream)
        correlation = logs.correlation_id.set(req.request_id)  # this request's log lines name it
        span = self.tracer.start_span(f"{req.method} {'page' if page else req.path.split('/', 3)[2]}",
                                           context=tracing.parent_from({"traceparent": req.traceparent}),
                                           kind=tracing.SERVER)
        token = otel_context.attach(trace.set_span_in_context(span))
        traceparent = tracing.traceparent_of(span)  # to the service, and into the access event
        service: str | None = None
        identity: Identity | None = None
        try:
            method = _method(req.method)
            route = Route(PAGES, req.path) if page else _api_route(req.path, self.c.settings.api_services)
            service = route.service
            if req.static:  # neither counted nor bound to a session
                identity = Identity(request_id=req.request_id, client_ip=req.client_ip)
            else:
                caller = _caller(req, method, route)
                identity, session = identify(caller, counters=self.c.counters, sessions=self.c.sessions,
                                             secret=self.secret)
                enforce_session_rules(caller, session)
            status, headers, body, counter = self._forward(environ, req, method, route, identity, traceparent)
        except ApiError as exc:
            status, headers, body, counter = _refusal(req, exc.status, exc.code, exc.message, exc.fields,
                                                      exc.headers)
        except HTTPException as exc:  # e.g. the client went away in the middle of its upload
            code = exc.code or 400
            status, headers, body, counter = _refusal(req, code, DEFAULT_CODES.get(code, "bad_request"),
                                                      exc.description or "")
        except Exception:  # noqa: BLE001 - never a stack trace to the client; the log has it
            log.exception("unhandled error (request %s)", req.request_id)
            status, headers, body, counter = _refusal(req, 500, "internal_error", "Something went wrong on our side.")
        try:
            # Before the first byte goes out: a gateway that dies while serving has recorded it already.
            # Static assets are the exception: versioned, cached for a year, not one event per stylesheet.
            if not req.static:
                close_access(self.c, req, status=status, service=service, identity=identity, traceparent=traceparent,
                             bytes_sent=counter[0] if isinstance(body, list) else _declared(headers))
        except ApiError as exc:  # the spool cannot take it: refuse rather than serve unrecorded
            close = getattr(body, "close", None)
            if close is not None:
                close()
            status, headers, body, counter = _refusal(req, exc.status, exc.code, exc.message, exc.fields,
                                                      exc.headers)
        headers.append((H_REQUEST_ID, req.request_id))
        start_response(_status_line(status), headers)
        metrics.observe_request("gateway", req.method, _route_label(page, service), status,
                                time.perf_counter() - req.started)
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("portal.request_id", req.request_id)
        span.end()
        otel_context.detach(token)
        logs.correlation_id.reset(correlation)
        return body

    def _forward(self, environ: dict, req: EdgeRequest, method: str, route: Route, identity: Identity,
                 traceparent: str | None):
        headers = forwardable_request_headers(req.headers, keep_session_cookie=route.service == "identity")
        if req.page and req.host:
            # The pages compare a form's Origin with the host the browser asked for (the Host header
            # they receive is their own address).
            headers["X-Forwarded-Host"] = req.host
        body, chunked = _request_body(environ, req, headers, self.c.settings.max_body_bytes)
        query = req.query
        # Empty identity headers are left out (verify_headers reads a missing one as empty): an anonymous
        # request then carries four headers fewer, and each costs http.client a validation. The signature
        # covers the query and the body's digest (a body streamed unread: only its length).
        signed_body = body if body is None or isinstance(body, bytes) else None
        headers.update((k, v) for k, v in sign_headers(self.secret, identity, method, route.path,
                                                       service=route.service, query=query,
                                                       body=b"" if body is None else signed_body).items() if v)
        # The client's address travels signed (X-Portal-Client-IP); the scheme tells identity which
        # session cookie to set.
        headers["X-Forwarded-Proto"] = req.scheme
        for name in [k for k in headers if k.lower() == tracing.TRACEPARENT]:  # the client's: ours replaces it
            del headers[name]
        if traceparent:
            headers[tracing.TRACEPARENT] = traceparent
        path_qs = route.url_path() + ("?" + query if query else "")
        upstream = self.c.upstreams.open(route.service, method, path_qs, headers, body, chunked=chunked)
        response_headers = forwardable_response_headers(
            upstream.headers.items(), service=route.service, upstream_base=self.c.upstreams.base_url(route.service),
            connection=upstream.headers.get("Connection"))
        length = upstream.headers.get("Content-Length")
        if method == "HEAD" or upstream.status in _NO_BODY_STATUSES:
            upstream.release_conn()
            return upstream.status, response_headers, [], [0]
        if length is not None and length.isdigit() and int(length) <= BLOCK:
            # Small bodies (the usual JSON answer) in one read: no generator, the connection back at once.
            try:
                data = upstream.read(decode_content=False)
            except HTTPError as exc:  # the service died half-way through its answer
                raise unavailable(f"The {route.service} service is unavailable.") from exc
            finally:
                upstream.release_conn()
            return upstream.status, response_headers, [data], [len(data)]
        counter = [0]
        return upstream.status, response_headers, UpstreamBody(upstream, counter), counter


def _api_route(path: str, services) -> Route:
    service, _, rest = path[len(API_PREFIX):].partition("/")
    return resolve_route(service, rest, services)


def _caller(req: EdgeRequest, method: str, route: Route) -> Caller:
    return Caller(method=method, route=route, client_ip=req.client_ip, request_id=req.request_id,
                  session_token=req.session_token, anonymous_cookie=req.anonymous_cookie, csrf_token=req.csrf_token)


def _refusal(req: EdgeRequest, status: int, code: str, message: str, fields: dict | None = None,
             extra: dict[str, str] | None = None):
    """The gateway's own answer: the contract's JSON on the API, an HTML page (or the policy review
    redirect) on a page path."""
    if not req.page:
        return _error(status, code, message, fields, extra)
    if code == "policy_acceptance_required":
        return pages.policy_review_redirect(req.path, req.query)
    return pages.error_page(status, message, extra)


def _method(method: str) -> str:
    if method not in METHODS:
        raise ApiError("The method is not allowed for the requested URL.", status=405,
                       code="method_not_allowed", headers={"Allow": ", ".join(sorted(METHODS))})
    return method


def _request_body(environ: dict, req: EdgeRequest, headers: dict[str, str], limit: int):
    """(body, chunked): a small body read at once, a large one streamed as the client sends it."""
    stream = environ["wsgi.input"]
    length = req.content_length
    if length:
        if length > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        headers["Content-Length"] = str(length)
        limited = LimitedStream(stream, length)  # never read past this request
        return (limited.read(length) if length <= BLOCK else limited), False
    if req.chunked:
        if not environ.get("wsgi.input_terminated"):
            raise ApiError("Chunked request bodies are not supported here.", status=411, code="length_required")
        return request_chunks(stream, limit, PayloadTooLarge), True
    if req.method in ("POST", "PUT", "PATCH"):
        headers["Content-Length"] = "0"
    return None, False


def _error(status: int, code: str, message: str, fields: dict | None = None,
           extra: dict[str, str] | None = None):
    body = json.dumps(error_body(status, code or DEFAULT_CODES.get(status, "error"), message, fields),
                      separators=(",", ":")).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *RESPONSE_DEFAULTS,
               *(extra or {}).items()]
    return status, headers, [body], [len(body)]


def _declared(headers: list[tuple[str, str]]) -> int | None:
    """The length a streamed body will have, when the service said so."""
    for name, value in headers:
        if name.lower() == "content-length" and value.isdigit():
            return int(value)
    return None


def _route_label(page: bool, service: str | None) -> str:
    """Few label values: the service a request went to (its own routes are the service's figures)."""
    if page:
        return "page"
    return f"/api/{service}" if service else "/api/<unknown>"


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"
