"""Transparency, trends, disclosures and retention on a real database, through the HTTP routes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from services.audit.adapters import tables
from services.audit.cli import audit as audit_cli
from services.audit.handlers import integrity
from shared.identity import Identity
from tests.integration.audit.conftest import REVIEWER, SUPPORT, events_at, make_event, store

pytestmark = pytest.mark.integration
ALICE = Identity(user_id="alice", roles=frozenset())
BOB = Identity(user_id="bob", roles=frozenset())


def pii_access(staff: str, person: str, **payload) -> object:
    return make_event("identity.pii.accessed", actor=staff, subject=person,
                      payload={"fields": ["email", "phone"], "purpose": "support ticket", **payload})


def test_me_events_show_my_history_and_staff_access_to_my_data_only(client, container):
    store(container, [
        *events_at(3, actor="alice", subject="/api/identity/me"),
        *events_at(2, actor="bob", subject="/api/identity/me"),
        pii_access("support-1", "alice", user_ids=["bob"]),
        pii_access("support-1", "bob"),
        make_event("identity.user.registered", actor="carol", subject="carol",
                   payload={"user_id": "carol", "name": "Carol", "email": "carol@example.com"}),
    ])
    assert client.get("/me/events", as_=Identity()).status_code == 401
    body = client.get("/me/events", as_=ALICE).get_json()
    kinds = [(i["kind"], i["actor"]) for i in body["items"]]
    assert kinds.count(("own", "alice")) == 3 and kinds.count(("staff_access", "support-1")) == 1
    assert len(kinds) == 4 and body["next_cursor"] is None
    staff = next(i for i in body["items"] if i["kind"] == "staff_access")
    assert staff["details"] == {"fields": ["email", "phone"], "purpose": "support ticket"}  # not bob's id
    assert "carol" not in json.dumps(body) and "bob" not in json.dumps(body)
    bob = client.get("/me/events", as_=BOB).get_json()["items"]
    assert len(bob) == 4 and all(i["actor"] in ("bob", "support-1") for i in bob)
    # newest first, paged with a cursor that only works for the same person
    first = client.get("/me/events", as_=ALICE, limit=3).get_json()
    assert [i["seq"] for i in first["items"]] == sorted((i["seq"] for i in first["items"]), reverse=True)
    assert client.get("/me/events", as_=ALICE, limit=3, cursor=first["next_cursor"]).status_code == 200
    assert client.get("/me/events", as_=BOB, cursor=first["next_cursor"]).status_code == 422
    assert client.get("/me/events", as_=ALICE, limit=0).status_code == 422


def view(person: str, item: str, day: datetime, kind: str = "view") -> object:
    path = f"/api/content/items/{item}" if kind == "view" else f"/api/content/collaterals/{item}/download"
    return make_event(actor=person, subject=path, occurred_at=day,
                      payload={"method": "GET", "path": path, "status": 200, "duration_ms": 1.0})


def download(person: str, item: str, collateral: str, day: datetime) -> object:
    return make_event("content.collateral.downloaded", actor=person, subject=f"collateral:{collateral}",
                      occurred_at=day, payload={"collateral_id": collateral, "item_id": item, "size": 9,
                                                "bytes_sent": 9, "range": None})


def test_trends_are_public_counted_and_k_anonymous(client, container):
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    store(container, [view(p, "popular", day) for p in ("u1", "u2", "u3", "u1")]  # 3 people (k=3 here)
          + [view(p, "niche", day) for p in ("u1", "u2")]  # 2 people: suppressed
          + [view("anonymous", "niche", day) for _ in range(5)]  # never counted as people
          + [view(p, "file-1", day, "download") for p in ("u4", "u5", "u6")]  # the gateway's: not counted
          + [download(p, "item-1", f"file-{p}", day) for p in ("u4", "u5", "u6")])  # per item, any file
    body = client.get("/trends", as_=Identity()).get_json()
    assert body["k"] == 3 and body["to"] == day.date().isoformat()
    assert body["items"] == [
        {"day": day.date().isoformat(), "kind": "download", "item_id": "item-1", "count": 3, "people": 3},
        {"day": day.date().isoformat(), "kind": "view", "item_id": "popular", "count": 4, "people": 3},
    ]
    assert "u1" not in json.dumps(body)
    yesterday = (day - timedelta(days=1)).date().isoformat()
    assert client.get("/trends", **{"from": yesterday, "to": yesterday}).get_json()["items"] == []
    for bad in ({"from": "soon"}, {"from": "2026-02-02", "to": "2026-02-01"},
                {"from": "2020-01-01", "to": "2026-01-01"}):
        resp = client.get("/trends", **bad)
        assert resp.status_code == 422, bad


def test_disclosure_register(client, container):
    body = {"subject_user_id": "alice", "recipient": "Police, case 123", "legal_basis": "court order",
            "data_categories": ["contact_details", "access_logs"]}
    assert client.call("POST", "/disclosures", SUPPORT, json=body).status_code == 403
    assert client.call("POST", "/disclosures", Identity(), json=body).status_code == 401
    resp = client.call("POST", "/disclosures", REVIEWER, json=body)
    assert resp.status_code == 201, resp.get_json()
    entry = resp.get_json()
    assert entry["recorded_by"] == REVIEWER.user_id and entry["source"] == "manual"
    for bad in ({**body, "data_categories": []}, {**body, "recipient": ""}, {"subject_user_id": "x"},
                {**body, "disclosed_at": "last week"}):
        assert client.call("POST", "/disclosures", REVIEWER, json=bad).status_code == 422
    empty = client.call("POST", "/disclosures", REVIEWER, headers={"Content-Type": "application/json"})
    assert empty.status_code in (400, 422)
    # entered automatically from linking.contact.shared
    store(container, [make_event("linking.contact.shared", actor="bob", subject="lr-1",
                                 payload={"user_id": "bob", "company_id": "acme", "fields": ["email"]})])
    listed = client.get("/disclosures").get_json()
    assert [d["subject_user_id"] for d in listed["items"]] == ["alice", "bob"]
    assert listed["items"][1]["source"] == "event"
    only_bob = client.get("/disclosures", subject_user_id="bob", limit=1).get_json()
    assert len(only_bob["items"]) == 1 and only_bob["next_cursor"] is None
    # the person it is about sees their own entries, not who recorded them, and nobody else's
    mine = client.get("/me/disclosures", as_=Identity(user_id="alice")).get_json()["items"]
    assert [d["recipient"] for d in mine] == ["Police, case 123"] and "recorded_by" not in mine[0]
    assert mine[0]["data_categories"] == ["contact_details", "access_logs"]
    assert client.get("/me/disclosures", as_=Identity(user_id="carol")).get_json()["items"] == []
    assert client.get("/me/disclosures", as_=Identity()).status_code == 401
    with container.runtime.engine.connect() as conn:
        recorded = [json.loads(b) for b in conn.execute(select(tables.outbox.c.body)).scalars()]
    assert any(e["type"] == "audit.disclosure.recorded" and e["subject"] == "alice" for e in recorded)


def test_retention_removes_old_ranges_keeps_held_people_and_the_chain_verifies(container, monkeypatch):
    old = events_at(30, actor="someone") + [make_event(actor="held-user", subject="/x")] \
        + [pii_access("support-1", "held-user")]
    store(container, old)
    store(container, [make_event("identity.privacy.hold_placed", actor="reviewer-1", subject="held-user",
                                 payload={"hold_id": "hold-1", "user_id": "held-user", "reason": "litigation",
                                          "until": None, "owner_id": "reviewer-1"})])
    runner = CliRunner()
    assert runner.invoke(audit_cli, ["retain", "--older-than", "5"]).output.strip().endswith('"nothing to remove"}')
    # Ten days later, 5 more events arrive; retention of what is older than 5 days removes the first 33.
    from shared import clock

    later = clock.now() + timedelta(days=10)
    monkeypatch.setattr(clock, "now", lambda: later)
    store(container, events_at(5, actor="recent"))
    result = runner.invoke(audit_cli, ["retain"])  # by default, the configured retention period (5 days here)
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    # kept: the held person's event, the staff access to their data, and the hold event about them
    assert (record["last_seq"], record["kept"], record["removed"]) == (33, 3, 30)
    assert record["signature"]
    with container.runtime.engine.connect() as conn:
        left = [row.actor_ix for row in conn.execute(select(tables.audit_events.c.actor_ix))]
        left = [{_ix(container, a): a for a in ("held-user", "recent", "support-1", "reviewer-1")}[ix]
                for ix in left]
        assert conn.execute(select(func.count()).select_from(tables.retention_records)).scalar_one() == 1
    assert sorted(left) == ["held-user", "recent", "recent", "recent", "recent", "recent", "reviewer-1", "support-1"]
    check = runner.invoke(audit_cli, ["verify"])
    assert check.exit_code == 0 and json.loads(check.output)["ok"] is True, check.output
    # A kept row that disappears afterwards is detected against the signed record.
    with container.runtime.engine.begin() as conn:
        conn.execute(tables.audit_events.delete().where(tables.audit_events.c.actor_ix == _ix(container, "held-user")))
    broken = integrity.verify(container)
    assert not broken.ok and broken.first_broken == 1
    assert runner.invoke(audit_cli, ["verify"]).exit_code == 1


def _ix(container, actor: str) -> str:
    from services.audit.domain.sealing import person_token

    return person_token(container.settings.actor_index_key, actor)
