"""identity's operator commands, added to the ``portal`` command (services/cli)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from services.identity.domain.errors import EmailUnverified, Invalid, NotFound, PolicyVersionExists
from services.identity.domain.rules import STAFF_ROLES
from shared.identity import Identity

OPERATOR = "system:cli"


@contextlib.contextmanager
def _container() -> Iterator[Any]:
    """The service's container for one command; its connections are closed when the command ends."""
    from services.identity.bootstrap import bootstrap

    container = bootstrap()
    try:
        yield container
    finally:
        container.runtime.engine.dispose()


@click.command("grant-role")
@click.argument("email")
@click.argument("role", type=click.Choice(STAFF_ROLES))
@click.option("--unconfirmed", is_flag=True,
              help="Grant even though the address is not confirmed: you vouch that the account is the person's.")
def grant_role(email: str, role: str, unconfirmed: bool) -> None:
    """Give the account with EMAIL a staff ROLE (admin, compliance, support, editor).

    The address must be confirmed (its owner opened the mailed link), unless --unconfirmed.
    The person's open sessions end: they log in again to use the role.
    """
    from services.identity.handlers import staff

    try:
        with _container() as c:
            user_id, changed = staff.grant_role(c.uow(Identity(user_id=OPERATOR)), c.counters, role=role,
                                                granted_by=OPERATOR, email=email, confirmed_only=not unconfirmed)
    except (NotFound, Invalid, EmailUnverified) as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{'granted' if changed else 'already had'} {role} to {email} ({user_id})")


@click.command("revoke-role")
@click.argument("email")
@click.argument("role", type=click.Choice(STAFF_ROLES))
def revoke_role(email: str, role: str) -> None:
    """Take a staff ROLE away from the account with EMAIL."""
    from services.identity.handlers import staff

    try:
        with _container() as c:
            user_id, changed = staff.revoke_role(c.uow(Identity(user_id=OPERATOR)), c.counters, role=role,
                                                 revoked_by=OPERATOR, email=email)
    except (NotFound, Invalid) as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{'revoked' if changed else 'did not have'} {role} from {email} ({user_id})")


@click.group("policy")
def policy() -> None:
    """Privacy policy versions."""


@policy.command("publish")
@click.option("--version", "version", required=True, help="The new version's name, e.g. 2 or 2025-06.")
@click.option("--file", "file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The policy text.")
@click.option("--reduces-rights", is_flag=True,
              help="The version reduces people's rights: each user must accept it before going on.")
def publish(version: str, file: Path, reduces_rights: bool) -> None:
    """Put a new policy version in force and mail a notice to every user."""
    from services.identity.handlers.policy import publish_policy

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file} is not UTF-8 text") from exc
    try:
        with _container() as c:
            result = publish_policy(c.uow(Identity(user_id=OPERATOR)), c.settings, c.counters, version=version,
                                    text=text, reduces_rights=reduces_rights, actor=OPERATOR)
    except (PolicyVersionExists, Invalid) as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"published policy {result.version} (reduces rights: {'yes' if result.reduces_rights else 'no'})")


@policy.command("show")
def show() -> None:
    """Print the version in force."""
    from services.identity.handlers.policy import current_policy

    with _container() as c:
        p = current_policy(c.read_uow())
    click.echo(f"{p.version}\t{p.published_at.isoformat()}\treduces_rights={p.reduces_rights}")


@click.group("privacy")
def privacy() -> None:
    """Privacy requests: exports, erasures and their ledger."""


@privacy.command("retry-exports")
def retry_exports() -> None:
    """Ask the services again for every export section still pending (run it after an outage, or
    periodically: a section is only fetched while pending)."""
    from services.identity.handlers.privacy_exports import retry_pending_exports

    with _container() as c:
        results = retry_pending_exports(c.uow(Identity(user_id=OPERATOR)), c.export_sources)
    for export_id, missing in results.items():
        click.echo(f"{export_id}\t{'completed' if not missing else 'still pending: ' + ', '.join(missing)}")
    click.echo(f"{len(results)} pending export(s) retried, "
               f"{sum(1 for m in results.values() if not m)} completed", err=True)


@privacy.command("replay-erasures")
def replay_erasures() -> None:
    """Re-apply every erasure in the ledger after a backup was restored: identity erases its own data
    again and every service receives identity.privacy.erasure_replayed (the relay must be running, or
    run later, to deliver it)."""
    from services.identity.handlers.privacy_erasures import replay_erasures as replay

    with _container() as c:
        entries = replay(c.uow(Identity(user_id=OPERATOR)), c.counters, c.ledger_file, actor=OPERATOR)
    for entry in entries:
        click.echo(f"{entry.request_id}\t{entry.user_id}\treplayed")
    click.echo(f"{len(entries)} erasure(s) replayed", err=True)


@privacy.command("purge-exports")
def purge_exports() -> None:
    """Delete the data of exports past their keeping time (IDENTITY_EXPORT_KEEP_SECONDS)."""
    from services.identity.handlers.privacy_exports import purge_expired_exports

    with _container() as c:
        count = purge_expired_exports(c.uow(Identity(user_id=OPERATOR)), c.settings)
    click.echo(f"{count} expired export(s) purged")


COMMANDS = [grant_role, revoke_role, policy, privacy]
