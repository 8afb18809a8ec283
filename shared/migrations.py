"""Migration helpers for the infrastructure tables every service has (outbox, inbox, dead letters).

Their shape is fixed here; a change to it needs a new migration in every service, never an edit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData

from shared.inbox import dead_letters_table, processed_events_table
from shared.outbox import outbox_table


def infra_metadata() -> MetaData:
    md = MetaData()
    outbox_table(md)
    processed_events_table(md)
    dead_letters_table(md)
    return md


def create_infra_tables(op: Any) -> None:
    infra_metadata().create_all(bind=op.get_bind())


def drop_infra_tables(op: Any) -> None:
    infra_metadata().drop_all(bind=op.get_bind())
