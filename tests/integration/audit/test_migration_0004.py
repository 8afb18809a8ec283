"""Rows stored before per-person sealing (revision 0004): they stay plaintext, get a blind index, are
found by actor, and the chain over old and new rows still verifies; an erasure says what it could not
reach."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from services.audit.bootstrap import MIGRATIONS, bootstrap
from services.audit.domain.chain import GENESIS, canonical_payload, chain_hash, iso
from shared.db import make_engine
from tests.integration.audit.conftest import AuditClient, make_event, store
from tests.integration.audit.test_privacy import answers, erasure, verified

pytestmark = pytest.mark.integration


def old_store(database_url: str, actors: list[str]) -> None:
    """Migrate to 0003 and append plaintext rows the way the store did then."""
    engine = make_engine(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["service"] = "audit"
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        prev, moment = GENESIS, iso(datetime(2026, 1, 1, tzinfo=UTC))
        for seq, actor in enumerate(actors, start=1):
            record = {"seq": seq, "event_id": f"00000000-0000-0000-0000-{seq:012d}", "type": "identity.user.registered",
                      "actor": actor, "subject": actor, "correlation_id": None, "occurred_at": moment,
                      "stored_at": moment, "producer": "identity", "version": 1,
                      "payload": canonical_payload({"user_id": actor, "email": f"{actor}@old.example"})}
            digest = chain_hash(prev, record)
            conn.execute(text(
                "INSERT INTO audit_events (seq, event_id, type, actor, subject, correlation_id, occurred_at, "
                "stored_at, producer, version, payload, prev_hash, hash) VALUES (:seq, :event_id, :type, :actor, "
                ":subject, :correlation_id, :t, :t, :producer, :version, :payload, :prev, :hash)"),
                {**record, "t": datetime(2026, 1, 1), "prev": prev, "hash": digest})
            prev = digest
        conn.execute(text("UPDATE audit_chain_head SET seq = :seq, hash = :hash WHERE id = 1"),
                     {"seq": len(actors), "hash": prev})
    engine.dispose()


def test_old_rows_stay_plaintext_and_everything_still_works(database_url, audit_env):
    old_store(database_url, ["dana", "erin", "dana"])
    container = bootstrap()  # migrates to head: 0004 fills the blind index
    try:
        client = AuditClient(container)
        store(container, [make_event(actor="dana", subject="/new", payload={
            "method": "GET", "path": "/new", "status": 200, "client_ip": "192.0.2.1"})])
        found = client.get("/events", actor="dana").get_json()["items"]
        assert [i["seq"] for i in found] == [1, 3, 4] and {i["actor"] for i in found} == {"dana"}
        assert verified(container)
        store(container, [erasure("dana")])
        assert verified(container)
        after = client.get("/events", actor="dana").get_json()["items"]
        assert [i["actor"] for i in after] == ["dana", "dana", "[erased]"]  # old rows: plaintext, as documented
        (answer,) = answers(container)
        kept = [k["data"] for k in answer["payload"]["kept"]]
        assert any(k.startswith("events the person acted in, stored before") and k.endswith(": 2") for k in kept)
        assert json.dumps(answer).count("old.example") == 0
    finally:
        container.runtime.engine.dispose()
