"""What a deleted row leaves in a SQLite file: nothing (secure_delete), once the WAL is checkpointed; and no
bound value in the text of a failed statement (hide_parameters)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from shared.db import make_engine

pytestmark = pytest.mark.integration
SECRET = "erase-me-7f3c@example.com"


def test_a_deleted_row_is_not_left_in_the_database_file(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE people (address TEXT)"))
        conn.execute(text("INSERT INTO people VALUES (:a)"), {"a": SECRET})
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM people"))
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    assert SECRET.encode() not in (tmp_path / "x.db").read_bytes()


def test_a_failed_statement_does_not_show_its_values(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'y.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE people (address TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO people VALUES (:a)"), {"a": SECRET})
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO people VALUES (:a)"), {"a": SECRET})
    engine.dispose()
    assert SECRET not in str(caught.value)
