"""Settings read once from environment variables.

One helper per kind of setting; each service builds a frozen dataclass from them in its own
``config.py``. Embedded defaults make ``make run`` work on a fresh machine: a SQLite file per
service under ``var/`` and the Redis URL that the supervisor exported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting is missing or malformed; raised at start, never mid-request."""


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ConfigError(f"environment variable {name} is required")
        return default
    return value


MIN_SECRET_LENGTH = 32  # characters: `openssl rand -hex 16` at least; `portal run` generates 64


def env_secret(name: str, *, fallback: str | None = None) -> str:
    """A secret key from the environment (``fallback``: an older variable's name), refused at start when
    missing, short or of few distinct characters, with a one-line message saying how to make a good one."""
    value = os.environ.get(name) or (os.environ.get(fallback) if fallback else None)
    shown = name if not fallback or os.environ.get(name) else fallback
    if not value:
        raise ConfigError(f"environment variable {name} is required (e.g. openssl rand -hex 32)")
    check_secret(shown, value)
    return value


def check_secret(name: str, value: str) -> None:
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(f"{name} is too short ({len(value)} characters, at least {MIN_SECRET_LENGTH}; "
                          f"e.g. openssl rand -hex 32)")
    if len(set(value)) < 8:
        raise ConfigError(f"{name} is too weak (only {len(set(value))} distinct characters; "
                          f"e.g. openssl rand -hex 32)")


def env_int(name: str, default: int, env: Mapping[str, str] | None = None) -> int:
    """``name`` from ``env`` (default: the process environment), or ``default`` when unset or empty."""
    raw = (os.environ if env is None else env).get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean, got {raw!r}")


def var_dir() -> Path:
    """Where embedded state lives (SQLite files, spool, mail, uploads, secrets): private to this user.

    The directory is made 0700 and this process's umask 077, so every file and directory any part of
    the platform creates under it (and elsewhere) is 0600 / 0700."""
    return private_dir(Path(env_str("PORTAL_VAR_DIR", str(REPO_ROOT / "var"))))


def private_dir(path: Path) -> Path:
    """``path`` made 0700 (created if missing), with this process's umask 077 from now on: files the process
    creates are its user's alone (state, keys, mails and uploads hold personal data)."""
    os.umask(0o077)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid == os.getuid():
        path.chmod(0o700)
    return path


def database_url(service: str) -> str:
    """``<SERVICE>_DATABASE_URL`` wins; then ``PORTAL_DATABASE_URL_TEMPLATE`` with ``{service}``;
    otherwise an embedded SQLite file ``var/<service>.db``."""
    explicit = os.environ.get(f"{service.upper()}_DATABASE_URL")
    if explicit:
        return explicit
    template = os.environ.get("PORTAL_DATABASE_URL_TEMPLATE")
    if template:
        return template.format(service=service)
    return f"sqlite:///{var_dir() / (service + '.db')}"


REDIS_SCHEMES = ("redis", "rediss", "unix")
BROKER_SCHEMES = (*REDIS_SCHEMES, "amqp", "amqps")


def redis_url() -> str:
    """Redis for counters and session epochs (and the broker, unless ``PORTAL_BROKER_URL`` names another)."""
    url = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
    _check_scheme("REDIS_URL", url, REDIS_SCHEMES,
                  "a Redis URL (redis://host:6379/0); a RabbitMQ broker goes in PORTAL_BROKER_URL")
    return url


def broker_url() -> str:
    """The event broker: ``PORTAL_BROKER_URL`` (Redis or RabbitMQ: ``amqp://user:password@host:5672/vhost``),
    else the Redis of ``REDIS_URL``. The one place that reads and checks it."""
    url = os.environ.get("PORTAL_BROKER_URL") or redis_url()
    _check_scheme("PORTAL_BROKER_URL", url, BROKER_SCHEMES, "redis://host:6379/0 or amqp://user:password@host:5672/vhost")
    return url


def _check_scheme(name: str, url: str, schemes: tuple[str, ...], expected: str) -> None:
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in schemes:
        shown = f"{scheme}://..." if scheme else "a value without a scheme"
        raise ConfigError(f"{name} must be {expected}; it is {shown}")


def internal_secret() -> bytes:
    """The HMAC key shared by the gateway and the services for the identity headers."""
    return env_secret("PORTAL_INTERNAL_SECRET").encode()


def service_url(service: str) -> str:
    """Base URL of another service, for synchronous calls (``<SERVICE>_URL``)."""
    defaults = {"identity": 8101, "linking": 8102, "content": 8103, "audit": 8104, "web": 8105, "gateway": 8080}
    return env_str(f"{service.upper()}_URL", f"http://127.0.0.1:{defaults[service]}").rstrip("/")


@dataclass(frozen=True)
class CommonSettings:
    """What every service needs; services embed it in their own frozen settings."""

    service: str
    database_url: str
    broker_url: str
    internal_secret: bytes
    max_content_length: int
    outbox_batch_size: int
    relay_interval: float
    # Counters and session epochs; None means the broker's Redis (tests that build settings by hand).
    redis_url: str | None = None

    @property
    def counters_url(self) -> str:
        return self.redis_url or self.broker_url

    @classmethod
    def from_env(cls, service: str) -> CommonSettings:
        return cls(
            service=service,
            database_url=database_url(service),
            broker_url=broker_url(),
            internal_secret=internal_secret(),
            max_content_length=env_int("PORTAL_MAX_BODY_BYTES", 1024 * 1024),
            outbox_batch_size=env_int("PORTAL_OUTBOX_BATCH", 2000),
            relay_interval=env_float("PORTAL_RELAY_INTERVAL", 0.05),
            redis_url=redis_url(),
        )
