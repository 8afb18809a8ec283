"""A log store of several chains (PORTAL_AUDIT_CHAINS) on PostgreSQL: writers append to different chains at
the same time, search and export see every chain, and the verifier checks each chain and the signed root,
naming what is missing; retention cuts each chain's old range and the verifier resumes each chain after its
record."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from services.audit.adapters import tables
from services.audit.bootstrap import bootstrap
from services.audit.cli import audit as audit_cli
from services.audit.domain.chain import GENESIS, chain_of
from services.audit.domain.search import EventFilter
from services.audit.domain.verify import KeptDigest, RetentionRecord
from services.audit.handlers import integrity, retention, search, store_events
from shared import clock
from shared.config import ConfigError
from tests.integration.audit.conftest import events_at, make_event, store
from tests.support.databases import drop_database_url, new_pg_database_url

pytestmark = pytest.mark.integration
E, C, H, R, RR = tables.audit_events, tables.checkpoints, tables.chain_head, tables.roots, tables.retention_records


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


def _retained(chained, monkeypatch) -> dict:
    """40 old events and one of a person under legal hold, then, ten days later, 20 recent ones; retention of
    what is older than the retention period (5 days) cuts each chain's old range."""
    store(chained, events_at(40) + [make_event(actor="held-user", subject="/x")], batch=20)
    store(chained, [make_event("identity.privacy.hold_placed", actor="reviewer-1", subject="held-user",
                               payload={"hold_id": "hold-1", "user_id": "held-user", "reason": "litigation",
                                        "until": None, "owner_id": "reviewer-1"})])
    later = clock.now() + timedelta(days=10)
    monkeypatch.setattr(clock, "now", lambda: later)
    store(chained, events_at(20, subject="/recent"))
    return retention.retain(chained, 5)


def _records(container) -> list[dict]:
    with container.runtime.engine.connect() as conn:
        return [r._asdict() for r in conn.execute(select(RR).order_by(RR.c.id))]


def test_retention_cuts_each_chain_and_the_store_still_verifies(chained, monkeypatch):
    answer = _retained(chained, monkeypatch)
    assert (answer["removed"], answer["kept"]) == (40, 2)  # kept: the held person's event and the hold about them
    assert sorted(r["chain"] for r in answer["records"]) == [0, 1]
    assert all(r["signature"] and r["first_seq"] == 1 for r in answer["records"])
    assert [r["chain"] for r in _records(chained)] == [0, 1]
    for record in answer["records"]:
        assert max(_chain_rows(chained, record["chain"])) > record["last_seq"]  # its recent rows are kept
    assert sum(rows_by_chain(chained).values()) == 22
    result = integrity.verify(chained)
    assert result.ok, result.to_dict()
    store(chained, events_at(20, subject="/after"))  # each chain goes on from its kept head
    assert integrity.verify(chained).ok
    assert retention.retain(chained, 5) is None  # nothing more is old enough
    assert integrity.verify(chained).ok


def test_rows_deleted_beyond_one_chains_retention_range_are_named_with_its_chain(chained, monkeypatch):
    answer = _retained(chained, monkeypatch)
    record = next(r for r in answer["records"] if r["chain"] == 1)
    after = [seq for seq in _chain_rows(chained, 1) if seq > record["last_seq"]]
    with chained.runtime.engine.begin() as conn:
        conn.execute(delete(E).where(E.c.seq == after[0]))
    result = integrity.verify(chained)
    assert not result.ok
    assert result.first_broken == after[1]
    assert result.problem.startswith("chain 1: row does not link"), result.problem
    assert f"a row missing after {record['last_seq']}" in result.problem


def test_a_row_kept_by_one_chains_retention_deleted_is_named_with_its_chain(chained, monkeypatch):
    answer = _retained(chained, monkeypatch)
    kept_in = [r["chain"] for r in answer["records"] if r["kept"]]
    with chained.runtime.engine.connect() as conn:
        kept = conn.execute(select(E.c.seq).where(E.c.chain == kept_in[0], E.c.subject == "held-user")
                            .union(select(E.c.seq).where(E.c.chain == kept_in[0], E.c.subject == "/x"))).scalars().all()
    with chained.runtime.engine.begin() as conn:
        conn.execute(delete(E).where(E.c.seq == kept[0]))
    result = integrity.verify(chained)
    assert not result.ok
    assert any(p.startswith(f"chain {kept_in[0]}: rows kept by retention changed") for _s, p in result.problems)


def test_a_forged_retention_record_for_one_chain_is_named_with_its_chain(chained, monkeypatch):
    answer = _retained(chained, monkeypatch)
    record = next(r for r in answer["records"] if r["chain"] == 1)
    after = [seq for seq in _chain_rows(chained, 1) if seq > record["last_seq"]]
    with chained.runtime.engine.begin() as conn:  # hide recent rows of chain 1 behind a widened record
        conn.execute(delete(E).where(E.c.chain == 1, E.c.seq <= after[1], E.c.seq > record["last_seq"]))
        conn.execute(update(RR).where(RR.c.chain == 1).values(last_seq=after[1], removed=record["removed"] + 2))
    result = integrity.verify(chained)
    assert not result.ok
    assert ("chain 1: retention record signature is invalid") in [p for _s, p in result.problems], result.problems


def test_a_signed_retention_record_of_one_chain_that_cuts_too_young_is_named(chained):
    store(chained, events_at(20))
    with chained.uow() as uow:
        uow.chain.lock_head(1)
        uow.chain.add_retention(RetentionRecord(first_seq=1, last_seq=0, removed=0, kept=0,
                                                kept_digest=KeptDigest().hexdigest(), anchor_hash=GENESIS,
                                                cutoff="2026-03-01T00:00:00+00:00",
                                                created_at="2026-03-03T00:00:00+00:00", chain=1))
        uow.commit()
    result = integrity.verify(chained)
    assert not result.ok
    assert any(p.startswith("chain 1: retention record cuts too young") for _s, p in result.problems), result.problems


def test_retention_of_several_chains_refuses_a_cut_off_younger_than_the_retention_period(chained):
    store(chained, events_at(12))
    run = CliRunner().invoke(audit_cli, ["retain", "--older-than", "4"])
    assert run.exit_code == 1
    assert "shorter than the retention period of 5 days" in run.output
    assert _records(chained) == []
    assert sum(rows_by_chain(chained).values()) == 12
