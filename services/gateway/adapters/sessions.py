"""Sessions as identity resolves them, behind a short per-process cache.

The cache keeps an answer for ``GATEWAY_SESSION_CACHE_SECONDS`` and forgets everything as soon as
the Redis key ``portal:sessions:epoch`` moves (identity increments it whenever any session ends), so
a logout or a revocation takes effect on the very next request. Keys are SHA-256 digests of the
cookie: the process never keeps a table of live tokens.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.gateway.adapters.upstream import Upstreams, unavailable
from services.gateway.domain.sessions import MalformedSession, SessionInfo
from shared import clock
from shared.web.identity import Identity, sign_headers

log = logging.getLogger(__name__)

RESOLVE_PATH = "/internal/sessions/resolve"


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class _Entry:
    session: SessionInfo | None  # None: identity said the token is not a session
    epoch: str
    expires: float


def _wall_seconds() -> float:
    return clock.now().timestamp()  # the platform's clock, as identity reads it (tests can move it)


class SessionCache:
    def __init__(self, ttl: float, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = _wall_seconds) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self.wall = wall
        self._entries: dict[str, _Entry] = {}
        self._epoch: str | None = None
        self._lock = threading.Lock()

    def peek(self, key: str) -> SessionInfo | None:
        """The cached session, if any, before the epoch is known (to count the user's request)."""
        entry = self._entries.get(key)
        return entry.session if entry is not None and entry.expires > self.clock() else None

    def get(self, key: str, epoch: str | None) -> tuple[bool, SessionInfo | None]:
        """(hit, session). Without an epoch (Redis down) nothing cached can be trusted."""
        if epoch is None or self.ttl <= 0:
            return False, None
        self.observe_epoch(epoch)
        entry = self._entries.get(key)
        if entry is None or entry.epoch != epoch or entry.expires <= self.clock():
            return False, None
        return True, entry.session

    def put(self, key: str, epoch: str | None, session: SessionInfo | None) -> None:
        """Cache an answer under the epoch read *before* identity was asked: a revocation that lands
        in between moves the epoch and so makes this entry unusable."""
        if epoch is None or self.ttl <= 0:
            return
        ttl = self.ttl
        if session is not None and session.valid_until is not None:
            ttl = min(ttl, session.valid_until - self.wall())  # never past the session's own end
            if ttl <= 0:
                return
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # a flood of distinct cookies: start over rather than grow
            self._entries[key] = _Entry(session, epoch, self.clock() + ttl)

    def observe_epoch(self, epoch: str) -> None:
        if epoch != self._epoch:
            with self._lock:
                if epoch != self._epoch:
                    self._entries.clear()
                    self._epoch = epoch


class IdentitySessions:
    """``POST /internal/sessions/resolve`` on identity, signed as ``system:gateway``."""

    def __init__(self, upstreams: Upstreams, secret: bytes, timeout: float) -> None:
        self.upstreams = upstreams
        self.secret = secret
        self.timeout = timeout

    def resolve(self, token: str, request_id: str | None) -> SessionInfo | None:
        ident = Identity(user_id="system:gateway", request_id=request_id)

        def headers(body: bytes) -> dict[str, str]:
            return sign_headers(self.secret, ident, "POST", RESOLVE_PATH, service="identity", body=body)

        status, body = self.upstreams.json("identity", "POST", RESOLVE_PATH, headers=headers,
                                           payload={"token": token}, timeout=self.timeout)
        if status == 404:
            return None
        if status != 200:
            log.error("session resolve answered %s (request %s)", status, request_id)
            raise unavailable("Sessions cannot be checked right now.")
        try:
            return SessionInfo.from_resolve(body)
        except MalformedSession as exc:
            log.error("session resolve: %s (request %s)", exc, request_id)
            raise unavailable("Sessions cannot be checked right now.") from exc


class Sessions:
    """Cache first, identity on a miss."""

    def __init__(self, cache: SessionCache, resolver: IdentitySessions) -> None:
        self.cache = cache
        self.resolver = resolver

    def peek(self, token: str) -> SessionInfo | None:
        return self.cache.peek(token_key(token))

    def lookup(self, token: str, epoch: str | None, request_id: str | None) -> SessionInfo | None:
        key = token_key(token)
        hit, session = self.cache.get(key, epoch)
        if hit:
            return session
        session = self.resolver.resolve(token, request_id)
        self.cache.put(key, epoch, session)
        return session
