"""The gateway's edge: the one read of a request's WSGI environ (``read_request``: client address, scheme,
request id, cookies, the headers that cross) and its access event at the close (``close_access``); the
Flask hooks of the gateway's own endpoints."""

from __future__ import annotations

import logging
import time
import uuid

from flask import Response, g, request
from werkzeug.datastructures import EnvironHeaders
from werkzeug.http import parse_cookie

from services.gateway.bootstrap import Container
from services.gateway.domain import pages, trust
from services.gateway.domain.edge import EdgeRequest
from services.gateway.domain.routing import environ_headers
from services.gateway.handlers import Access, record_access
from shared.identity import Identity
from shared.web.app import observe_response, stamp_response
from shared.web.errors import ApiError, error_response
from shared.web.identity import H_SIGNATURE, verify_headers
from shared.web.wire import ANON_COOKIE, SESSION_COOKIE, host_cookie

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
UNLOGGED_PATHS = frozenset({"/healthz", "/readyz"})  # probes every few seconds are not accesses
_SIGNATURE_KEY = "HTTP_" + H_SIGNATURE.upper().replace("-", "_")


def read_request(container: Container, environ: dict) -> EdgeRequest:
    """The request as the gateway believes it. ``X-Forwarded-*`` and a client's ``X-Request-ID`` count only
    from a trusted proxy (or a caller that signs with the internal secret); anyone else gets the socket's
    address, the gateway's scheme and a fresh request id. Only the cookie that belongs to the scheme is read."""
    started = time.perf_counter()
    proxies = container.settings.trusted_proxies
    peer = environ.get("REMOTE_ADDR") or ""
    peer_trusted = trust.is_trusted(peer, proxies)
    scheme = trust.scheme(environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_X_FORWARDED_PROTO"),
                          peer_trusted)
    rid = None
    offered = environ.get("HTTP_X_REQUEST_ID")
    if offered and (peer_trusted or _validly_signed(container, environ)):
        rid = trust.acceptable_request_id(offered)
    path = request_path(environ)
    page = not path.startswith(API_PREFIX)
    static = page and pages.is_static(path)
    raw_length = environ.get("CONTENT_LENGTH") or ""
    cookies = {} if static else parse_cookie(environ.get("HTTP_COOKIE", ""))
    https = scheme == "https"
    return EdgeRequest(
        method=environ.get("REQUEST_METHOD", "GET"), path=path, query=environ.get("QUERY_STRING") or "",
        headers=tuple(environ_headers(environ)),
        client_ip=trust.client_ip(peer, environ.get("HTTP_X_FORWARDED_FOR"), proxies), scheme=scheme,
        request_id=rid or str(uuid.uuid4()), started=started, page=page, static=static,
        user_agent=environ.get("HTTP_USER_AGENT", ""), host=environ.get("HTTP_HOST", ""),
        traceparent=environ.get("HTTP_TRACEPARENT", ""),
        content_length=int(raw_length) if raw_length.isdigit() else 0,
        chunked="chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower(),
        session_token=cookies.get(host_cookie(SESSION_COOKIE, https)),
        anonymous_cookie=cookies.get(host_cookie(ANON_COOKIE, https)),
        csrf_token=environ.get("HTTP_X_CSRF_TOKEN"),
    )


def _validly_signed(container: Container, environ: dict) -> bool:
    """A caller holding the internal secret (another service, a test harness) is trusted, once per
    signature: its nonce is claimed, so a captured signed request sent again gets a fresh request id
    (it cannot plant its id on other requests' log lines and events). Without Redis to claim it in, the
    offered id is not believed."""
    if _SIGNATURE_KEY not in environ:
        return False
    try:
        verify_headers(container.settings.common.internal_secret, EnvironHeaders(environ),
                       environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""), service="gateway",
                       query=environ.get("QUERY_STRING", ""), nonces=container.nonces)
    except ApiError as exc:
        log.info("offered X-Request-ID not believed: %s", exc.message)
        return False
    return True


def request_path(environ: dict) -> str:
    """PATH_INFO as the services see it: WSGI hands it over as latin-1, the bytes are UTF-8."""
    return environ.get("PATH_INFO", "").encode("latin-1", "replace").decode("utf-8", "replace")


def close_access(container: Container, req: EdgeRequest, *, status: int, bytes_sent: int | None,
                 service: str | None = None, identity: Identity | None = None,
                 traceparent: str | None = None) -> None:
    """Record the access, with the response's status and headers in hand, before its first byte goes out
    (docs/gateway.md, "Access events and the spool"): ``duration_ms`` is the time to the answer's headers,
    ``bytes_sent`` the body's length as it will be sent (``None`` for a stream of unknown length). Raises
    ``AccessLogUnavailable`` when the event cannot be spooled."""
    record_access(container.spool, Access(
        method=req.method, path=req.path, query=req.query, client_ip=req.client_ip, user_agent=req.user_agent,
        request_id=req.request_id, service=service, identity=identity, status=status, bytes_sent=bytes_sent,
        duration_ms=(time.perf_counter() - req.started) * 1000.0, traceparent=traceparent))


# --- Flask hooks (the gateway's own endpoints and unknown paths) -----------------------------------

def begin(container: Container) -> None:
    edge = read_request(container, request.environ)
    g.edge = edge
    g.request_id = edge.request_id
    g.metrics_started = edge.started


def finish(container: Container, resp: Response) -> Response:
    observe_response("gateway", resp)
    stamp_response(resp, g.get("request_id", ""))
    edge: EdgeRequest | None = g.get("edge")
    if edge is None or edge.path in UNLOGGED_PATHS:
        return resp
    try:
        close_access(container, edge, status=resp.status_code,
                     bytes_sent=None if resp.is_streamed else resp.content_length)
    except ApiError as exc:
        resp.close()
        return stamp_response(error_response(exc.status, exc.code, exc.message, headers=exc.headers),
                              g.get("request_id", ""))
    return resp
