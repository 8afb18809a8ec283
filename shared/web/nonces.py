"""Nonces of signed internal calls, each usable once (replay refusal).

A service claims the nonce of every signed call it answers; the claim lasts as long as the signature
is valid, after which the expiry check refuses the call anyway. In Redis (``REDIS_URL``) every process
of every service shares the record; the in-process store is for a single process without Redis
(unit tests), where another process would not see the claim.

While Redis cannot be reached (docs/decisions.md, "Signed calls while Redis is away"), a call may still be
answered when the caller (``shared/web/identity.py``) says it may fall back: a safe method (GET, HEAD,
OPTIONS) whose signature was made in the last ``FRESH_SECONDS``. Its nonce is then claimed in this process's
own record, which also holds every nonce this process claimed in Redis before (a replay to the same process
is refused as always). What the fallback gives up: a request captured on the wire could be replayed, read
only and within seconds, to another process of the same service. Every other call is refused with 503 and
``Retry-After: 1``. After a failed claim no request asks Redis until a thread of the store's own, asking every
``shared/redis_probe.py``, finds it back: a Redis that hangs costs the requests in flight at that moment its timeout,
not every request after.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Protocol

from shared.errors import Unavailable
from shared.redis_probe import RedisProbe

log = logging.getLogger(__name__)

FRESH_SECONDS = 10  # a signature younger than this may be checked against this process's record alone
LOCAL_LIMIT = 100_000  # nonces this process remembers (about 60 s of 1,600 calls a second)


class NonceStore(Protocol):
    def claim(self, nonce: str, ttl: int, fallback: bool = False) -> bool:
        """True the first time ``nonce`` is seen within ``ttl`` seconds, False afterwards. ``fallback``: when
        the shared record cannot be reached, this process's own record may decide (else ``Unavailable``)."""
        ...


class MemoryNonces:
    """This process's record: every nonce until its claim expires, the oldest forgotten first beyond
    ``limit`` (ordered by expiry; claims of one store share a TTL give or take a second)."""

    def __init__(self, limit: int = LOCAL_LIMIT) -> None:
        self._seen: dict[str, float] = {}
        self._order: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()
        self.limit = limit

    def claim(self, nonce: str, ttl: int, fallback: bool = False) -> bool:
        now = time.monotonic()
        with self._lock:
            order, seen = self._order, self._seen
            while order and (order[0][0] <= now or len(order) > self.limit):
                expires, old = order.popleft()
                if seen.get(old) == expires:
                    del seen[old]
            if seen.get(nonce, 0) > now:
                return False
            seen[nonce] = now + ttl
            order.append((now + ttl, nonce))
            return True


class RedisNonces:
    PREFIX = "portal:nonce:"

    def __init__(self, url: str, fallback: bool = True) -> None:
        """``fallback=False``: never answer from this process's record (a caller for which a 503 costs
        nothing: the gateway not believing an offered request id)."""
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self.local = MemoryNonces()
        self.fallback = fallback
        self.probe = RedisProbe(self.client, "nonces", "redis reachable again: signed calls claimed in Redis")

    @property
    def reachable(self) -> bool:
        return self.probe.up

    def claim(self, nonce: str, ttl: int, fallback: bool = False) -> bool:
        import redis

        if not self.local.claim(nonce, ttl):
            return False  # this process has seen it: a replay, whatever Redis says
        if self.probe.up:
            try:
                return bool(self.client.set(self.PREFIX + nonce, b"1", nx=True, ex=max(1, ttl)))
            except redis.RedisError as exc:
                self._went_away(exc)
        if fallback and self.fallback:
            return True  # first seen here, and this process's record is all there is right now
        raise Unavailable("Signed calls cannot be checked right now.", headers={"Retry-After": "1"})

    def _went_away(self, exc: Exception) -> None:
        """Stop asking Redis on the request path until the probe finds it answering again."""
        if self.probe.went_away():
            log.warning("redis unreachable (%s): signed calls checked against this process's nonces only; "
                        "only fresh safe calls are answered", type(exc).__name__)


def nonce_store(redis_url: str | None) -> NonceStore:
    """Redis when there is one (every run and deployment), else this process's memory."""
    return RedisNonces(redis_url) if redis_url else MemoryNonces()
