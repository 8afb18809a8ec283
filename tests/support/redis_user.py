"""A Redis user of its own for a platform on a Redis server others share (the machine's, named by
PORTAL_TEST_REDIS_URL), so that the platform alone can be cut off from it.

That server is not the tests' to kill or pause: it keeps nothing on disk (a restart would empty every
database on it) and other test runs use it at the same time (``DEBUG SLEEP`` or ``CLIENT PAUSE`` would
stop them too). Instead the platform logs in as an ACL user made for it, and an outage is that user
switched off (``ACL SETUSER ... off``: every new connection is refused at login) with its open connections
closed (``CLIENT KILL USER``); switching it on again ends the outage. To the platform this is a Redis that
went away and came back with its data, the way the embedded one comes back from its append-only file;
nothing of the server itself (its data, settings, other clients) is touched. The user exists in the
server's memory only (no ACL file) and is deleted afterwards.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import redis


@dataclass(frozen=True)
class RedisUser:
    admin_url: str  # the server as the tests reach it (its default user)
    name: str
    url: str  # the same server and database, logged in as ``name``

    def _admin(self) -> redis.Redis:
        return redis.Redis.from_url(self.admin_url, socket_timeout=5, socket_connect_timeout=5)

    def cut_off(self, seconds: float) -> None:
        """Refuse this user for ``seconds`` and close its connections; it is always let in again."""
        admin = self._admin()
        try:
            admin.execute_command("ACL", "SETUSER", self.name, "off")
            try:
                admin.execute_command("CLIENT", "KILL", "USER", self.name)
                time.sleep(seconds)
            finally:
                admin.execute_command("ACL", "SETUSER", self.name, "on")
        finally:
            admin.close()


@contextmanager
def private_redis_user(server_url: str) -> Iterator[RedisUser]:
    """A new ACL user on ``server_url``'s server with every command, key and channel (what the platform
    does on its own Redis), deleted afterwards with its connections."""
    parts = urlsplit(server_url)
    name = f"portal-test-{secrets.token_hex(5)}"
    password = secrets.token_hex(16)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(name)}:{password}@{host}" + (f":{parts.port}" if parts.port else "")
    user = RedisUser(server_url, name, urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")))
    admin = user._admin()
    try:
        admin.execute_command("ACL", "SETUSER", name, "reset", "on", f">{password}", "~*", "&*", "+@all")
        yield user
    finally:
        try:
            admin.execute_command("ACL", "DELUSER", name)  # closes its connections too
        finally:
            admin.close()
