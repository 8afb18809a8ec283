"""The ``portal`` command: run the platform, migrate, relay, operate events, and each service's own
commands (``grant-role``, ``audit verify``, ``policy publish``, ...) collected from ``services/<name>/cli.py``.

Operations code, not a service: no web process, no queue, no database of its own. It lives under
``services/`` because every image carries it (the root Dockerfile keeps it beside the chosen service) and
it imports each service's ``cli.py`` and ``bootstrap.py`` lazily, so an image with one service runs its commands.
"""

from __future__ import annotations

import importlib
import json
import logging
import signal
import sys
import threading
from typing import Any

import click

SERVICES = ("identity", "linking", "content", "audit", "gateway")
CONSUMERS = ("identity", "linking", "content", "audit")


def load_container(service: str, run_migrations: bool = True) -> Any:
    """The service's container; ``run_migrations`` applies its migrations even where
    ``PORTAL_MIGRATE_ON_START=0`` (``portal migrate`` and ``portal run`` migrate on purpose)."""
    from shared.runtime import migrate_on_start

    module = importlib.import_module(f"services.{service}.bootstrap")
    container = module.bootstrap(run_migrations=run_migrations)
    runtime = getattr(container, "runtime", None)
    if run_migrations and runtime is not None and not migrate_on_start():
        runtime.migrate()
    return container


class PortalGroup(click.Group):
    """The built-in commands at once; each service's own (``services/<name>/cli.py``) only when a name is not
    built in or the list is asked for: ``portal run``, ``relay`` and ``schedule`` stay long in memory, and would
    otherwise carry every service's command code (and Flask, Jinja2, ... through it) for nothing."""

    loaded = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and not self.loaded:
            _add_service_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        if not self.loaded:
            _add_service_commands()
        return super().list_commands(ctx)


@click.group(cls=PortalGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Operate the portal privacy platform."""
    from services.cli.run_plan import apply_local_env

    apply_local_env(ctx.invoked_subcommand)  # reach the platform `make run` started (its var dir)
    from shared.logs import configure

    configure("portal", ctx.invoked_subcommand or "cli", level=logging.DEBUG if verbose else logging.INFO)


@main.command()
@click.argument("services", nargs=-1, type=click.Choice(SERVICES))
def migrate(services: tuple[str, ...]) -> None:
    """Apply every (or the named) service's migrations."""
    for service in services or SERVICES:
        load_container(service, run_migrations=True)
        click.echo(f"{service}: migrated")


@main.command()
@click.argument("services", nargs=-1, type=click.Choice(SERVICES))
def relay(services: tuple[str, ...]) -> None:
    """Publish pending outbox rows to the broker, continuously, for each named service (default all)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = []
    state = []
    from shared import tracing
    from shared.store_metrics import queue_depth

    tracing.configure("relay")  # each published event's span (shared/outbox.py), when exported
    from shared.runtime import migrate_on_start

    for service in services or SERVICES:
        # Migrated already under `portal run` (PORTAL_MIGRATE_ON_START=0): no Alembic in this long-lived process.
        container = load_container(service, run_migrations=migrate_on_start())
        state += container.runtime.metrics_state(consumes=False)
        relay_ = container.runtime.relay()
        interval = container.runtime.settings.relay_interval
        # The gateway's access events go to audit: while audit is behind, fewer and larger messages. On Redis
        # only: with RabbitMQ the fault suite's audit outage caught up slower with it (13.0 s, a 10 s stall of
        # deliveries, against 6.7 s without; not understood yet, docs/reliability.md).
        broker = container.runtime.settings.broker_url
        backlog = queue_depth("audit", broker) if service == "gateway" and broker.startswith("redis") else None
        thread = threading.Thread(target=relay_.run_forever, args=(stop, interval, backlog), name=f"relay-{service}")
        thread.start()
        threads.append(thread)
        logging.getLogger("portal.relay").info("relay: %s outbox -> broker", service)
        eraser = getattr(container, "spool_eraser", None)
        if eraser is not None:  # the gateway's spool: erasure reaches its published rows
            thread = threading.Thread(target=eraser().run_forever, args=(stop,), name=f"eraser-{service}")
            thread.start()
            threads.append(thread)
    _serve_metrics(state)
    for thread in threads:
        thread.join()


def _serve_metrics(state: list) -> None:
    """``PORTAL_METRICS_PORT``: this process's metrics (and its state gauges) on a listener of its own; the
    relay and the scheduler have no web tier to show them (shared/metrics.py)."""
    import os

    port = int(os.environ.get("PORTAL_METRICS_PORT") or 0)
    if port:
        from shared.metrics import serve_in_background

        serve_in_background(port, state, addr=os.environ.get("PORTAL_METRICS_ADDR", "0.0.0.0"))  # noqa: S104


@main.command()
@click.argument("services", nargs=-1, type=click.Choice(SERVICES))
def schedule(services: tuple[str, ...]) -> None:
    """Run the periodic duties — retention, export retries and purges, audit verification — for each named
    service (default all), until stopped. ``portal run`` starts it; docs/operations.md lists the intervals."""
    import os
    import time

    from services.cli.schedule import Schedule, duties, serve
    from shared.config import ConfigError, var_dir

    try:
        chosen = duties(os.environ, services or None)
        start_delay = float(os.environ.get("PORTAL_SCHEDULE_START_DELAY", "60"))
    except (ValueError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for duty in chosen:
        logging.getLogger("portal.schedule").info("schedule: %s every %s s (%s)", duty.name, duty.every, duty.why)
    plan = Schedule(chosen, var_dir() / "schedule.json", start_delay=start_delay, now=time.time())
    _serve_metrics([plan.metrics_state])
    serve(plan, stop)


@main.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False), default="deploy-secrets", show_default=True,
              help="Where to keep them (created 0700; keep it out of the repository and back it up).")
def keys(folder: str) -> None:
    """Generate, once, every secret a containerised deployment needs (docker-compose.yml, deploy/k8s) into
    FOLDER/portal-secrets.env (0600): the internal secret, audit's keys, one HMAC key per event
    (producer, consumer) pair, a Redis password per ACL user, a PostgreSQL password per role, a RabbitMQ
    password per user; and the audit writer's Ed25519 key pair. Values already there (or in the environment)
    are kept. Then: docker compose --env-file FOLDER/portal-secrets.env up --build"""
    import os
    from pathlib import Path

    from services.cli.keys import PUBLIC_KEY_FILE, SIGNING_KEY_FILE, ensure_audit_keys
    from services.cli.secret_files import DEPLOY_SECRET_NAMES, load_or_create_secrets, write_private_env
    from shared.config import private_dir

    path = private_dir(Path(folder).resolve()) / "portal-secrets.env"
    env = {k: v for k, v in os.environ.items() if k != "PORTAL_EVENT_MASTER_KEY"}  # pair keys of their own
    values = load_or_create_secrets(path, env, DEPLOY_SECRET_NAMES)
    files = ensure_audit_keys(path.parent, {})
    write_private_env(path, "Generated by `portal keys`; keep private, apart from the data backups.",
                      {**values, SIGNING_KEY_FILE: files[SIGNING_KEY_FILE], PUBLIC_KEY_FILE: files[PUBLIC_KEY_FILE]})
    click.echo(f"{path}: {len(DEPLOY_SECRET_NAMES)} secrets; audit key pair in {path.parent}")


@main.group()
def events() -> None:
    """Event operations: dead letters, replay, schema snapshots."""


@events.command("dead-letters")
@click.option("--service", type=click.Choice(CONSUMERS), multiple=True, help="Default: every consumer.")
@click.option("--all", "include_replayed", is_flag=True, help="Include dead letters already replayed.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def dead_letters(service: tuple[str, ...], include_replayed: bool, as_json: bool) -> None:
    """List dead-lettered events of each consumer."""
    total = 0
    for name in service or CONSUMERS:
        store = load_container(name).runtime.dead_letters()
        for row in store.entries(include_replayed=include_replayed, limit=10_000):
            total += 1
            if as_json:
                click.echo(json.dumps({"service": name, **row}, default=str))
            else:
                state = "replayed" if row["replayed_at"] else "pending"
                click.echo(f"{name}\t{row['id']}\t{row['event_id']}\t{row['type']}\t{row['attempts']}\t"
                           f"{row['failed_at']:%Y-%m-%dT%H:%M:%S}\t{state}\t{row['error'][:120]}")
    if not as_json:
        click.echo(f"{total} dead letter(s)", err=True)


@events.command("replay")
@click.option("--service", type=click.Choice(CONSUMERS), required=True)
@click.option("--id", "ids", type=int, multiple=True, help="Dead letter ids (default: all pending).")
def replay(service: str, ids: tuple[int, ...]) -> None:
    """Send dead letters back to their service's queue."""
    from shared.bus.consumer import replay_dead_letters

    runtime = load_container(service).runtime
    count = replay_dead_letters(runtime.dead_letters(), runtime.celery(), service, list(ids) or None)
    click.echo(f"replayed {count} event(s) to {service}")


@events.command("snapshot")
def snapshot() -> None:
    """Record the current event schemas as published (refuses incompatible changes)."""
    from shared.events.compat import write_snapshot

    try:
        for path in write_snapshot():
            click.echo(f"wrote {path}")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _add_service_commands() -> None:
    PortalGroup.loaded = True
    for service in SERVICES:
        try:
            module = importlib.import_module(f"services.{service}.cli")
        except ModuleNotFoundError as exc:
            if exc.name not in (f"services.{service}", f"services.{service}.cli"):
                raise
            continue
        for command in getattr(module, "COMMANDS", []):
            main.add_command(command)


try:
    from services.cli.run import run as _run_command
    from services.cli.workers import workers as _workers_command

    main.add_command(_workers_command)

    main.add_command(_run_command)
except ModuleNotFoundError as exc:  # the supervisor module is optional until it exists
    if exc.name != "services.cli.run":
        raise

if __name__ == "__main__":
    sys.exit(main())
