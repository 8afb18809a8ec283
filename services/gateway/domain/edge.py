"""One request as the gateway reads it at its edge: built once from the WSGI environ
(``api/context.read_request``), never changed afterwards. Everything past the edge reads this value; only
the request body is still read from the server's stream."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EdgeRequest:
    method: str  # as sent (one the gateway does not proxy is refused with 405 later)
    path: str  # decoded as the services see it (WSGI's latin-1 -> UTF-8)
    query: str
    headers: tuple[tuple[str, str], ...]  # the client's, as (name, value) pairs
    client_ip: str  # believed per domain/trust.py
    scheme: str
    request_id: str
    started: float  # perf_counter() when the gateway first saw it
    page: bool  # outside /api/: the pages service
    static: bool  # a page's versioned asset: neither counted nor recorded
    user_agent: str = ""
    host: str = ""
    traceparent: str = ""
    content_length: int = 0  # 0: none, or not a number
    chunked: bool = False  # Transfer-Encoding: chunked
    session_token: str | None = None  # the session cookie of this scheme
    anonymous_cookie: str | None = None
    csrf_token: str | None = None

