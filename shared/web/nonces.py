"""Nonces of signed internal calls, each usable once (replay refusal).

A service claims the nonce of every signed call it answers; the claim lasts as long as the signature
is valid, after which the expiry check refuses the call anyway. In Redis (``REDIS_URL``) every process
of every service shares the record; the in-process store is for a single process without Redis
(unit tests), where another process would not see the claim.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from shared.errors import Unavailable


class NonceStore(Protocol):
    def claim(self, nonce: str, ttl: int) -> bool:
        """True the first time ``nonce`` is seen within ``ttl`` seconds, False afterwards."""
        ...


class RedisNonces:
    PREFIX = "portal:nonce:"

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)

    def claim(self, nonce: str, ttl: int) -> bool:
        import redis

        try:
            return bool(self.client.set(self.PREFIX + nonce, b"1", nx=True, ex=max(1, ttl)))
        except redis.RedisError as exc:
            raise Unavailable("Signed calls cannot be checked right now.") from exc


def nonce_store(redis_url: str | None) -> NonceStore:
    """Redis when there is one (every run and deployment), else this process's memory."""
    return RedisNonces(redis_url) if redis_url else MemoryNonces()


class MemoryNonces:
    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, nonce: str, ttl: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {n: t for n, t in self._seen.items() if t > now}
            if self._seen.get(nonce, 0) > now:
                return False
            self._seen[nonce] = now + ttl
            return True
