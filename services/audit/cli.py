"""audit's operator commands, added to the ``portal`` command: ``portal audit verify|retain|rewrap``."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import click


@contextlib.contextmanager
def _container() -> Iterator[Any]:
    from services.audit.bootstrap import bootstrap

    container = bootstrap()
    try:
        yield container
    finally:
        container.runtime.engine.dispose()


@click.group("audit")
def audit() -> None:
    """The server log store: verify the chain, apply retention."""


@audit.command("verify")
def verify() -> None:
    """Verify the hash chain, its signed checkpoints and retention records.

    Prints {ok, checked, last_seq, first_broken?, problem?}; exits 1 when the chain is broken.
    """
    from services.audit.handlers import integrity

    with _container() as container:
        result = integrity.verify(container.uow, container.settings.signing_key)
    click.echo(json.dumps(result.to_dict()))
    if not result.ok:
        sys.exit(1)


@audit.command("retain")
@click.option("--older-than", "days", type=click.IntRange(min=1), required=True, metavar="DAYS",
              help="Remove events stored more than DAYS days ago (except people under legal hold).")
def retain(days: int) -> None:
    """Remove old events by whole time ranges, leaving a signed record; the chain still verifies."""
    from services.audit.handlers import retention

    with _container() as container:
        record = retention.retain(container.uow, container.settings.signing_key, days)
    click.echo(json.dumps(record) if record else json.dumps({"removed": 0, "message": "nothing to remove"}))


@audit.command("rewrap")
def rewrap() -> None:
    """Wrap every person key under the current PORTAL_AUDIT_KEY_WRAP_KEY (run after changing it, with the
    old one in PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS; then the old one can go). Exit 1 if some key is wrapped
    under a key that is not configured."""
    from services.audit.handlers.privacy import rewrap_person_keys

    with _container() as container:
        result = rewrap_person_keys(container.uow)
    click.echo(json.dumps(result))
    if result["unavailable"]:
        sys.exit(1)


COMMANDS = [audit]
