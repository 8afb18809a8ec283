"""``portal content purge-complaints``: kept complaints go once their retention after closure is over."""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner

from services.content.cli import content as content_command
from shared.identity import Identity
from tests.integration.content.conftest import dump_tables, erasure_event

pytestmark = pytest.mark.integration

ALICE = Identity(user_id=str(uuid.uuid4()))
AGENT = Identity(user_id=str(uuid.uuid4()), roles=frozenset({"support"}))


def test_purge_deletes_only_closed_kept_complaints_past_their_retention(content, database_url, redis_url,
                                                                        internal_secret, tmp_path, monkeypatch):
    ids = []
    for subject in ("Closed case", "Open case"):
        resp = content.call("POST", "/queries", ALICE, json={"subject": subject, "body": "b", "kind": "complaint"})
        ids.append(resp.get_json()["id"])
    closed, still_open = ids
    for status in ("acknowledged", "resolved"):
        assert content.call("PATCH", f"/queries/{closed}", AGENT, json={"status": status}).status_code == 200
    content.deliver(erasure_event(ALICE.user_id, str(uuid.uuid4())))

    for name, value in {"CONTENT_DATABASE_URL": database_url, "REDIS_URL": redis_url,
                        "PORTAL_INTERNAL_SECRET": internal_secret, "PORTAL_VAR_DIR": str(tmp_path / "var"),
                        "CONTENT_COMPLAINT_RETENTION_DAYS": "1095"}.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    now = runner.invoke(content_command, ["purge-complaints"])
    assert now.exit_code == 0, now.output
    assert json.loads(now.output) == {"deleted": 0, "query_ids": []}

    offset = tmp_path / "clock-offset"
    offset.write_text(str(1096 * 86400))  # three years and a day later
    monkeypatch.setenv("PORTAL_CLOCK_OFFSET_FILE", str(offset))
    later = runner.invoke(content_command, ["purge-complaints"])
    assert later.exit_code == 0, later.output
    assert json.loads(later.output) == {"deleted": 1, "query_ids": [closed]}
    assert [r["id"] for r in dump_tables(content.container)["queries"]] == [still_open]
    [applied] = content.outbox("content.retention.applied")
    assert applied["payload"] == {"kind": "complaints", "query_ids": [closed], "count": 1}
    assert applied["actor"] == "system:cli"
