"""The chained store on a real database: batches, duplicates, concurrent writers, tamper detection."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select, text, update

from services.audit.adapters import tables
from services.audit.domain.chain import chain_hash
from services.audit.handlers import integrity
from tests.integration.audit.conftest import events_at, make_event, store

pytestmark = pytest.mark.integration
E = tables.audit_events


def verify(container):
    return integrity.verify(container)


def count(container) -> int:
    with container.runtime.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(E)).scalar_one()


def test_batches_are_numbered_chained_and_deduplicated(container):
    events = events_at(25)
    store(container, events[:10] + events[:3])  # repeats inside one batch
    store(container, events[5:25])  # overlaps the first batch
    assert count(container) == 25
    with container.runtime.engine.connect() as conn:
        rows = conn.execute(select(E.c.seq, E.c.event_id, E.c.prev_hash, E.c.hash).order_by(E.c.seq)).all()
        checkpoints = conn.execute(select(tables.checkpoints.c.seq)).scalars().all()
    assert [r.seq for r in rows] == list(range(1, 26))
    assert [r.event_id for r in rows] == [e.event_id for e in events]
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    assert sorted(checkpoints) == [10, 20]
    result = verify(container)
    assert result.ok and result.checked == 25


def test_concurrent_writers_chain_one_after_the_other(container):
    batches = [events_at(40, subject=f"/w{i}") for i in range(4)]
    shared = make_event(subject="/everyone")
    errors = []

    def writer(batch):
        try:
            for i in range(0, 40, 8):
                store(container, [*batch[i:i + 8], shared])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert count(container) == 161
    assert verify(container).ok


@pytest.fixture
def tampered(container):
    store(container, events_at(30))
    assert verify(container).ok

    def sql(statement, **params):
        with container.runtime.engine.begin() as conn:
            conn.execute(statement, params)

    return sql


def test_edited_row(container, tampered):
    tampered(update(E).where(E.c.seq == 7).values(actor="someone-else"))
    result = verify(container)
    assert (result.ok, result.first_broken) == (False, 7)


def test_deleted_row(container, tampered):
    tampered(delete(E).where(E.c.seq == 12))
    assert verify(container).first_broken == 12


def test_inserted_row(container, tampered):
    # Make room at 16 by shifting the rest up (highest first), then insert a self-consistent forgery.
    with container.runtime.engine.begin() as conn:
        for seq in range(30, 15, -1):
            conn.execute(update(E).where(E.c.seq == seq).values(seq=seq + 1))
        row = conn.execute(select(E).where(E.c.seq == 15)).one()._asdict()
        forged = {**row, "seq": 16, "event_id": "00000000-0000-4000-8000-000000000016", "prev_hash": row["hash"],
                  "actor": "forger"}
        forged["hash"] = chain_hash(forged["prev_hash"], forged)
        conn.execute(E.insert().values(**forged))
    result = verify(container)
    assert (result.ok, result.first_broken) == (False, 17)


def test_two_reordered_rows(container, tampered):
    with container.runtime.engine.begin() as conn:
        conn.execute(update(E).where(E.c.seq == 20).values(seq=-20))
        conn.execute(update(E).where(E.c.seq == 21).values(seq=20))
        conn.execute(update(E).where(E.c.seq == -20).values(seq=21))
    assert verify(container).first_broken == 20


def test_truncated_tail(container, tampered):
    # Removing the last rows and moving the head back is still caught by the signed checkpoint at 30.
    with container.runtime.engine.begin() as conn:
        head = conn.execute(select(E.c.seq, E.c.hash).where(E.c.seq == 24)).one()
        conn.execute(delete(E).where(E.c.seq > 24))
        conn.execute(update(tables.chain_head).values(seq=head.seq, hash=head.hash))
    result = verify(container)
    assert (result.ok, result.first_broken) == (False, 25)


def test_recomputed_chain_is_caught_by_a_signed_checkpoint(container, tampered):
    with container.runtime.engine.begin() as conn:
        rows = [r._asdict() for r in conn.execute(select(E).where(E.c.seq >= 13).order_by(E.c.seq))]
        prev = conn.execute(select(E.c.hash).where(E.c.seq == 12)).scalar_one()
        for r in rows:
            if r["seq"] == 13:
                r["subject"] = "/rewritten"
            r["prev_hash"], r["hash"] = prev, chain_hash(prev, r)
            prev = r["hash"]
            conn.execute(update(E).where(E.c.seq == r["seq"]).values(subject=r["subject"], prev_hash=r["prev_hash"],
                                                                      hash=r["hash"]))
        conn.execute(update(tables.chain_head).values(hash=prev))
    result = verify(container)
    assert (result.ok, result.first_broken) == (False, 20)
    assert "checkpoint" in result.problem


def test_sqlite_and_postgresql_read_back_the_times_that_were_hashed(container):
    store(container, [make_event(occurred_at=None)])
    with container.runtime.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            stored = conn.execute(text("SELECT occurred_at FROM audit_events")).scalar_one()
            assert len(stored) == 26 and stored[10] == " "  # SQLAlchemy's own storage format
    assert verify(container).ok
