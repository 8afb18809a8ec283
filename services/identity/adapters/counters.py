"""Redis counters: the session revocation epoch the gateway watches, and failed logins per IP."""

from __future__ import annotations

import logging

import redis

from shared.leftovers import ERASED_KEY, announce_erased

log = logging.getLogger("portal.identity")

EPOCH_KEY = "portal:sessions:epoch"


class RedisCounters:
    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def bump_epoch(self) -> None:
        """Tell every gateway to drop its cached sessions. A Redis outage must not undo a logout
        already committed; the gateway's cache is short, so we log and go on."""
        try:
            self._client.incr(EPOCH_KEY)
        except redis.RedisError as exc:
            log.warning("could not bump %s: %r", EPOCH_KEY, exc)

    def announce_erased(self, user_id: str) -> None:
        """Tell processes that keep copies and consume no events (the gateway's spool) who was erased."""
        try:
            announce_erased(self._client, user_id)
        except redis.RedisError as exc:
            log.warning("could not announce an erasure in %s: %r", ERASED_KEY, exc)

    def ip_failures(self, ip: str) -> int:
        try:
            return int(self._client.get(self._ip_key(ip)) or 0)
        except redis.RedisError as exc:
            log.warning("per-IP throttle unavailable: %r", exc)
            return 0

    def ip_retry_after(self, ip: str) -> int:
        try:
            return max(1, int(self._client.ttl(self._ip_key(ip))))
        except redis.RedisError:
            return 60

    def add_ip_failure(self, ip: str, window: int) -> None:
        try:
            self._count(self._ip_key(ip), window)
        except redis.RedisError as exc:
            log.warning("per-IP throttle unavailable: %r", exc)

    def count_address_mail(self, address_key: str, window: int) -> int:
        """Count one mail of a kind a stranger can trigger (a password reset, a "someone tried to register")
        for an address, named by a digest of the kind and the address; how many in the window so far.
        Fails closed: without Redis no such mail goes out (the answer stays the same)."""
        try:
            return self._count(f"portal:identity:resets:{address_key}", window)
        except redis.RedisError as exc:
            log.warning("per-address mail limit unavailable: %r", exc)
            return 1 << 30

    def _count(self, key: str, window: int) -> int:
        # SET NX EX then INCR: a fixed window from the first count (EXPIRE NX needs Redis 7;
        # the redis-server that `make run` ships is 6.2).
        pipe = self._client.pipeline()
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
        return int(pipe.execute()[1])

    @staticmethod
    def _ip_key(ip: str) -> str:
        return f"portal:identity:ipfail:{ip or 'unknown'}"
