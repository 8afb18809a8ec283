"""Rate-limit counters and the session epoch, in one Redis round trip per request.

One Lua script increments this window's counters, reads the previous window's, and reads the
session epoch: one command, one reply, atomic. It runs on a connection of the calling thread's own:
redis-py's client and pool machinery cost three times the round trip itself, and this is the hot path.

Redis being down must not take the portal down: the gateway then lets requests through unlimited
(logged), and reports no epoch, which makes the session cache stand aside so that a logout still
takes effect at once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from redis.exceptions import NoScriptError

from services.gateway.domain import ratelimit
from services.gateway.domain.ratelimit import Limit
from shared.redis_probe import RedisProbe

log = logging.getLogger(__name__)

EPOCH_KEY = "portal:sessions:epoch"
_WARN_EVERY = 30.0
# After a failed call no request asks Redis until a thread of its own, asking this often, finds it answering:
# a Redis that hangs (stopped, overloaded) would otherwise cost requests the whole socket timeout (1 s) again
# and again; it costs the requests in flight when it stopped answering.

# KEYS: (current, previous) per counter, then the epoch key if ARGV[1] == "1".
# ARGV: read-epoch flag, then the expiry of each counter.
# Returns {current1, previous1, current2, previous2, ..., epoch?}.
COUNT_SCRIPT = """
local n = #ARGV - 1
local out = {}
for i = 1, n do
  local cur = redis.call('INCR', KEYS[2 * i - 1])
  if cur == 1 then redis.call('EXPIRE', KEYS[2 * i - 1], ARGV[i + 1]) end
  out[2 * i - 1] = cur
  out[2 * i] = tonumber(redis.call('GET', KEYS[2 * i]) or '0')
end
if ARGV[1] == '1' then out[2 * n + 1] = redis.call('GET', KEYS[2 * n + 1]) or '0' end
return out
"""


@dataclass(frozen=True)
class Verdict:
    epoch: str | None  # None: Redis did not answer, so nothing cached may be trusted
    blocked_by: str | None = None  # "ip" or "user"
    retry_after: int = 0


class RequestCounters:
    def __init__(self, client: redis.Redis, ip_limit: Limit | None, user_limit: Limit | None,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.ip_limit = ip_limit
        self.user_limit = user_limit
        self.clock = clock
        self._sha = hashlib.sha1(COUNT_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis names scripts so
        self._local = threading.local()
        self._opened: list = []  # every thread's connection, so close() can reach them
        self._last_warning = 0.0
        self.probe = RedisProbe(client, "counters")

    def check(self, ip: str, user_id: str | None, *, read_epoch: bool = True,
              count_ip: bool = True) -> Verdict:
        """Count this request for its IP (and user, when known) and read the session epoch."""
        now = self.clock()
        checks: list[tuple[str, Limit, float]] = []
        keys: list[str] = []
        args: list[str | int] = ["1" if read_epoch else "0"]
        for kind, who, limit in (("ip", ip if count_ip else None, self.ip_limit),
                                 ("user", user_id, self.user_limit)):
            if who and limit is not None:
                index, elapsed = ratelimit.window_position(now, limit.window)
                prefix = f"portal:rl:{kind}:{limit.window}:{who}:"
                keys += [prefix + str(index), prefix + str(index - 1)]
                args.append(2 * limit.window)
                checks.append((kind, limit, elapsed))
        if not checks and not read_epoch:
            return Verdict(epoch=None)
        if read_epoch:
            keys.append(EPOCH_KEY)
        if not self.probe.up:
            return Verdict(epoch=None)
        try:
            results = self._run(keys, args)
        except redis.RedisError as exc:
            self.probe.went_away()
            self._warn(exc)
            return Verdict(epoch=None)
        for i, (kind, limit, elapsed) in enumerate(checks):
            current, previous = int(results[2 * i]), int(results[2 * i + 1])
            if not ratelimit.allowed(limit, previous, current, elapsed):
                return Verdict(epoch=None, blocked_by=kind,
                               retry_after=ratelimit.retry_after(limit, previous, current, elapsed))
        if not read_epoch:
            return Verdict(epoch=None)
        epoch = results[-1]
        return Verdict(epoch=epoch.decode() if isinstance(epoch, bytes) else str(epoch))

    def _run(self, keys: list[str], args: list[str | int]) -> list:
        conn = self._connection()
        try:
            try:
                conn.send_packed_command([_resp("EVALSHA", self._sha, len(keys), *keys, *args)], check_health=False)
                return conn.read_response()
            except NoScriptError:  # a restarted or flushed Redis: EVAL loads it again
                conn.send_packed_command([_resp("EVAL", COUNT_SCRIPT, len(keys), *keys, *args)], check_health=False)
                return conn.read_response()
        except redis.RedisError:
            conn.disconnect()  # the next call reconnects
            raise

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            pool = self.client.connection_pool
            conn = self._local.conn = pool.connection_class(**pool.connection_kwargs)
            self._opened.append(conn)
        return conn

    def close(self) -> None:
        for conn in self._opened:
            conn.disconnect()
        self.client.close()

    def ping(self) -> None:
        self.client.ping()

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning >= _WARN_EVERY:
            self._last_warning = now
            log.warning("redis unreachable (%s): no rate limits, session cache bypassed", type(exc).__name__)



def _resp(*parts: str | int) -> bytes:
    """One command in the Redis protocol (what redis-py's encoder does, for a fixed, simple case)."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = str(part).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)
