"""Which service a public path goes to, and which headers cross the gateway in each direction."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from shared.web.errors import NotFound
from shared.web.wire import SESSION_COOKIE, host_cookie

# RFC 9110 §7.6.1 hop-by-hop headers, plus what the gateway sets itself.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "trailers", "transfer-encoding", "upgrade",
})
_REQUEST_DROP = HOP_BY_HOP | {
    "host", "content-length", "x-request-id", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
    "forwarded", "x-csrf-token",
}
# The WSGI server adds its own Date and Server; passing the service's would duplicate them.
_RESPONSE_DROP = HOP_BY_HOP | {"x-request-id", "date", "server"}
SESSION_COOKIES = (SESSION_COOKIE, host_cookie(SESSION_COOKIE, https=True))
PAGES = "web"  # the service behind every path outside /api/ (its Location headers are already public)
_SAFE_PATH_CHARS = "/:@!$&'()*+,;=-._~"


@dataclass(frozen=True)
class Route:
    service: str
    path: str  # what the service sees as its request path (decoded, leading "/")

    def url_path(self) -> str:
        """The path re-encoded for the upstream URL; the service decodes it back to ``path``."""
        return quote(self.path, safe=_SAFE_PATH_CHARS)


def resolve_route(service: str, rest: str, services: dict[str, str] | frozenset[str]) -> Route:
    """``/api/<service>/<rest>`` -> the service and its path, or 404.

    ``/internal/...`` is for service-to-service calls only and ``/metrics`` for Prometheus on the service's
    own listener; they are refused whatever the spelling
    (``//internal``, ``./internal``), and dot segments are refused outright so no path can climb out.
    """
    if service not in services:
        raise NotFound("No such API.")
    segments = rest.split("/")
    if any(seg in (".", "..") for seg in segments):
        raise NotFound("No such API path.")
    first = next((seg for seg in segments if seg), "")
    if first in ("internal", "metrics"):  # service-to-service calls; Prometheus on the service's own port
        raise NotFound("No such API path.")
    return Route(service=service, path="/" + rest.lstrip("/") if rest else "/")


def connection_tokens(value: str | None) -> set[str]:
    """Headers named in ``Connection`` are hop-by-hop too."""
    if not value:
        return set()
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def environ_headers(environ: dict) -> list[tuple[str, str]]:
    """The request's headers from a WSGI environ, as (name, value) pairs."""
    pairs = [(key[5:].replace("_", "-").title(), value) for key, value in environ.items()
             if key.startswith("HTTP_")]
    if environ.get("CONTENT_TYPE"):
        pairs.append(("Content-Type", environ["CONTENT_TYPE"]))
    return pairs


def forwardable_request_headers(pairs, *, keep_session_cookie: bool) -> dict[str, str]:
    """The client's headers minus hop-by-hop ones, forwarding headers, and any ``X-Portal-*``
    (those only ever come signed from the gateway). Session cookies go to identity only."""
    pairs = list(pairs.items() if hasattr(pairs, "items") else pairs)
    extra: set[str] = set()
    for name, value in pairs:
        if name.lower() == "connection":
            extra = connection_tokens(value)
    out: dict[str, str] = {}
    for name, value in pairs:
        lower = name.lower()
        if lower in _REQUEST_DROP or lower in extra or lower.startswith("x-portal-"):
            continue
        if lower == "cookie" and not keep_session_cookie:
            value = strip_cookies(value, SESSION_COOKIES)
            if not value:
                continue
        out[name] = value
    return out


def strip_cookies(header: str, names: tuple[str, ...]) -> str:
    kept = [part.strip() for part in header.split(";")
            if part.strip() and part.split("=", 1)[0].strip() not in names]
    return "; ".join(kept)


def forwardable_response_headers(items, *, service: str, upstream_base: str,
                                 connection: str | None = None) -> list[tuple[str, str]]:
    """The service's response headers minus hop-by-hop ones; a ``Location`` inside the service is
    rewritten to its public ``/api/<service>`` path. ``connection`` is the ``Connection`` header's
    value (the headers it names are hop-by-hop too)."""
    drop = _RESPONSE_DROP | connection_tokens(connection) if connection else _RESPONSE_DROP
    out = []
    for name, value in items:
        lower = name.lower()
        if lower in drop:
            continue
        if lower == "location" and service != PAGES:
            value = public_location(value, service, upstream_base)
        out.append((name, value))
    return out


def public_location(value: str, service: str, upstream_base: str) -> str:
    if value.startswith(upstream_base + "/"):
        value = value[len(upstream_base):]
    if value.startswith("/") and not value.startswith("//"):
        return f"/api/{service}{value}"
    return value
