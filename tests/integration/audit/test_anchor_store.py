"""The external anchor in a SQL database of its own (``PORTAL_AUDIT_ANCHOR_URL``), verified like the file:
every committed head becomes a row there; a tail deleted from the log store with an earlier signed head put
back is found by the anchored head (also by ``portal audit verify`` run as its own process); an empty anchor
fails verification; the audit database itself is refused as the anchor."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, select, update

from services.audit.adapters import tables
from services.audit.adapters.anchor import SqlAnchor, anchor_for, anchor_heads
from services.audit.bootstrap import bootstrap
from services.audit.handlers import integrity
from shared.config import ConfigError
from tests.integration.audit.conftest import events_at, store
from tests.integration.audit.test_tamper_evidence import head_row, portal
from tests.support.databases import drop_database_url, new_database_url

pytestmark = pytest.mark.integration
E, C, H = tables.audit_events, tables.checkpoints, tables.chain_head


@pytest.fixture
def anchor_url(tmp_path):
    url = new_database_url(tmp_path, "anchor")
    yield url
    drop_database_url(url)


@pytest.fixture
def sql_env(audit_env, anchor_url, monkeypatch):
    monkeypatch.setenv("PORTAL_AUDIT_ANCHOR_URL", anchor_url)
    return {**audit_env, "PORTAL_AUDIT_ANCHOR_URL": anchor_url}


@pytest.fixture
def sql_container(sql_env):
    c = bootstrap()
    yield c
    c.runtime.engine.dispose()


def anchored_rows(url: str) -> list[int]:
    engine = SqlAnchor(url).engine
    with engine.connect() as conn:
        rows = list(conn.execute(select(anchor_heads.c.seq).order_by(anchor_heads.c.id)).scalars())
    engine.dispose()
    return rows


def test_heads_are_rows_of_the_anchor_database_and_verify(sql_container, anchor_url):
    assert isinstance(sql_container.anchor, SqlAnchor)
    store(sql_container, events_at(12))
    store(sql_container, events_at(5))
    assert anchored_rows(anchor_url) == [12, 17]
    result = integrity.verify(sql_container)
    assert result.ok and result.checked == 17, result
    described = integrity.describe(sql_container)["anchor"]
    assert described["kind"] == "sql" and described["anchored_seq"] == 17 and described["exists"] is True
    with sql_container.runtime.engine.connect() as conn:  # nothing of the anchor in the log store's database
        names = conn.dialect.get_table_names(conn)
    assert "audit_anchor_heads" not in names


def test_tail_deleted_and_an_earlier_signed_head_put_back_is_found_by_the_sql_anchor(sql_container, sql_env,
                                                                                      tmp_path):
    store(sql_container, events_at(25))
    with sql_container.runtime.engine.connect() as conn:
        earlier = head_row(conn)
    store(sql_container, events_at(15, subject="/later"))
    with sql_container.runtime.engine.begin() as conn:
        conn.execute(delete(E).where(E.c.seq > 25))
        conn.execute(delete(C).where(C.c.seq > 25))
        conn.execute(update(H).where(H.c.id == 1).values(**earlier))
        assert conn.execute(select(func.max(E.c.seq))).scalar_one() == 25
    result = integrity.verify(sql_container)
    assert (result.ok, result.first_broken) == (False, 26)
    assert "the anchor holds a signed head at 40" in result.problem

    run = portal(sql_env, tmp_path, "verify")
    assert run.returncode == 1, run.stderr[-2000:]
    answer = json.loads(run.stdout.splitlines()[-1])
    assert answer["first_broken"] == 26


def test_an_emptied_anchor_fails_verification(sql_container, anchor_url):
    store(sql_container, events_at(8))
    engine = SqlAnchor(anchor_url).engine
    with engine.begin() as conn:
        conn.execute(delete(anchor_heads))
    engine.dispose()
    result = integrity.verify(sql_container)
    assert not result.ok and "holds no signed head" in (result.problem or ""), result


def test_the_audit_database_itself_is_refused_as_the_anchor(database_url, tmp_path):
    with pytest.raises(ConfigError, match="audit database itself"):
        anchor_for(database_url, tmp_path / "heads.jsonl", database_url)
    with pytest.raises(ConfigError, match="PORTAL_AUDIT_ANCHOR_URL"):
        anchor_for("redis://localhost/0", tmp_path / "heads.jsonl", database_url)
    assert anchor_for(f"file://{tmp_path}/x.jsonl", tmp_path / "heads.jsonl", database_url).describe()["kind"] == "file"
