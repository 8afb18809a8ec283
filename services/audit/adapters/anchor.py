"""The external anchor: signed chain heads kept outside the database, like CloudTrail's digest files.

Whoever can rewrite the database can also put back an older signed head and drop everything after it;
the anchor, written by the audit writer after every commit that moved the head and kept elsewhere (its
own directory by default, ``PORTAL_AUDIT_ANCHOR_PATH`` for a mounted append-only or remote file
system), still holds the later head, and the verifier finds the rows it names missing.

The file is append-only JSON lines, one signed head per line. It is written after the commit, so it may
lag the database (a crash between the two) but is never ahead of it. Several workers append in commit
order give or take a line, so the verifier takes the highest head of the file's tail, not the last line.

``PORTAL_AUDIT_ANCHOR_URL`` chooses another store: a SQL database of its own (``sqlite:///…`` or
``postgresql+psycopg://…``, e.g. another server whose account can only INSERT and SELECT), where each head is
one inserted row of ``audit_anchor_heads``. The same verification reads it: the highest signed head. It
must not be the log store's own database (refused at start): the point is a copy the database's
administrator cannot rewrite together with the rows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import BigInteger, Column, Engine, Integer, MetaData, String, Table, Text, insert, make_url, select

from services.audit.domain.verify import Head
from shared.config import ConfigError
from shared.db import make_engine

TAIL_BYTES = 256 * 1024  # the highest head is among the last lines; reading the whole file is not needed


class HeadAnchor(Protocol):
    def record(self, head: Head) -> None: ...

    def latest(self) -> Head | None: ...

    def latest_by_chain(self) -> dict[int, Head]: ...

    def describe(self) -> dict[str, Any]: ...


def highest_by_chain(heads: list[Head]) -> dict[int, Head]:
    """A store of several chains: the highest anchored head of each chain (such heads name their chain)."""
    out: dict[int, Head] = {}
    for head in heads:
        chain = head.chain or 0
        if chain not in out or head.seq > out[chain].seq:
            out[chain] = head
    return out


class FileAnchor:
    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, head: Head) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = (json.dumps(head.to_dict(), sort_keys=True, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)  # one write of one short line: appends from several processes do not interleave
        finally:
            os.close(fd)

    def latest(self) -> Head | None:
        return max(self._tail(), key=lambda h: h.seq, default=None)

    def latest_by_chain(self) -> dict[int, Head]:
        return highest_by_chain(self._tail())

    def _tail(self) -> list[Head]:
        try:
            with self.path.open("rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - TAIL_BYTES))
                tail = fh.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            return []
        heads = []
        for line in tail[1:] if len(tail) > 1 and os.path.getsize(self.path) > TAIL_BYTES else tail:
            try:
                heads.append(Head.from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                continue  # a torn or foreign line: the signature of the chosen head is what counts
        return heads

    def describe(self) -> dict[str, Any]:
        latest = self.latest()
        return {"kind": "file", "location": str(self.path), "exists": self.path.exists(),
                "anchored_seq": latest.seq if latest else None,
                "anchored_at": latest.signed_at if latest else None}


_SQL = MetaData()
# Append-only by use: the writer only INSERTs (grant it nothing else on a server of its own).
anchor_heads = Table(
    "audit_anchor_heads",
    _SQL,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("seq", BigInteger, nullable=False, index=True),
    Column("head", Text, nullable=False),  # the signed head as the file holds it: one JSON object
    Column("signed_at", String(40), nullable=False),
)
SQL_TAIL = 64  # rows read: the highest heads, by seq


class SqlAnchor:
    """Signed heads as rows of ``audit_anchor_heads`` in a database of their own (``PORTAL_AUDIT_ANCHOR_URL``)."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)
        self._ready = False

    def _table(self) -> Table:
        if not self._ready:
            _SQL.create_all(self.engine, checkfirst=True)
            self._ready = True
        return anchor_heads

    def record(self, head: Head) -> None:
        text = json.dumps(head.to_dict(), sort_keys=True, separators=(",", ":"))
        with self.engine.begin() as conn:
            conn.execute(insert(self._table()).values(seq=head.seq, head=text, signed_at=head.signed_at))

    def latest(self) -> Head | None:
        return max(self._heads(SQL_TAIL), key=lambda h: h.seq, default=None)

    def latest_by_chain(self) -> dict[int, Head]:
        return highest_by_chain(self._heads(SQL_TAIL * 4))

    def _heads(self, rows: int) -> list[Head]:
        table = self._table()
        with self.engine.connect() as conn:
            texts = conn.execute(select(table.c.head).order_by(table.c.seq.desc(), table.c.id.desc())
                                 .limit(rows)).scalars().all()
        heads = []
        for text in texts:
            try:
                heads.append(Head.from_dict(json.loads(text)))
            except (ValueError, KeyError, TypeError):
                continue  # a foreign row: the signature of the chosen head is what counts
        return heads

    def describe(self) -> dict[str, Any]:
        latest = self.latest()
        return {"kind": "sql", "location": make_url(self.url).render_as_string(hide_password=True),
                "exists": latest is not None, "anchored_seq": latest.seq if latest else None,
                "anchored_at": latest.signed_at if latest else None}


def anchor_for(url: str | None, path: Path, database_url: str) -> HeadAnchor:
    """The anchor ``PORTAL_AUDIT_ANCHOR_URL`` names (``file:///path``, or a SQL database URL), else the file
    at ``path``. A SQL anchor in the log store's own database is refused: it would add nothing."""
    if not url:
        return FileAnchor(path)
    if url.startswith("file://"):
        return FileAnchor(Path(url[len("file://"):]))
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - any unparsable URL is a configuration error
        raise ConfigError("PORTAL_AUDIT_ANCHOR_URL must be file:///path or a SQL database URL") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError("PORTAL_AUDIT_ANCHOR_URL must be file:///path, sqlite:///path or postgresql+psycopg://…")
    if _same_database(parsed, make_url(database_url)):
        raise ConfigError("PORTAL_AUDIT_ANCHOR_URL names the audit database itself: the anchor must live elsewhere")
    return SqlAnchor(url)


def _same_database(a: Any, b: Any) -> bool:
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return bool(a.database) and os.path.realpath(a.database or "") == os.path.realpath(b.database or "")
    return (a.host, a.port or 5432, a.database) == (b.host, b.port or 5432, b.database)
