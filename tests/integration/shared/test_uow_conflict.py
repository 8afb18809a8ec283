"""A change the database refuses (a unique index a concurrent use case won) leaves the unit of work as
``shared.uow.RecordConflict``, rolled back: handlers map it to their own error without knowing SQLAlchemy."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String, Table, func, insert, select
from sqlalchemy.orm import sessionmaker

from shared.db import make_engine
from shared.outbox import outbox_table
from shared.uow import RecordConflict, UnitOfWork

pytestmark = pytest.mark.integration


def test_a_refused_change_is_a_record_conflict_and_nothing_of_it_stays(tmp_path):
    metadata = MetaData()
    people = Table("people", metadata, Column("email", String(64), unique=True))
    outbox = outbox_table(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'u.db'}")
    metadata.create_all(engine)
    sessions = sessionmaker(engine)

    def add(email: str) -> None:
        with UnitOfWork(sessions, outbox, "test") as uow:
            uow.session.execute(insert(people).values(email=email))
            uow.emit("identity.user.registered", subject="u", payload={
                "user_id": "u", "name": "A", "email": email, "phone": None})
            uow.commit()

    add("a@example.test")
    with pytest.raises(RecordConflict):
        add("a@example.test")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(people)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 1
    engine.dispose()
