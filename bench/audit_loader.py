"""Loading a large audit store on PostgreSQL fast: the rows the ingestion use case would write, with COPY.

``bench_audit_scale`` needs millions of stored events; through the ingestion use case (one transaction per
batch, the indexes maintained row by row) that took about 2,000 s per million on the shared machine. This
writes the same store directly:
- every person's key made first (one query), then each event's actor and personal payload fields sealed
  under it (``sealing.seal_row``: the worker's own code), the payload as canonical
  JSON, numbered and chained with ``chain.chain_hash`` over the stored, sealed form;
- the rows streamed with one ``COPY ... FROM STDIN`` per chunk, the secondary indexes and the ``event_id``
  unique constraint dropped meanwhile and built again at the end (a sort per index instead of a random
  insert per row and index);
- the signed checkpoints every ``PORTAL_AUDIT_CHECKPOINT_EVERY`` numbers, linked as the worker links them,
  and at the end the signed head, appended to the external anchor by the unit of work's commit.

So the store verifies (``handlers.integrity.verify``) exactly as one the worker wrote. Left out: the
projections (trends rollup, person references, holds), which search, export and verification never read.
One chain only (``PORTAL_AUDIT_CHAINS=1``), on an empty store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from services.audit.adapters import tables
from services.audit.adapters.chain_store import INSERT_COLUMNS, stored_time
from services.audit.domain import sealing
from services.audit.domain.chain import GENESIS, chain_hash, iso
from services.audit.domain.verify import Checkpoint
from shared.events import Event

CHUNK = 100_000  # rows per COPY and transaction


def load(container: Any, events: Iterable[Event], people: Iterable[str],
         progress: Callable[[int], None] | None = None) -> int:
    """Store ``events`` (numbered from 1) in the empty store of ``container``; ``people``: every actor among
    them that is a person (their keys are made first). Returns how many rows were written."""
    settings = container.settings
    engine = container.runtime.engine
    if engine.dialect.name != "postgresql" or settings.chains != 1:
        raise ValueError("the COPY loader writes one chain on PostgreSQL")
    now = datetime.now(UTC)
    index_key = settings.actor_index_key
    with container.uow() as uow:
        if uow.search.last_seq():
            raise ValueError("the COPY loader writes an empty store only")
        ring = uow.keys.for_batch({sealing.person_token(index_key, p) for p in people}, now)
        uow.commit()
    dropped = _drop_indexes(engine)
    every = settings.checkpoint_every
    seq, prev, last_checkpoint = 0, GENESIS, 0
    raw = engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        with driver.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
        driver.commit()
        rows: list[tuple] = []
        checkpoints: list[dict[str, Any]] = []
        stored_iso = iso(now)
        sealer = sealing.Sealer()
        tokens: dict[str, str] = {}
        for e in events:
            seq += 1
            token = tokens.get(e.actor)
            if token is None:
                token = tokens[e.actor] = sealing.person_token(index_key, e.actor)
            person = sealing.is_person(e.actor)
            owner = token if person and sealing.has_personal(e.type, e.version, e.payload) else None
            actor, payload = sealing.seal_row(sealer, ring, e.type, e.version, e.actor, token if person else None,
                                              e.payload, owner)
            occurred_iso, _moment = stored_time(e.occurred_at)
            record = {"seq": seq, "event_id": e.event_id, "type": e.type, "actor": actor, "subject": e.subject,
                      "correlation_id": e.correlation_id, "occurred_at": occurred_iso, "stored_at": stored_iso,
                      "producer": e.producer, "version": e.version, "payload": payload}
            digest = chain_hash(prev, record)
            rows.append((seq, e.event_id, e.type, actor, token, e.subject, e.correlation_id, occurred_iso,
                         stored_iso, e.producer, e.version, record["payload"], prev, digest, 0))
            if seq % every == 0:
                cp = Checkpoint(seq=seq, hash=digest, created_at=stored_iso, signature="", prev_seq=last_checkpoint)
                checkpoints.append({**_checkpoint_row(container, cp), "chain": 0})
                last_checkpoint = seq
            prev = digest
            if len(rows) == CHUNK:
                _write(driver, rows, checkpoints)
                rows, checkpoints = [], []
                sealer = sealing.Sealer()
                if progress:
                    progress(seq)
        _write(driver, rows, checkpoints)
    finally:
        raw.close()
    _create_indexes(engine, dropped)
    with container.uow() as uow:
        uow.chain.lock_head()
        uow.chain.sign_head(seq, prev, last_checkpoint, stored_iso)
        uow.commit()  # and the signed head to the anchor
    return seq


def _checkpoint_row(container: Any, cp: Checkpoint) -> dict[str, Any]:
    signer = container.settings.signer
    return {"seq": cp.seq, "hash": cp.hash, "created_at": cp.created_at, "prev_seq": cp.prev_seq,
            "key_id": signer.key_id, "signature": signer.sign(cp.message())}


def _write(driver: Any, rows: list[tuple], checkpoints: list[dict[str, Any]]) -> None:
    names = ", ".join(INSERT_COLUMNS)
    with driver.cursor() as cur:
        with cur.copy(f"COPY audit_events ({names}) FROM STDIN") as copy:  # noqa: S608 - our own names
            for row in rows:
                copy.write_row(row)
        if checkpoints:
            keys = list(checkpoints[0])
            statement = (f"INSERT INTO {tables.checkpoints.name} ({', '.join(keys)}) "  # noqa: S608 - our own names
                         f"VALUES ({', '.join(['%s'] * len(keys))})")
            cur.executemany(statement, [tuple(c[k] for k in keys) for c in checkpoints])
    driver.commit()


def _drop_indexes(engine: Any) -> list[str]:
    """Drop audit_events' secondary indexes and its unique constraint; the statements that make them again."""
    made: list[str] = []
    with engine.begin() as conn:
        for name, definition in conn.execute(text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'audit_events'::regclass AND contype = 'u'")):
            conn.execute(text(f'ALTER TABLE audit_events DROP CONSTRAINT "{name}"'))
            made.append(f'ALTER TABLE audit_events ADD CONSTRAINT "{name}" {definition}')
        for name, definition in conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_events' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'audit_events'::regclass)")):
            conn.execute(text(f'DROP INDEX "{name}"'))
            made.append(definition)
    return made


def _create_indexes(engine: Any, statements: list[str]) -> None:
    with engine.connect() as conn:
        conn.execute(text("SET maintenance_work_mem = '256MB'"))
        for statement in statements:
            started = time.perf_counter()
            conn.execute(text(statement))
            conn.commit()
            print(f"   {statement[:70]}... {time.perf_counter() - started:.0f} s", flush=True)
