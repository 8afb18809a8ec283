"""Fast multi-row inserts for the ingestion path, below SQLAlchemy's per-row parameter processing.

Profiling the consumer showed SQLAlchemy's per-row bind processing at about half of the store's time,
so the hot inserts go to the driver directly: one prepared statement run over the whole batch on SQLite
(``executemany``), ``COPY ... FROM STDIN`` on PostgreSQL. Values must already be in the driver's terms;
``time_value`` gives datetimes the form ``shared.db.UtcDateTime`` would have written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session


def time_value(session: Session) -> Callable[[datetime | None, str], Any]:
    """``(moment or None, its iso text) -> value for the driver``; the iso text is ``chain.iso(moment)``,
    the moment is parsed from it when not given."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLAlchemy's SQLite DATETIME storage format (naive UTC, microseconds: "2026-01-31 12:00:00.000000"),
        # so reads and range comparisons made through SQLAlchemy see the same text.
        return lambda _moment, text: f"{text[:10]} {text[11:26]}"
    return lambda moment, text: moment if moment is not None else datetime.fromisoformat(text)


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect.name
    names = ", ".join(columns)
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", list(rows))  # noqa: S608 - names are ours
    elif dialect == "postgresql":
        raw: Any = conn.connection.driver_connection  # the psycopg connection of this transaction
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:  # any other database: portable, slower
        conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
