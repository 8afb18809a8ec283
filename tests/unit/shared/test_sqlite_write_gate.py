"""SQLite write transactions of one process queue on a lock of the process (shared/db.py ``_WriteGate``), not
in SQLite's sleeping busy handler: many threads writing at once all commit, one at a time, and a writer that
rolls back or fails hands the lock on."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from shared.db import make_engine, make_session_factory, write_session_factory

META = MetaData()
ROWS = Table("rows", META, Column("id", Integer, primary_key=True), Column("thread", Integer))


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    META.create_all(engine)
    yield engine
    engine.dispose()


def test_threads_writing_at_once_all_commit_and_never_overlap(engine):
    sessions = write_session_factory(engine)
    inside, most, lock = [0], [0], threading.Lock()

    def writer(n: int) -> None:
        for _ in range(15):
            with sessions() as s, s.begin():
                s.execute(insert(ROWS).values(thread=n))  # BEGIN IMMEDIATE: from here this thread holds it
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.001)  # the GIL goes to the others while this one holds the write lock
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with make_session_factory(engine)() as s:
        assert len(s.execute(select(ROWS.c.id)).all()) == 8 * 15
    assert most[0] == 1


def test_a_writer_that_rolls_back_or_fails_hands_the_lock_on(engine):
    sessions = write_session_factory(engine)
    with sessions() as s, s.begin():
        s.execute(insert(ROWS).values(thread=1))
        s.rollback()
    with pytest.raises(Exception, match="no such table"), sessions() as s, s.begin():
        s.execute(text("INSERT INTO missing VALUES (1)"))
    done = threading.Event()

    def other() -> None:
        with sessions() as s, s.begin():
            s.execute(insert(ROWS).values(thread=2))
        done.set()

    threading.Thread(target=other).start()
    assert done.wait(5), "a later writer waited on a lock nobody held"
