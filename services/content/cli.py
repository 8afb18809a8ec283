"""content's operator commands, added to the ``portal`` command: ``portal content purge-complaints|sweep-files``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import click

from shared.identity import Identity


@contextlib.contextmanager
def _container() -> Iterator[Any]:
    from services.content.bootstrap import bootstrap

    container = bootstrap()
    try:
        yield container
    finally:
        container.runtime.engine.dispose()


@click.group("content")
def content() -> None:
    """Content items, files, queries and complaints."""


@content.command("purge-complaints")
def purge_complaints() -> None:
    """Delete the complaints kept after their author's erasure whose retention period is over
    (CONTENT_COMPLAINT_RETENTION_DAYS after the case was closed). `portal schedule` runs it daily."""
    from services.content.handlers import privacy

    with _container() as container:
        retention = timedelta(days=container.settings.complaint_retention_days)
        gone = privacy.purge_expired_complaints(container.uow(Identity(user_id="system:cli")), retention)
    click.echo(json.dumps({"deleted": len(gone), "query_ids": gone}))


@content.command("sweep-files")
@click.option("--older-than-hours", "hours", type=click.IntRange(min=1), default=24, show_default=True,
              help="Leave younger files alone: they may belong to an upload still in progress.")
def sweep_files(hours: int) -> None:
    """Delete stored files no collateral points at (an upload whose process died before recording it)
    and unfinished uploads. `portal schedule` runs it daily."""
    from services.content.handlers.collaterals import sweep_files as sweep

    with _container() as container:
        result = sweep(container.uow(Identity(user_id="system:cli")), container.storage, timedelta(hours=hours))
    click.echo(json.dumps(result))


COMMANDS = [content]
