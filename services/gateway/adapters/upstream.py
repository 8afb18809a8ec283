"""Pooled HTTP connections to the services (urllib3: no per-request client, no body buffering)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from time import monotonic
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from services.gateway.adapters.lean_http import LeanHTTPConnection
from shared.errors import ApiError, Unavailable

log = logging.getLogger(__name__)

BLOCK = 64 * 1024


class _StaleConnectionRetry(Retry):
    """Retry a request that died on a kept-alive connection the service had just closed, but never
    one that timed out (the service may still be working on it)."""

    def _is_read_error(self, err: Exception) -> bool:
        return isinstance(err, ProtocolError)


# A request body being streamed cannot be sent twice: only a failed connect is retried. A service's
# 429/503 with Retry-After is its answer to pass on (urllib3 would otherwise count it as a retry to make).
_RETRY_STREAMED = Retry(total=1, connect=1, read=0, status=0, other=0, redirect=False, raise_on_redirect=False,
                        respect_retry_after_header=False)
# Otherwise idempotent methods are also retried once on a stale connection (urllib3's default list).
_RETRY_REPLAYABLE = _StaleConnectionRetry(total=1, connect=1, read=1, status=0, other=0, redirect=False,
                                          raise_on_redirect=False, respect_retry_after_header=False)


# gunicorn (every service's server) drains at most 64 KiB of a request body its application did not read
# (a 403 decided from the headers) and then closes the connection, right after its answer went out. A
# connection that carried a body that large is therefore never reused: the request asks the service to
# close it (``Connection: close``), so it is gone before the pool could hand it to the next request.
SERVER_DRAIN_LIMIT = 64 * 1024
# gunicorn closes a kept-alive connection after its keep-alive (2 s by default, what ``portal run`` uses):
# a connection idle for longer than this is reconnected instead of racing the service's close.
MAX_IDLE_SECONDS = 1.5
# How soon a client may try again when a service cannot be reached (being restarted, typically).
RETRY_AFTER_SECONDS = "1"


class _FreshConnections:
    """A pool that never hands out a connection the service may be closing: idle past
    ``MAX_IDLE_SECONDS``, it is reconnected (urllib3 already replaces one the service has closed)."""

    def _get_conn(self, timeout: float | None = None):
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        idle_since = getattr(conn, "portal_idle_since", None)
        if idle_since is not None and monotonic() - idle_since > MAX_IDLE_SECONDS:
            conn.close()  # reconnects on its next request
        return conn

    def _put_conn(self, conn) -> None:
        if conn is not None:
            conn.portal_idle_since = monotonic()
        super()._put_conn(conn)  # type: ignore[misc]


class _HTTPPool(_FreshConnections, urllib3.HTTPConnectionPool):
    ConnectionCls = LeanHTTPConnection


class _HTTPSPool(_FreshConnections, urllib3.HTTPSConnectionPool):
    pass


class GatewayTimeout(ApiError):
    status, code = 504, "gateway_timeout"


class Upstreams:
    """One connection pool per service, shared by every thread of the process."""

    def __init__(self, urls: dict[str, str], *, connect_timeout: float, read_timeout: float,
                 pool_size: int) -> None:
        self.urls = dict(urls)
        self.timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self.pools: dict[str, urllib3.HTTPConnectionPool] = {}
        self.base_paths: dict[str, str] = {}
        for name, url in urls.items():
            parts = urlsplit(url)
            self.base_paths[name] = parts.path.rstrip("/")
            # block=False: a burst beyond pool_size opens extra connections instead of queueing.
            pool_class = _HTTPSPool if parts.scheme == "https" else _HTTPPool
            self.pools[name] = pool_class(parts.hostname or "", parts.port, maxsize=pool_size, block=False,
                                          timeout=self.timeout, retries=False, blocksize=BLOCK)

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()

    def base_url(self, service: str) -> str:
        return self.urls[service]

    def open(self, service: str, method: str, path_qs: str, headers: dict[str, str],
             body: Any = None, *, chunked: bool = False,
             timeout: urllib3.Timeout | float | None = None) -> urllib3.BaseHTTPResponse:
        """Send the request; the response body is left unread for the caller to stream.

        A failed connect (the service is down or restarting) is retried once, an idempotent request also
        once on a kept-alive connection found closed; then the answer is 503 with ``Retry-After``."""
        pool = self.pools[service]
        if body is not None and (not isinstance(body, bytes) or len(body) >= SERVER_DRAIN_LIMIT):
            headers = {**headers, "Connection": "close"}
        try:
            return pool.urlopen(
                method, self.base_paths[service] + path_qs, body=body, headers=headers, chunked=chunked,
                retries=_RETRY_REPLAYABLE if body is None or isinstance(body, bytes) else _RETRY_STREAMED,
                redirect=False,
                preload_content=False, decode_content=False, assert_same_host=False,
                timeout=timeout or self.timeout, release_conn=False,
            )
        except MaxRetryError as exc:
            raise _unavailable(service, exc.reason) from exc
        except (ReadTimeoutError, NewConnectionError, ProtocolError) as exc:
            raise _unavailable(service, exc) from exc
        except HTTPError as exc:
            raise _unavailable(service, exc) from exc

    def json(self, service: str, method: str, path: str, *,
             headers: dict[str, str] | Callable[[bytes], dict[str, str]] | None = None,
             payload: Any = None, timeout: float | None = None) -> tuple[int, Any]:
        """A small JSON call (session resolve, readiness, OpenAPI); the body is read whole. ``headers``
        may be a function of the body's bytes (a signature covering them)."""
        body = None if payload is None else json_body(payload)
        made = headers(body or b"") if callable(headers) else headers
        hdrs = {"Accept": "application/json", **(made or {})}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        resp = self.open(service, method, path, hdrs, body,
                         timeout=urllib3.Timeout(connect=min(timeout or 2.0, 2.0), read=timeout)
                         if timeout else None)
        try:
            raw = resp.read(decode_content=True)
        except HTTPError as exc:
            raise _unavailable(service, exc) from exc
        finally:
            resp.release_conn()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, None


def json_body(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class UpstreamBody:
    """Yield the service's bytes as they come (the encoding is left as sent); count them for the
    access log. The connection goes back to the pool only when the body was read to its end; closed
    before that (the client went away, or nothing was served), it is closed."""

    def __init__(self, resp: urllib3.BaseHTTPResponse, counter: list[int]) -> None:
        self.resp = resp
        self.counter = counter
        self.finished = False
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self.resp.stream(BLOCK, decode_content=False):
                self.counter[0] += len(chunk)
                yield chunk
            self.finished = True
        except HTTPError as exc:
            # Headers are sent already; all that is left is to cut the response short.
            log.warning("upstream body interrupted: %s", type(exc).__name__)
        finally:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.finished:
            self.resp.close()
        self.resp.release_conn()


def request_chunks(stream, limit: int, too_large: type[Exception]) -> Iterable[bytes]:
    """Chunks of a request body of unknown length, refused once it passes ``limit`` bytes."""
    total = 0
    while True:
        chunk = stream.read(BLOCK)
        if not chunk:
            return
        total += len(chunk)
        if total > limit:
            raise too_large()
        yield chunk


def _unavailable(service: str, reason: Any) -> ApiError:
    if isinstance(reason, ReadTimeoutError):
        return GatewayTimeout(f"The {service} service did not answer in time.")
    return unavailable(f"The {service} service is unavailable.")


def unavailable(message: str) -> Unavailable:
    """503 with ``Retry-After``: a service that cannot be reached is usually being restarted."""
    return Unavailable(message, headers={"Retry-After": RETRY_AFTER_SECONDS})
