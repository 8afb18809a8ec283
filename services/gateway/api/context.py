"""What the gateway works out about every request at its edge (client address, scheme, request id)
and the access event at its end; Flask hooks for the gateway's own endpoints."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from flask import Response, g, request
from werkzeug.datastructures import EnvironHeaders

from services.gateway.bootstrap import Container
from services.gateway.domain import trust
from services.gateway.handlers import Access, record_access
from shared import metrics
from shared.web.errors import ApiError, error_response
from shared.web.identity import H_SIGNATURE, verify_headers

log = logging.getLogger(__name__)

UNLOGGED_PATHS = frozenset({"/healthz", "/readyz"})  # probes every few seconds are not accesses


@dataclass(frozen=True)
class Edge:
    client_ip: str
    scheme: str
    request_id: str
    started: float


def read_edge(container: Container, environ: dict) -> Edge:
    """Believe ``X-Forwarded-*`` and a client's ``X-Request-ID`` only from a trusted proxy (or a
    caller that signs with the internal secret); anyone else gets a fresh request id."""
    started = time.perf_counter()
    proxies = container.settings.trusted_proxies
    peer = environ.get("REMOTE_ADDR") or ""
    peer_trusted = trust.is_trusted(peer, proxies)
    client_ip = trust.client_ip(peer, environ.get("HTTP_X_FORWARDED_FOR"), proxies)
    scheme = trust.scheme(environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_X_FORWARDED_PROTO"),
                          peer_trusted)
    rid = None
    offered = environ.get("HTTP_X_REQUEST_ID")
    if offered and (peer_trusted or _validly_signed(container, environ)):
        rid = trust.acceptable_request_id(offered)
    return Edge(client_ip=client_ip, scheme=scheme, request_id=rid or str(uuid.uuid4()), started=started)


def _validly_signed(container: Container, environ: dict) -> bool:
    """A caller holding the internal secret (another service, a test harness) is trusted, once per
    signature: its nonce is claimed, so a captured signed request sent again gets a fresh request id
    (it cannot plant its id on other requests' log lines and events). Without Redis to claim it in, the
    offered id is not believed."""
    if "HTTP_" + H_SIGNATURE.upper().replace("-", "_") not in environ:
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


def new_access(edge: Edge, environ: dict) -> Access:
    return Access(method=environ.get("REQUEST_METHOD", "GET"), path=request_path(environ),
                  query=environ.get("QUERY_STRING", ""), client_ip=edge.client_ip,
                  user_agent=environ.get("HTTP_USER_AGENT", ""), request_id=edge.request_id)


def spool_access(container: Container, access: Access, started: float, bytes_sent: int | None) -> None:
    """Called with the response's status and headers, before its first byte goes out (docs/gateway.md,
    "Access events and the spool"): ``duration_ms`` is the time to the answer's headers, ``bytes_sent``
    the body's length as it will be sent (``None`` for a stream of unknown length). Raises
    ``AccessLogUnavailable`` when the event cannot be spooled."""
    access.duration_ms = (time.perf_counter() - started) * 1000.0
    access.bytes_sent = bytes_sent
    record_access(container.spool, access)


# --- Flask hooks (the gateway's own endpoints and unknown paths) -----------------------------------

def begin(container: Container) -> None:
    edge = read_edge(container, request.environ)
    g.edge = edge
    g.request_id = edge.request_id
    g.access = new_access(edge, request.environ)


def finish(container: Container, resp: Response) -> Response:
    resp.headers["X-Request-ID"] = g.get("request_id", "")
    edge: Edge | None = g.get("edge")
    if edge is not None:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe_request("gateway", request.method, route, resp.status_code, time.perf_counter() - edge.started)
    resp.headers.setdefault("Cache-Control", "no-store")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    access: Access | None = g.get("access")
    if access is None or access.path in UNLOGGED_PATHS:
        return resp
    access.status = resp.status_code
    try:
        spool_access(container, access, g.edge.started, None if resp.is_streamed else resp.content_length)
    except ApiError as exc:
        resp.close()
        refused = error_response(exc.status, exc.code, exc.message, headers=exc.headers)
        refused.headers["X-Request-ID"] = g.get("request_id", "")
        return refused
    return resp
