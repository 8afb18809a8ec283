"""``/api/<service>/<rest>`` -> ``<SERVICE>_URL/<rest>``: admit, sign, stream both ways.

A plain WSGI handler in front of the Flask app (which keeps the gateway's own endpoints): every
request through the portal passes here, and Flask's request context, routing and response objects
cost as much CPU as the proxying itself. What it does is the same as a view would: work out the edge
facts, call the use cases (``identify``, ``enforce_session_rules``), answer errors in the contract's
JSON shape, and spool the access event when the response is closed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any

from urllib3.exceptions import HTTPError
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_cookie
from werkzeug.wsgi import LimitedStream

from services.gateway.adapters.upstream import BLOCK, request_chunks, stream_body, unavailable
from services.gateway.api.context import Edge, new_access, read_edge, spool_access
from services.gateway.bootstrap import Container
from services.gateway.domain.routing import (
    Route,
    environ_headers,
    forwardable_request_headers,
    forwardable_response_headers,
    resolve_route,
)
from services.gateway.handlers import Access, Caller, enforce_session_rules, identify
from shared.web.errors import DEFAULT_CODES, ApiError, error_body
from shared.web.identity import ANON_COOKIE, Identity, host_cookie, sign_headers

log = logging.getLogger(__name__)

PREFIX = "/api/"
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
        if not environ.get("PATH_INFO", "").startswith(PREFIX):
            return self.fallback(environ, start_response)
        edge = read_edge(self.c, environ)
        access = new_access(edge, environ)
        try:
            status, headers, body, counter = self._proxy(environ, edge, access)
        except ApiError as exc:
            status, headers, body, counter = _error(exc.status, exc.code, exc.message, exc.fields, exc.headers)
        except HTTPException as exc:  # e.g. the client went away in the middle of its upload
            code = exc.code or 400
            status, headers, body, counter = _error(code, DEFAULT_CODES.get(code, "bad_request"),
                                                    exc.description or "")
        except Exception:  # noqa: BLE001 - never a stack trace to the client; the log has it
            log.exception("unhandled error (request %s)", edge.request_id)
            status, headers, body, counter = _error(500, "internal_error", "Something went wrong on our side.")
        access.status = status
        headers.append(("X-Request-ID", edge.request_id))
        start_response(_status_line(status), headers)
        return _Closing(body, counter, lambda sent: spool_access(self.c, access, edge.started, sent))

    def _proxy(self, environ: dict, edge: Edge, access: Access):
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in METHODS:
            raise ApiError("The method is not allowed for the requested URL.", status=405,
                           code="method_not_allowed", headers={"Allow": ", ".join(sorted(METHODS))})
        service, _, rest = access.path[len(PREFIX):].partition("/")
        route = resolve_route(service, rest, self.c.upstreams.urls)
        access.service = service
        cookies = parse_cookie(environ)
        pairs = environ_headers(environ)
        https = edge.scheme == "https"
        caller = Caller(
            method=method, route=route, client_ip=edge.client_ip, request_id=edge.request_id,
            session_token=cookies.get(host_cookie("portal_session", https)),
            anonymous_cookie=cookies.get(host_cookie(ANON_COOKIE, https)), csrf_token=environ.get("HTTP_X_CSRF_TOKEN"),
        )
        identity, session = identify(caller, counters=self.c.counters, sessions=self.c.sessions,
                                     secret=self.secret)
        access.identity = identity
        enforce_session_rules(caller, session)
        return self._forward(environ, method, route, identity, edge, pairs)

    def _forward(self, environ: dict, method: str, route: Route, identity: Identity, edge: Edge, pairs):
        headers = forwardable_request_headers(pairs, keep_session_cookie=route.service == "identity")
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
        return upstream.status, response_headers, stream_body(upstream, counter), counter


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


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


class _Closing:
    """The response body; on close (after the last byte went out) the access event is spooled."""

    def __init__(self, body: Iterable[bytes], counter: list[int], on_close: Callable[[int], None]) -> None:
        self.body = body
        self.counter = counter
        self.on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.on_close(self.counter[0])
