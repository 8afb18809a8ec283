"""The composition root: build everything the gateway needs once, from settings."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import redis

from services.gateway.adapters import tables
from services.gateway.adapters.counters import RequestCounters
from services.gateway.adapters.openapi import MergedOpenApi
from services.gateway.adapters.sessions import IdentitySessions, SessionCache, Sessions
from services.gateway.adapters.spool import AccessSpool, SpoolEraser
from services.gateway.adapters.upstream import Upstreams
from services.gateway.config import Settings
from shared.runtime import Runtime, build_runtime
from shared.web.nonces import NonceStore, RedisNonces

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass
class Container:
    settings: Settings
    runtime: Runtime  # its database is the spool; ``runtime.relay()`` publishes the access events
    upstreams: Upstreams
    counters: RequestCounters
    sessions: Sessions
    spool: AccessSpool
    openapi: MergedOpenApi
    nonces: NonceStore  # nonces of signed callers' requests: a signed request id is believed once
    checks_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(8, "readyz"))

    def spool_eraser(self) -> SpoolEraser:
        """Run beside the spool's relay: erasure reaches the spool's published rows (adapters/spool.py)."""
        return SpoolEraser(self.runtime.engine, self.runtime.table("outbox"), self.counters.client)

    def close(self) -> None:
        """Release connections and threads (tests, the relay's shutdown)."""
        self.checks_pool.shutdown(wait=False)
        self.counters.close()
        self.spool.close()
        self.upstreams.close()
        self.runtime.engine.dispose()


def bootstrap(settings: Settings | None = None, run_migrations: bool = True) -> Container:
    settings = settings or Settings.from_env()
    runtime = build_runtime(settings.common, tables.metadata, MIGRATIONS, run_migrations)
    upstreams = Upstreams(settings.service_urls, connect_timeout=settings.connect_timeout,
                          read_timeout=settings.read_timeout, pool_size=settings.pool_size)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=1.0, socket_connect_timeout=0.5)
    counters = RequestCounters(client, settings.rate_limit_ip, settings.rate_limit_user)
    sessions = Sessions(
        SessionCache(settings.session_cache_seconds, settings.session_cache_size),
        IdentitySessions(upstreams, settings.common.internal_secret, settings.resolve_timeout),
    )
    return Container(
        settings=settings,
        runtime=runtime,
        upstreams=upstreams,
        counters=counters,
        sessions=sessions,
        spool=AccessSpool(runtime.engine, runtime.table("outbox")),
        openapi=MergedOpenApi(upstreams, settings.openapi_cache_seconds, sorted(settings.api_services)),
        nonces=RedisNonces(settings.redis_url, fallback=False),  # without Redis an offered id is not believed
    )
