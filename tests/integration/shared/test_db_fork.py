"""A process forked from one that used the database (gunicorn's workers from a master that imported the
application, Celery's pool processes) never uses a connection its parent opened: its engines start with
empty pools (shared/db.py), and the parent keeps its own connection working."""

from __future__ import annotations

import os

from sqlalchemy import text

from shared.db import make_engine


def test_a_forked_child_opens_its_own_connections_and_leaves_the_parents_alone(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fork.db'}")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert engine.pool.checkedin() == 1  # the parent's pooled connection
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what its pool holds, then use the database itself
        os.close(read)
        try:
            inherited = engine.pool.checkedin()
            with engine.connect() as conn:
                value = conn.execute(text("SELECT 41 + 1")).scalar()
            os.write(write, f"{inherited} {value}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        reported = pipe.read()
    os.waitpid(pid, 0)
    assert reported == "0 42"
    with engine.connect() as conn:  # the parent's connection was not closed by the child
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert engine.pool.checkedin() == 1
    engine.dispose()
