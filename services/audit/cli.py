"""audit's operator commands, added to the ``portal`` command: ``portal audit verify|retain|rewrap|public-key|
resign``."""

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


RETENTION_DATABASE_URL = "PORTAL_AUDIT_RETENTION_DATABASE_URL"


@click.group("audit")
def audit() -> None:
    """The server log store: verify the chain, apply retention."""


@audit.command("verify")
def verify() -> None:
    """Verify the hash chain, its signed checkpoints, the signed head, the external anchor and the retention
    record.

    Prints {ok, checked, last_seq, first_broken?, problem?, problems?} (every problem found, each naming
    what is missing or altered); exits 1 when the chain is broken.
    """
    from services.audit.handlers import integrity

    with _container() as container:
        result = integrity.verify(container)
    click.echo(json.dumps(result.to_dict()))
    if not result.ok:
        sys.exit(1)


@audit.command("retain")
@click.option("--older-than", "days", type=click.IntRange(min=1), default=None, metavar="DAYS",
              help="Remove events stored more than DAYS days ago (except people under legal hold); at least, and "
                   "by default, the retention period PORTAL_AUDIT_RETENTION_DAYS.")
def retain(days: int | None) -> None:
    """Remove old events by whole time ranges, leaving a signed record; the chain still verifies.
    Connects as ``PORTAL_AUDIT_RETENTION_DATABASE_URL`` when set: the writer's role cannot delete events."""
    import os

    from services.audit.handlers import retention

    if os.environ.get(RETENTION_DATABASE_URL):
        os.environ["AUDIT_DATABASE_URL"] = os.environ[RETENTION_DATABASE_URL]

    with _container() as container:
        try:
            record = retention.retain(container, days or container.settings.retention_days)
        except retention.RetentionTooShort as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(record) if record else json.dumps({"removed": 0, "message": "nothing to remove"}))


@audit.command("rewrap")
def rewrap() -> None:
    """Wrap every person key under the current PORTAL_AUDIT_KEY_WRAP_KEY (run after changing it, with the
    old one in PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS; then the old one can go). Exit 1 if some key is wrapped
    under a key that is not configured."""
    from services.audit.handlers.privacy import rewrap_person_keys

    with _container() as container:
        result = rewrap_person_keys(container)
    click.echo(json.dumps(result))
    if result["unavailable"]:
        sys.exit(1)


@audit.command("public-key")
def public_key() -> None:
    """Print the public key that verifies checkpoints and heads ({algorithm, key_id, pem, raw}): anyone
    holding it can verify the chain, nobody can sign with it."""
    with _container() as container:
        published = container.settings.verifier.published()
    if not published:
        raise click.ClickException("no audit public key configured (PORTAL_AUDIT_PUBLIC_KEY_FILE)")
    click.echo(json.dumps(published))


@audit.command("resign")
def resign() -> None:
    """Sign again, with the Ed25519 key, the checkpoints and retention record a store holds from the old
    HMAC key (PORTAL_AUDIT_SIGNING_KEY), after checking them with it; sign and anchor the head. Refuses
    (exit 1) when the chain does not verify under the old key."""
    from services.audit.handlers import integrity

    with _container() as container:
        result = integrity.resign(container)
    click.echo(json.dumps(result))
    if not result["resigned"]:
        sys.exit(1)


COMMANDS = [audit]
