"""gateway's settings, read once from the environment."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from dataclasses import dataclass

from services.gateway.domain.ratelimit import Limit, parse_limit
from services.gateway.domain.trust import IpNetwork
from shared.config import CommonSettings, ConfigError, env_float, env_int, env_str, service_url, var_dir

SERVICE = "gateway"
ROUTED_SERVICES = ("identity", "linking", "content", "audit")  # /api/<service>/...
PAGES_SERVICE = "web"  # every other path: the portal's pages


@dataclass(frozen=True)
class Settings:
    common: CommonSettings  # its database_url is the spool (GATEWAY_SPOOL_URL), not a service database
    service_urls: dict[str, str]  # the API services and the pages service
    api_services: frozenset[str]
    redis_url: str
    trusted_proxies: tuple[IpNetwork, ...]
    session_cache_seconds: float
    session_cache_size: int
    rate_limit_ip: Limit | None
    rate_limit_user: Limit | None
    max_body_bytes: int
    connect_timeout: float
    read_timeout: float
    resolve_timeout: float
    pool_size: int
    openapi_cache_seconds: float
    metrics_port: int  # the internal listener that answers /metrics (0: none); never the public one

    @classmethod
    def from_env(cls) -> Settings:
        proxies = parse_networks(os.environ.get("GATEWAY_TRUSTED_PROXIES", ""))
        check_production_mode(os.environ.get("PORTAL_PUBLIC_URL", ""), proxies,
                              bool(os.environ.get("GATEWAY_TLS_CERTFILE") and os.environ.get("GATEWAY_TLS_KEYFILE")))
        common = CommonSettings.from_env(SERVICE)
        spool = env_str("GATEWAY_SPOOL_URL", f"sqlite:///{var_dir() / 'gateway-spool.db'}")
        return cls(
            # The access-event stream is steady: waiting 0.5 s between relay rounds puts ~10x more events in
            # each broker message than 0.05 s, and audit stores a message in one transaction, so a backlog
            # after an audit outage drains ~7x faster (30 s outage: 3.0 s instead of 20.3 s to catch up,
            # docs/reliability.md) for at most 0.5 s more before an access is in the store.
            common=dataclasses.replace(common, database_url=spool,
                                       relay_interval=env_float("GATEWAY_RELAY_INTERVAL", 0.5)),
            service_urls={name: service_url(name) for name in (*ROUTED_SERVICES, PAGES_SERVICE)},
            api_services=frozenset(ROUTED_SERVICES),
            redis_url=env_str("GATEWAY_REDIS_URL", common.counters_url),
            trusted_proxies=proxies,
            session_cache_seconds=env_float("GATEWAY_SESSION_CACHE_SECONDS", 5.0),
            session_cache_size=env_int("GATEWAY_SESSION_CACHE_SIZE", 10_000),
            rate_limit_ip=_limit("GATEWAY_RATE_LIMIT_IP", "300/min"),
            rate_limit_user=_limit("GATEWAY_RATE_LIMIT_USER", "600/min"),
            max_body_bytes=env_int("GATEWAY_MAX_BODY_BYTES", 100 * 1024 * 1024),
            connect_timeout=env_float("GATEWAY_CONNECT_TIMEOUT", 2.0),
            read_timeout=env_float("GATEWAY_READ_TIMEOUT", 30.0),
            resolve_timeout=env_float("GATEWAY_RESOLVE_TIMEOUT", 3.0),
            pool_size=env_int("GATEWAY_POOL_SIZE", 32),
            openapi_cache_seconds=env_float("GATEWAY_OPENAPI_CACHE_SECONDS", 60.0),
            metrics_port=env_int("GATEWAY_METRICS_PORT", 0),
        )


def check_production_mode(public_url: str, proxies: tuple[IpNetwork, ...], tls_here: bool) -> None:
    """A portal published over HTTPS must know where TLS ends. Behind a proxy that is not trusted, every request
    would look like plain HTTP from the proxy's address: session cookies without ``__Host-``/``Secure``, and every
    client sharing the proxy's IP in rate limits, throttles and the server log. Refuse to start instead."""
    if public_url.lower().startswith("https://") and not proxies and not tls_here:
        raise ConfigError("PORTAL_PUBLIC_URL is https: set GATEWAY_TRUSTED_PROXIES to the proxy that ends TLS "
                          "(its X-Forwarded-For and X-Forwarded-Proto are then believed), or end TLS at the "
                          "gateway with GATEWAY_TLS_CERTFILE and GATEWAY_TLS_KEYFILE")


def _limit(name: str, default: str) -> Limit | None:
    raw = os.environ.get(name) or default
    try:
        return parse_limit(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from exc


def parse_networks(raw: str) -> tuple[IpNetwork, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` -> networks; empty means no proxy is trusted."""
    nets = []
    for item in raw.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ConfigError(f"GATEWAY_TRUSTED_PROXIES: {item!r} is not an IP address or network") from exc
    return tuple(nets)
