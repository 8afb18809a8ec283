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
from werkzeug.http import parse_cookie
from werkzeug.wsgi import LimitedStream

from services.gateway.adapters.upstream import BLOCK, UpstreamBody, request_chunks, unavailable
from services.gateway.api import reference
from services.gateway.api.context import Edge, new_access, read_edge, spool_access
from services.gateway.bootstrap import Container
from services.gateway.domain import pages
from services.gateway.domain.routing import (
    PAGES,
    Route,
    environ_headers,
    forwardable_request_headers,
    forwardable_response_headers,
    resolve_route,
)
from services.gateway.handlers import Access, Caller, enforce_session_rules, identify
from shared import logs, metrics, tracing
from shared.web.errors import DEFAULT_CODES, ApiError, error_body
from shared.web.identity import ANON_COOKIE, Identity, host_cookie, sign_headers

log = logging.getLogger(__name__)

PREFIX = "/api/"
OWN_PATHS = frozenset({"/healthz", "/readyz", "/openapi.json", "/metrics"})  # the gateway's; every other path is a page
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_NO_BODY_STATUSES = (204, 304)
_OWN_HEADERS = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]

StartResponse = Callable[..., Any]


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class Proxy:
    """WSGI middleware: ``/api/...`` is proxied here, everything else goes to ``fallback`` (Flask)."""

    def __init__(self, container: Container, fallback: Callable[[dict, StartResponse], Iterable[bytes]]) -> None:
        self.c = container
        self.fallback = fallback
        self.secret = container.settings.common.internal_secret

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        page = not path.startswith(PREFIX)
        if reference.is_own(path) or (page and (path in OWN_PATHS or PAGES not in self.c.upstreams.urls)):
            return self.fallback(environ, start_response)
        edge = read_edge(self.c, environ)
        correlation = logs.correlation_id.set(edge.request_id)  # this request's log lines name it
        access = new_access(edge, environ)
        static = page and pages.is_static(access.path)
        span = tracing.tracer().start_span(f"{access.method} {'page' if page else access.path.split('/', 3)[2]}",
                                           context=tracing.parent_from({"traceparent": environ.get(
                                               "HTTP_TRACEPARENT", "")}), kind=tracing.SERVER)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            if page:
                status, headers, body, counter = self._page(environ, edge, access, static)
            else:
                status, headers, body, counter = self._proxy(environ, edge, access)
        except ApiError as exc:
            status, headers, body, counter = self._refusal(page, access, exc.status, exc.code, exc.message,
                                                           exc.fields, exc.headers)
        except HTTPException as exc:  # e.g. the client went away in the middle of its upload
            code = exc.code or 400
            status, headers, body, counter = self._refusal(page, access, code, DEFAULT_CODES.get(code, "bad_request"),
                                                           exc.description or "")
        except Exception:  # noqa: BLE001 - never a stack trace to the client; the log has it
            log.exception("unhandled error (request %s)", edge.request_id)
            status, headers, body, counter = self._refusal(page, access, 500, "internal_error",
                                                           "Something went wrong on our side.")
        access.status = status
        try:
            # Before the first byte goes out: a gateway that dies while serving has recorded it already.
            # Static assets are the exception: versioned, cached for a year, not one event per stylesheet.
            if not static:
                spool_access(self.c, access, edge.started,
                             counter[0] if isinstance(body, list) else _declared(headers))
        except ApiError as exc:  # the spool cannot take it: refuse rather than serve unrecorded
            close = getattr(body, "close", None)
            if close is not None:
                close()
            status, headers, body, counter = self._refusal(page, access, exc.status, exc.code, exc.message,
                                                           exc.fields, exc.headers)
        headers.append(("X-Request-ID", edge.request_id))
        start_response(_status_line(status), headers)
        metrics.observe_request("gateway", access.method, _route_label(page, access), status,
                                time.perf_counter() - edge.started)
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("portal.request_id", edge.request_id)
        span.end()
        otel_context.detach(token)
        logs.correlation_id.reset(correlation)
        return body

    @staticmethod
    def _refusal(page: bool, access: Access, status: int, code: str, message: str,
                 fields: dict | None = None, extra: dict[str, str] | None = None):
        """The gateway's own answer: the contract's JSON on the API, an HTML page (or the policy
        review redirect) on a page path."""
        if not page:
            return _error(status, code, message, fields, extra)
        if code == "policy_acceptance_required":
            return pages.policy_review_redirect(access.path, access.query)
        return pages.error_page(status, message, extra)

    def _caller(self, environ: dict, edge: Edge, method: str, route: Route) -> Caller:
        cookies = parse_cookie(environ)
        https = edge.scheme == "https"
        return Caller(
            method=method, route=route, client_ip=edge.client_ip, request_id=edge.request_id,
            session_token=cookies.get(host_cookie("portal_session", https)),
            anonymous_cookie=cookies.get(host_cookie(ANON_COOKIE, https)), csrf_token=environ.get("HTTP_X_CSRF_TOKEN"),
        )

    def _proxy(self, environ: dict, edge: Edge, access: Access):
        method = _method(environ)
        service, _, rest = access.path[len(PREFIX):].partition("/")
        route = resolve_route(service, rest, self.c.settings.api_services)
        access.service = service
        caller = self._caller(environ, edge, method, route)
        identity, session = identify(caller, counters=self.c.counters, sessions=self.c.sessions,
                                     secret=self.secret)
        access.identity = identity
        enforce_session_rules(caller, session)
        return self._forward(environ, method, route, identity, edge, environ_headers(environ))

    def _page(self, environ: dict, edge: Edge, access: Access, static: bool):
        """A page path goes to the pages service like an API call goes to its service (same session,
        limits, policy gate, signed identity), except: the pages check their own form token, and the
        static assets are neither counted nor bound to a session."""
        method = _method(environ)
        route = Route(PAGES, access.path)
        access.service = PAGES
        if static:
            identity = Identity(request_id=edge.request_id, client_ip=edge.client_ip)
        else:
            caller = self._caller(environ, edge, method, route)
            identity, session = identify(caller, counters=self.c.counters, sessions=self.c.sessions,
                                         secret=self.secret)
            access.identity = identity
            enforce_session_rules(caller, session)
        return self._forward(environ, method, route, identity, edge, environ_headers(environ),
                             forwarded_host=environ.get("HTTP_HOST", ""))

    def _forward(self, environ: dict, method: str, route: Route, identity: Identity, edge: Edge, pairs,
                 forwarded_host: str = ""):
        headers = forwardable_request_headers(pairs, keep_session_cookie=route.service == "identity")
        if forwarded_host:
            # The pages compare a form's Origin with the host the browser asked for (the Host header
            # they receive is their own address).
            headers["X-Forwarded-Host"] = forwarded_host
        body, chunked = _request_body(environ, method, headers, self.c.settings.max_body_bytes)
        query = environ.get("QUERY_STRING") or ""
        # Empty identity headers are left out (verify_headers reads a missing one as empty): an anonymous
        # request then carries four headers fewer, and each costs http.client a validation. The signature
        # covers the query and the body's digest (a body streamed unread: only its length).
        signed_body = body if body is None or isinstance(body, bytes) else None
        headers.update((k, v) for k, v in sign_headers(self.secret, identity, method, route.path,
                                                       service=route.service, query=query,
                                                       body=b"" if body is None else signed_body).items() if v)
        # The client's address travels signed (X-Portal-Client-IP); the scheme tells identity which
        # session cookie to set.
        headers["X-Forwarded-Proto"] = edge.scheme
        for name in [k for k in headers if k.lower() == tracing.TRACEPARENT]:  # the client's: ours replaces it
            del headers[name]
        traceparent = tracing.current_traceparent()
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


def _method(environ: dict) -> str:
    method = environ.get("REQUEST_METHOD", "GET")
    if method not in METHODS:
        raise ApiError("The method is not allowed for the requested URL.", status=405,
                       code="method_not_allowed", headers={"Allow": ", ".join(sorted(METHODS))})
    return method


def _request_body(environ: dict, method: str, headers: dict[str, str], limit: int):
    """(body, chunked): a small body read at once, a large one streamed as the client sends it."""
    stream = environ["wsgi.input"]
    raw_length = environ.get("CONTENT_LENGTH") or ""
    length = int(raw_length) if raw_length.isdigit() else 0
    if length:
        if length > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        headers["Content-Length"] = str(length)
        limited = LimitedStream(stream, length)  # never read past this request
        return (limited.read(length) if length <= BLOCK else limited), False
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        if not environ.get("wsgi.input_terminated"):
            raise ApiError("Chunked request bodies are not supported here.", status=411, code="length_required")
        return request_chunks(stream, limit, PayloadTooLarge), True
    if method in ("POST", "PUT", "PATCH"):
        headers["Content-Length"] = "0"
    return None, False


def _error(status: int, code: str, message: str, fields: dict | None = None,
           extra: dict[str, str] | None = None):
    body = json.dumps(error_body(status, code or DEFAULT_CODES.get(status, "error"), message, fields),
                      separators=(",", ":")).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *_OWN_HEADERS,
               *(extra or {}).items()]
    return status, headers, [body], [len(body)]


def _declared(headers: list[tuple[str, str]]) -> int | None:
    """The length a streamed body will have, when the service said so."""
    for name, value in headers:
        if name.lower() == "content-length" and value.isdigit():
            return int(value)
    return None


def _route_label(page: bool, access: Access) -> str:
    """Few label values: the service a request went to (its own routes are the service's figures)."""
    if page:
        return "page"
    return f"/api/{access.service}" if access.service else "/api/<unknown>"


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"
