"""``portal run``: the whole platform on one machine, from embedded defaults, under one supervisor.

Order on start: the var dir and its secrets, Redis (unless ``REDIS_URL`` names one), every service's
migrations, then the web processes, the Celery workers, the outbox relay and the gateway. It prints
the portal's URL once the gateway's ``/readyz`` answers 200. Ctrl-C or SIGTERM stops the gateway
first, then the services and the relay, then the workers (they finish their batch), Redis last.
A child that dies unexpectedly is restarted with backoff. The plan itself is in ``run_plan.py``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click

from services.cli.keys import ensure_audit_keys
from services.cli.redis_users import CLI_REDIS_USER, LOCAL, embedded_redis_url
from services.cli.run_plan import (
    Layout,
    RunSettings,
    child_env,
    chosen_services,
    local_env,
    local_env_path,
    plan,
    readiness_urls,
    redis_spec,
    stop_stages,
    worker_children,
)
from services.cli.schedule import start_in_thread
from services.cli.secret_files import load_or_create_secrets, read_env_file, write_private_env
from services.cli.supervisor import Backoff, LogMux, Supervisor
from shared.config import ConfigError, private_dir
from shared.metrics import prepare_multiprocess_dir

# -- steps ---------------------------------------------------------------------------------------


def migrate(services: tuple[str, ...]) -> tuple[str, ...]:
    """Apply each service's migrations (the ``portal migrate`` logic); return those with an outbox."""
    from services.cli import load_container

    with_outbox = []
    for service in services:
        container = load_container(service, run_migrations=True)
        runtime = getattr(container, "runtime", None)
        if runtime is not None and "outbox" in runtime.metadata.tables:
            with_outbox.append(service)
        if runtime is not None:
            runtime.engine.dispose()  # the children open their own connections
    return tuple(with_outbox)


MIGRATE_MARK = "portal-run: services with an outbox: "


def migrate_in_child(services: tuple[str, ...]) -> tuple[str, ...]:
    """``migrate`` in a child process of its own, which exits when done: every service's code and its
    database drivers loaded for the migrations would otherwise stay in the supervisor for the whole run
    (about 45 MiB of its memory). Its log lines and errors reach the same terminal."""
    if not services:
        return ()
    code = ("import json, sys\n"
            "from services.cli.run import MIGRATE_MARK, migrate\n"
            "print(MIGRATE_MARK + json.dumps(migrate(tuple(sys.argv[1:]))), flush=True)\n")
    done = subprocess.run([sys.executable, "-c", code, *services], env=dict(os.environ), stdout=subprocess.PIPE,
                          text=True, check=False)
    marked = [line for line in done.stdout.splitlines() if line.startswith(MIGRATE_MARK)]
    other = [line for line in done.stdout.splitlines() if not line.startswith(MIGRATE_MARK)]
    if other:
        sys.stdout.write("\n".join(other) + "\n")
    if done.returncode != 0 or not marked:
        raise RuntimeError(f"the migrations exited with status {done.returncode} (their error is above)")
    return tuple(json.loads(marked[-1][len(MIGRATE_MARK):]))


def _reusable(port: str | None) -> int | None:
    """The embedded Redis's port of the last run, if still free: URLs other commands saved stay valid."""
    if port and port.isdigit() and not port_in_use(LOCAL, int(port)):
        return int(port)
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def wait_for_redis(url: str, supervisor: Supervisor | None, timeout: float = 20.0) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except redis.RedisError as exc:
            if supervisor is not None and not supervisor.children["redis"].alive():
                raise click.ClickException("redis-server exited at start; see its lines above") from exc
            if time.monotonic() > deadline:
                raise click.ClickException(f"Redis at {url} did not answer within {timeout:.0f}s") from exc
            time.sleep(0.1)
        finally:
            client.close()


def http_status(url: str, timeout: float = 2.0) -> int | str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - our own loopback URLs
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError) as exc:
        return type(exc).__name__


@contextmanager
def exclusive(run_dir: Path) -> Iterator[None]:
    """One ``portal run`` per var dir: two would fight over ports, pid files and the SQLite files."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "portal.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise click.ClickException(f"another `portal run` is using {run_dir.parent}") from exc
        for stale in run_dir.glob("*.pid"):  # left by a run that was killed; its children died with it
            stale.unlink()
        (run_dir / "supervisor.pid").write_text(f"{os.getpid()}\n")
        try:
            yield
        finally:
            (run_dir / "supervisor.pid").unlink(missing_ok=True)


class StopRequest:
    """SIGINT/SIGTERM/SIGHUP ask for a clean stop; a second one skips the grace period."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.count += 1

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self)


@click.command("run")
def run() -> None:
    """Start the whole platform (Redis, migrations, services, workers, relay, gateway) until Ctrl-C."""
    try:
        settings = RunSettings.from_env()
        layout = Layout.discover(only=chosen_services())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    private_dir(settings.var_dir)  # and umask 077: everything below it (and every child's files) private
    with exclusive(settings.run_dir):
        _run(settings, layout)


def _run(settings: RunSettings, layout: Layout) -> None:
    stop = StopRequest()
    stop.install()
    secret_values = load_or_create_secrets(settings.var_dir / "secrets.env", os.environ)
    secret_values.update(ensure_audit_keys(settings.var_dir, os.environ))
    last_run = read_env_file(local_env_path(settings.var_dir))
    redis_port = settings.redis_port or _reusable(last_run.get("PORTAL_REDIS_PORT")) or free_port()
    # The embedded Redis knows only its ACL users (passwords in var/secrets.env): nothing else on the machine
    # reads or writes the queues, the session epoch or the nonces, and each child is its own user (run_plan).
    redis_url = settings.redis_url or embedded_redis_url(CLI_REDIS_USER, secret_values, redis_port)
    env = child_env(settings, os.environ, secret_values, redis_url)
    os.environ.update(env)  # migrations below run in this process with the children's settings

    binds = {f"{s}-web": (LOCAL, settings.service_ports[s]) for s in layout.web if s != "gateway"}
    if "gateway" in layout.web:
        binds["gateway"] = (settings.host, settings.port)
        if settings.gateway_metrics_port:
            binds["gateway metrics"] = (LOCAL, settings.gateway_metrics_port)
    if settings.relay_metrics_port:
        binds["relay metrics"] = (LOCAL, settings.relay_metrics_port)
    if settings.scheduler_metrics_port:
        binds["scheduler metrics"] = (LOCAL, settings.scheduler_metrics_port)
    if not settings.redis_url:
        binds["redis"] = (LOCAL, redis_port)
    busy = [f"{name} {host}:{port}" for name, (host, port) in binds.items() if port_in_use(host, port)]
    if busy:
        raise click.ClickException("port(s) already in use: " + ", ".join(busy)
                                   + " (set PORT / <SERVICE>_PORT / GATEWAY_METRICS_PORT / RELAY_METRICS_PORT"
                                   " / SCHEDULER_METRICS_PORT / PORTAL_REDIS_PORT)")

    names = ["redis", *(f"{s}-web" for s in layout.web), *worker_children(settings, layout), "relay"]
    log = LogMux(sys.stdout, names)
    supervisor = Supervisor([], settings.run_dir, log, Backoff(), settings.stop_grace)
    supervisor.hurry = lambda: stop.count > 1
    _log_through(log)
    write_private_env(local_env_path(settings.var_dir), "Written by `portal run`: how `portal` commands reach it",
                      local_env(settings, env, None if settings.redis_url else redis_port))
    for service in layout.missing:
        supervisor.say(f"warning: services/{service}/wsgi.py does not exist yet; {service} is skipped")
    try:
        _start_and_watch(settings, layout, supervisor, stop, env, redis_url, redis_port)
    finally:
        supervisor.say("stopping")
        all_specs = [c.spec for c in supervisor.children.values()]
        supervisor.stop(stop_stages(all_specs))
        supervisor.say("all processes stopped")


def _start_and_watch(settings: RunSettings, layout: Layout, supervisor: Supervisor, stop: StopRequest,
                     env: dict[str, str], redis_url: str, redis_port: int) -> None:
    if settings.redis_url:
        supervisor.say(f"using Redis at {_redact(redis_url)} (REDIS_URL)")
        wait_for_redis(redis_url, None)
    else:
        supervisor.add(redis_spec(settings, redis_port, env, env))
        supervisor.start_all(["redis"])
        wait_for_redis(redis_url, supervisor)
        supervisor.say(f"Redis ready at {_redact(redis_url)} (append-only file under {settings.var_dir / 'redis'})")

    try:
        relay_services = migrate_in_child(layout.migrations)
    except Exception as exc:
        logging.getLogger("portal.run").exception("migrations failed")
        raise click.ClickException(f"migrations failed: {type(exc).__name__}: {exc}") from exc
    supervisor.say(f"migrated: {', '.join(layout.migrations) or 'nothing'}")

    specs = plan(settings, layout, relay_services, env, None if settings.redis_url else redis_port)
    for spec in specs:  # counters of a previous run must not add to this one's
        directory = spec.env.get("PROMETHEUS_MULTIPROC_DIR")
        if directory:
            prepare_multiprocess_dir(Path(directory))
    # The scheduler mostly sleeps and runs each duty as a process of its own: a thread here, with the
    # scheduler's own environment for its duties, costs no interpreter (PORTAL_SCHEDULER_PROCESS=1: a child).
    inline = [s for s in specs if s.name == "scheduler" and not settings.scheduler_process]
    specs = [s for s in specs if s not in inline]
    for spec in specs:
        supervisor.add(spec)
    supervisor.start_all([s.name for s in specs])
    schedule_stop = threading.Event()
    for spec in inline:
        start_in_thread(spec.argv[2:], spec.env, schedule_stop)
        supervisor.say(f"scheduler: the duties of {', '.join(spec.argv[2:])} on a thread of portal run")
    try:
        _watch(settings, layout, supervisor, stop)
    finally:
        schedule_stop.set()


def _watch(settings: RunSettings, layout: Layout, supervisor: Supervisor, stop: StopRequest) -> None:
    pending = readiness_urls(settings, layout)
    deadline = time.monotonic() + settings.ready_timeout
    next_check = 0.0
    while not stop.count:
        supervisor.poll()
        now = time.monotonic()
        if pending and now >= next_check:
            next_check = now + 0.5
            last = {name: http_status(url) for name, url in pending.items()}
            pending = {name: url for name, url in pending.items() if last[name] != 200}
            if not pending:
                _announce_ready(settings, layout, supervisor)
            elif now > deadline:
                supervisor.say(f"warning: not ready after {settings.ready_timeout:.0f}s: "
                               + ", ".join(f"{n} {pending[n]} -> {last[n]}" for n in pending)
                               + "; still supervising")
                pending = {}
        time.sleep(0.1)


def _announce_ready(settings: RunSettings, layout: Layout, supervisor: Supervisor) -> None:
    if "gateway" in layout.web:
        supervisor.say(f"Portal ready at {settings.public_url}")
        if not layout.complete:
            supervisor.say(f"warning: running without {', '.join(layout.missing + layout.excluded)}")
    else:
        listing = ", ".join(f"{s}={settings.service_url(s)}" for s in layout.web)
        supervisor.say(f"Services ready (no gateway yet): {listing}")


class _MuxHandler(logging.Handler):
    def __init__(self, log: LogMux) -> None:
        super().__init__()
        self.log = log
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.log.line("portal", self.format(record))


def _log_through(log: LogMux) -> None:
    """This process's own log records (migrations) get the same prefixed lines as the children's."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_MuxHandler(log))
    root.setLevel(min(root.level or logging.INFO, logging.INFO))
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin is noise


def _redact(url: str) -> str:
    """A Redis URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"
