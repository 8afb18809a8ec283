"""A log store of several chains (PORTAL_AUDIT_CHAINS) on PostgreSQL: writers append to different chains at
the same time, search and export see every chain, and the verifier checks each chain and the signed root,
naming what is missing."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update

from services.audit.adapters import tables
from services.audit.bootstrap import bootstrap
from services.audit.domain.chain import chain_of
from services.audit.domain.search import EventFilter
from services.audit.handlers import integrity, search, store_events
from shared.config import ConfigError
from tests.integration.audit.conftest import events_at, make_event, store
from tests.support.databases import drop_database_url, new_pg_database_url

pytestmark = pytest.mark.integration
E, C, H, R = tables.audit_events, tables.checkpoints, tables.chain_head, tables.roots


@pytest.fixture
def chained(audit_env, monkeypatch):
    """A store of two chains on PostgreSQL, a checkpoint every 10 numbers."""
    url = new_pg_database_url("chains")
    monkeypatch.setenv("AUDIT_DATABASE_URL", url)
    monkeypatch.setenv("PORTAL_AUDIT_CHAINS", "2")
    container = bootstrap()
    yield container
    container.runtime.engine.dispose()
    drop_database_url(url)


def rows_by_chain(container) -> Counter:
    with container.runtime.engine.connect() as conn:
        return Counter(conn.execute(select(E.c.chain)).scalars())


def test_events_are_split_by_a_stable_key_searched_exported_and_verified_across_chains(chained):
    events = events_at(60)
    store(chained, events, batch=25)
    store(chained, events[:30], batch=30)  # redelivered: each copy meets its original in the same chain
    assert rows_by_chain(chained) == Counter(chain_of(e.event_id, 2) for e in events)
    assert set(rows_by_chain(chained)) == {0, 1}
    with chained.runtime.engine.connect() as conn:
        stored = dict(conn.execute(select(E.c.event_id, E.c.chain)).all())
        roots = conn.execute(select(R)).all()
    assert stored == {e.event_id: chain_of(e.event_id, 2) for e in events}
    assert roots, "a signed root over both heads at the checkpoints"

    page = search.search_events(chained, chained.settings.cursor_key, EventFilter(), limit=1000)
    assert sorted(item["event_id"] for item in page.items) == sorted(e.event_id for e in events)
    exported = "".join(search.export_events(chained, EventFilter(), "jsonl"))
    assert exported.count("\n") >= 60  # every chain's events (and the reviewers' own)

    result = integrity.verify(chained)
    assert result.ok, result.to_dict()
    assert result.checked >= 60


def test_two_writers_append_to_two_chains_at_once(chained):
    """While one writer holds chain 0's head (its transaction open), another's batch stores its chain-1 events
    at once and waits only for chain 0."""
    events = events_at(40)
    chain1 = [e for e in events if chain_of(e.event_id, 2) == 1]
    hold = chained.uow()
    hold.__enter__()
    hold.chain.lock_head(0)
    done = threading.Event()
    writer = threading.Thread(target=lambda: (store_events(chained, events), done.set()))
    writer.start()
    try:
        deadline = 30.0
        while rows_by_chain(chained).get(1, 0) < len(chain1) and deadline > 0:
            threading.Event().wait(0.1)
            deadline -= 0.1
        assert rows_by_chain(chained) == Counter({1: len(chain1)}), "chain 1 stored while chain 0 was held"
        assert not done.is_set()
    finally:
        hold.__exit__(None, None, None)
    writer.join(30)
    assert done.is_set()
    assert sum(rows_by_chain(chained).values()) == 40
    assert integrity.verify(chained).ok


def test_parallel_writers_store_every_event_once(chained):
    batches = [events_at(50, subject=f"/w{n}") for n in range(4)]
    threads = [threading.Thread(target=store, args=(chained, batch, 10)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with chained.runtime.engine.connect() as conn:
        ids = conn.execute(select(E.c.event_id)).scalars().all()
    assert sorted(ids) == sorted(e.event_id for batch in batches for e in batch)
    result = integrity.verify(chained)
    assert result.ok, result.to_dict()


def _chain_rows(container, chain):
    with container.runtime.engine.connect() as conn:
        return conn.execute(select(E.c.seq).where(E.c.chain == chain).order_by(E.c.seq)).scalars().all()


def test_a_row_missing_in_the_middle_of_one_chain_is_named_with_its_chain(chained):
    store(chained, events_at(40))
    seqs = _chain_rows(chained, 1)
    with chained.runtime.engine.begin() as conn:
        conn.execute(delete(E).where(E.c.seq == seqs[3]))
    result = integrity.verify(chained)
    assert not result.ok
    assert result.first_broken == seqs[4]
    assert result.problem.startswith("chain 1: row does not link")
    assert f"a row missing after {seqs[2]}" in result.problem


def test_a_chain_tail_deleted_and_its_earlier_signed_head_put_back_is_found(chained):
    store(chained, events_at(30))
    with chained.runtime.engine.connect() as conn:
        earlier = conn.execute(select(H).where(H.c.id == 2)).one()._asdict()
    store(chained, events_at(30, subject="/later"))
    with chained.runtime.engine.begin() as conn:
        conn.execute(delete(E).where(E.c.chain == 1, E.c.seq > earlier["seq"]))
        conn.execute(delete(C).where(C.c.chain == 1, C.c.seq > earlier["seq"]))
        conn.execute(update(H).where(H.c.id == 2).values(**earlier))
    result = integrity.verify(chained)
    assert not result.ok
    assert all(p.startswith("chain 1: ") for _seq, p in result.problems), result.problems
    assert any("rows missing at the end" in p for _seq, p in result.problems)


def test_a_whole_chain_dropped_is_named_by_the_signed_root(chained, tmp_path):
    store(chained, events_at(40))
    chained.settings.anchor_path.unlink()  # the attacker also holds the anchor: the root still names chain 1
    with chained.runtime.engine.begin() as conn:
        conn.execute(delete(E).where(E.c.chain == 1))
        conn.execute(delete(C).where(C.c.chain == 1))
        conn.execute(delete(H).where(H.c.id == 2))
    result = integrity.verify(chained)
    assert not result.ok
    assert any(p == "chain 1 missing: its head row is gone (named by the signed root)" for _s, p in result.problems)


def test_the_number_of_chains_is_fixed_once_the_store_holds_events(chained, monkeypatch):
    store(chained, [make_event()])
    monkeypatch.setenv("PORTAL_AUDIT_CHAINS", "3")
    with pytest.raises(ConfigError, match="PORTAL_AUDIT_CHAINS is 3, but the log store holds events written in 2"):
        bootstrap()


def test_the_live_stream_does_not_pass_rows_a_writer_of_another_chain_has_not_committed_yet(chained):
    """Numbers are drawn before commit: chain 0's writer holds 1..n uncommitted while chain 1's larger numbers
    commit. A stream must not move past chain 0's numbers, and sends them once they are committed."""
    from services.audit.handlers.stream import StreamTiming, open_stream

    frames = open_stream(chained, EventFilter(), 0, StreamTiming(poll=0.01, heartbeat=60, lifetime=60),
                         sleep=lambda _s: None)
    assert next(frames).startswith("retry:")
    events = events_at(40)
    first = [e for e in events if chain_of(e.event_id, 2) == 0]
    second = [e for e in events if chain_of(e.event_id, 2) == 1]
    writer = chained.uow()
    writer.__enter__()
    writer.chain.append(first, datetime.now(UTC), 0)  # numbers drawn, rows written, not committed
    store_events(chained, second)  # committed, with larger numbers
    seen: list[int] = []
    result: dict = {}

    def read(count: int) -> None:
        for chunk in frames:
            seen.extend(int(line[4:]) for line in chunk.splitlines() if line.startswith("id: "))
            if len(set(seen)) >= count:
                result["done"] = True
                return

    reader = threading.Thread(target=read, args=(40,), daemon=True)
    reader.start()
    reader.join(1.0)
    assert seen == [], "nothing sent while chain 0's rows below them are uncommitted"
    writer.commit()
    writer.__exit__(None, None, None)
    reader.join(20)
    assert result.get("done"), seen
    assert sorted(seen) == seen and len(seen) == 40


def test_search_pages_never_pass_rows_a_writer_of_another_chain_has_not_committed_yet(chained):
    """Chain 0's writer holds the smaller numbers uncommitted while chain 1's larger ones commit: paging with the
    cursor meanwhile, and on after the commit, returns every event once and in order (a cursor that had
    passed chain 0's numbers would skip them for good); so does an export."""
    key = chained.settings.cursor_key
    events = events_at(40)
    first = [e for e in events if chain_of(e.event_id, 2) == 0]
    second = [e for e in events if chain_of(e.event_id, 2) == 1]
    writer = chained.uow()
    writer.__enter__()
    writer.chain.append(first, datetime.now(UTC), 0)  # numbers drawn, rows written, not committed
    store_events(chained, second)  # committed, with larger numbers
    page = search.search_events(chained, key, EventFilter(), limit=5)
    assert page.items == [] and page.next_cursor is None, "nothing shown above chain 0's uncommitted numbers"
    assert "".join(search.export_events(chained, EventFilter(), "jsonl")) == ""
    writer.commit()
    writer.__exit__(None, None, None)
    seen, cursor = [], None
    while True:
        page = search.search_events(chained, key, EventFilter(), limit=7, cursor=cursor)
        seen += [item["seq"] for item in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 40
    exported = "".join(search.export_events(chained, EventFilter(), "jsonl")).splitlines()
    assert len(exported) == 40
