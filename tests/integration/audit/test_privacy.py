"""Privacy requests in audit against a real database: sealed storage, the internal export route, and
erasure by destroying a person's key while the chain still verifies (also through a real worker)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from services.audit.adapters import tables
from services.audit.cli import audit as audit_cli
from services.audit.domain import sealing
from services.audit.handlers import integrity
from shared.identity import Identity
from tests.integration.audit.conftest import REVIEWER, SUPPORT, make_event, store
from tests.support.processes import REPO, base_env, celery_worker, wait_until

pytestmark = pytest.mark.integration
IDENTITY = Identity(user_id="system:identity")
ALICE, BOB, CAROL = "alice-7f3c", "bob-92ad", "carol-11e0"
SECRETS = {ALICE: ["alice@example.com", "Alice Liddell", "+441234", "198.51.100.7", "AliceBrowser/1.0"],
           BOB: ["bob@example.com", "Bob Builder", "203.0.113.9", "BobBrowser/2.0"],
           CAROL: ["carol@example.com", "Carol Danvers"]}


def people_events() -> list:
    return [
        make_event("identity.user.registered", actor=ALICE, subject=ALICE,
                   payload={"user_id": ALICE, "name": "Alice Liddell", "email": "alice@example.com",
                            "phone": "+441234"}),
        make_event(actor=ALICE, subject="/api/identity/me", payload={
            "method": "GET", "path": "/api/identity/me", "status": 200, "user_id": ALICE,
            "client_ip": "198.51.100.7", "user_agent": "AliceBrowser/1.0"}),
        # Alice's own event carrying Carol's details: sealed for Carol, never in Alice's export.
        make_event("identity.user.updated", actor=ALICE, subject=CAROL, payload={
            "user_id": CAROL, "changed": ["email"], "email": "carol@example.com", "name": "Carol Danvers"}),
        make_event("identity.user.registered", actor=BOB, subject=BOB,
                   payload={"user_id": BOB, "name": "Bob Builder", "email": "bob@example.com"}),
        make_event(actor=BOB, subject="/api/identity/me", payload={
            "method": "GET", "path": "/api/identity/me", "status": 200, "client_ip": "203.0.113.9",
            "user_agent": "BobBrowser/2.0"}),
        # Bob (staff) reads Alice's data; then Alice's contact details are shared with a company.
        make_event("identity.pii.accessed", actor=BOB, subject=ALICE,
                   payload={"user_id": ALICE, "fields": ["email"], "purpose": "ticket 7"}),
        make_event("linking.contact.shared", actor=ALICE, subject="lr-1",
                   payload={"user_id": ALICE, "company_id": "acme", "fields": ["email"]}),
        make_event("gateway.request.completed", actor="system:content", subject="/internal/x",
                   payload={"method": "GET", "path": "/internal/x", "status": 200}),
    ]


def erasure(user_id: str = ALICE, type_: str = "identity.privacy.erasure_requested", request_id: str = "er-1"):
    return make_event(type_, actor="system:identity", subject=user_id,
                      payload={"request_id": request_id, "user_id": user_id})


def raw_rows(container) -> str:
    with container.runtime.engine.connect() as conn:
        return json.dumps([list(map(str, r)) for r in conn.execute(select(tables.audit_events))])


def answers(container) -> list[dict]:
    with container.runtime.engine.connect() as conn:
        bodies = [json.loads(b) for b in conn.execute(select(tables.outbox.c.body).order_by(tables.outbox.c.id))
                  .scalars()]
    return [b for b in bodies if b["type"] == "audit.privacy.erasure_completed"]


def verified(container) -> bool:
    result = integrity.verify(container)
    cli = CliRunner().invoke(audit_cli, ["verify"])
    return result.ok and cli.exit_code == 0 and json.loads(cli.output)["ok"] is True


def test_identifying_fields_are_stored_sealed_and_read_back_for_reviewers(client, container):
    store(container, people_events())
    raw = raw_rows(container)
    for secret in sum(SECRETS.values(), []):
        assert secret not in raw  # not in any stored column, payloads included
    assert ALICE not in json.dumps([r for r in raw.split('"') if r.startswith(sealing.PREFIXES)])
    found = client.get("/events", actor=ALICE).get_json()["items"]  # search by actor: the blind index
    assert {i["type"] for i in found} == {"identity.user.registered", "gateway.request.completed",
                                          "identity.user.updated", "linking.contact.shared"}
    assert all(i["actor"] == ALICE for i in found)
    registered = next(i for i in found if i["type"] == "identity.user.registered")
    assert registered["payload"]["email"] == "alice@example.com" and registered["payload"]["name"] == "Alice Liddell"
    access = client.get("/events", actor="system:content").get_json()["items"]
    assert len(access) == 1 and access[0]["actor"] == "system:content"  # services are not sealed
    export = client.get("/events/export", actor=BOB, format="jsonl").get_data(as_text=True)
    assert "bob@example.com" in export and "BobBrowser/2.0" in export
    assert verified(container)


def test_export_section(client, container):
    store(container, people_events())
    client.call("POST", "/disclosures", REVIEWER, json={
        "subject_user_id": ALICE, "recipient": "Police", "legal_basis": "court order", "data_categories": ["email"]})
    resp = client.call("GET", f"/internal/privacy/users/{ALICE}/export", IDENTITY)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["service"] == "audit"
    data = body["data"]
    trail = data["audit_trail"]
    assert trail["total"] == 4 and trail["included"] == 4 and trail["limit"] == 10_000
    assert [e["seq"] for e in trail["events"]] == sorted((e["seq"] for e in trail["events"]), reverse=True)
    by_type = {e["type"]: e for e in trail["events"]}
    assert by_type["identity.user.registered"]["details"]["email"] == "alice@example.com"
    assert by_type["gateway.request.completed"]["details"]["client_ip"] == "198.51.100.7"
    assert "email" not in by_type["identity.user.updated"]["details"]  # Carol's, not Alice's
    (staff,) = data["staff_accesses"]["events"]
    assert staff["actor"] == BOB and staff["details"] == {"fields": ["email"], "purpose": "ticket 7"}
    assert data["staff_accesses"]["total"] == 1
    assert sorted(d["legal_basis"] for d in data["disclosures"]) == ["consent", "court order"]
    text = json.dumps(body)
    for other in SECRETS[BOB] + SECRETS[CAROL]:
        assert other not in text
    # Someone audit never saw: an empty section, never a 404.
    empty = client.call("GET", "/internal/privacy/users/nobody-1/export", IDENTITY).get_json()
    assert empty["data"]["audit_trail"]["total"] == 0 and empty["data"]["disclosures"] == []


def test_export_route_is_internal_and_checks_its_input(client, container):
    path = f"/internal/privacy/users/{ALICE}/export"
    assert client.http.get(path).status_code == 401  # unsigned
    assert client.call("GET", path, Identity()).status_code == 403  # signed by the gateway, not a service
    for person in (Identity(user_id=ALICE), REVIEWER, SUPPORT):
        resp = client.call("GET", path, person)
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    resp = client.call("GET", f"/internal/privacy/users/{'x' * 65}/export", IDENTITY)
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] and "user_id" in error["fields"]


def test_erasure_makes_fields_unreadable_and_the_chain_still_verifies(client, container):
    store(container, people_events())
    assert verified(container)
    store(container, [erasure()])
    assert verified(container)
    raw = raw_rows(container)
    for secret in sum(SECRETS.values(), []):
        assert secret not in raw
    found = client.get("/events", actor=ALICE).get_json()["items"]
    assert found and all(i["actor"] == "[erased]" for i in found)
    registered = next(i for i in found if i["type"] == "identity.user.registered")
    assert {registered["payload"][k] for k in ("email", "name", "phone")} == {"[erased]"}
    assert registered["payload"]["user_id"] == ALICE  # the pseudonymous id stays
    access = next(i for i in found if i["type"] == "gateway.request.completed")
    assert access["payload"]["client_ip"] == access["payload"]["user_agent"] == "[erased]"
    # Everyone else untouched: Bob's and Carol's fields read as before.
    bob = client.get("/events", actor=BOB).get_json()["items"]
    assert {i["actor"] for i in bob} == {BOB}
    assert any(i["payload"].get("email") == "bob@example.com" for i in bob)
    updated = next(i for i in found if i["type"] == "identity.user.updated")
    assert updated["payload"]["email"] == "carol@example.com"  # sealed for Carol, not Alice
    # The staff-access event stays (Bob's action) but no longer names Alice in the index.
    assert client.get("/me/events", as_=Identity(user_id=ALICE)).get_json()["items"][0]["actor"] == "[erased]"
    (answer,) = answers(container)
    payload = answer["payload"]
    assert payload["request_id"] == "er-1" and payload["user_id"] == ALICE and payload["replayed"] is False
    assert answer["actor"] == "system:audit"
    assert any(line.endswith(": 4") for line in payload["erased"]), payload["erased"]
    assert all(k["until"] for k in payload["kept"][:2])
    # A later event about Alice is stored unreadable from the start.
    store(container, [make_event(actor=ALICE, subject="/late", payload={
        "method": "GET", "path": "/late", "status": 200, "client_ip": "198.51.100.7"})])
    late = client.get("/events", subject="/late").get_json()["items"][0]
    assert late["actor"] == "[erased]" and late["payload"]["client_ip"] == "[erased]"
    assert verified(container)


def test_a_replay_is_idempotent(client, container):
    store(container, people_events() + [erasure()])
    with container.runtime.engine.connect() as conn:
        keys_before = conn.execute(select(tables.person_keys).order_by(tables.person_keys.c.person)).all()
    store(container, [erasure(type_="identity.privacy.erasure_replayed")])
    store(container, [erasure(type_="identity.privacy.erasure_replayed")])
    with container.runtime.engine.connect() as conn:
        keys_after = conn.execute(select(tables.person_keys).order_by(tables.person_keys.c.person)).all()
    assert keys_after == keys_before  # nothing more destroyed, nothing created
    first, *replays = answers(container)
    assert [a["payload"]["replayed"] for a in replays] == [True, True]
    # The same events reported unreadable; the staff-access links were already gone.
    assert all(a["payload"]["erased"][0] == first["payload"]["erased"][0] for a in replays)
    assert first["payload"]["erased"][1].endswith(": 1")
    assert all(a["payload"]["erased"][1].endswith(": 0") for a in replays)
    assert verified(container)


def test_erasure_through_a_real_worker(container, audit_env, tmp_path):
    proc = celery_worker("audit", base_env({**audit_env, "PYTHONPATH": str(REPO)}), tmp_path).start()
    try:
        publisher = container.runtime.publisher()
        publisher.publish([e.to_dict() for e in people_events()])
        publisher.publish([erasure().to_dict()])
        wait_until(lambda: answers(container), timeout=60, message=proc.output)
        publisher.publish([erasure(type_="identity.privacy.erasure_replayed").to_dict()])
        wait_until(lambda: len(answers(container)) == 2, timeout=60, message=proc.output)
    finally:
        proc.stop()
    assert verified(container)
    with container.read_uow() as uow:
        rows = uow.keys.open_rows(uow.search.acted_by(uow.token(ALICE), 100)[0])
    assert rows and all(r["actor"] == "[erased]" for r in rows)
    assert "alice@example.com" not in raw_rows(container)


def test_free_text_is_sealed_per_person_and_erasure_removes_it(client, container):
    """Query subjects, complaint notes, rejection reasons, staff access reasons, request paths and query
    strings: classified free text in the event schemas, so sealed for the person and gone with their key."""
    texts = ["my divorce papers", "complainant called, upset about Dr Who", "you lied about being Ann",
             "checking Alice's ticket 99", "/api/content/items/alice-secret-page", "q=alice+liddell+address"]
    store(container, [
        make_event("content.query.posted", actor=ALICE, subject="q-1",
                   payload={"query_id": "q-1", "user_id": ALICE, "kind": "complaint", "subject": texts[0]}),
        make_event("content.complaint.status_changed", actor=BOB, subject="q-1", payload={
            "query_id": "q-1", "complainant_user_id": ALICE, "user_id": ALICE, "from_status": "open",
            "to_status": "in_progress", "note": texts[1]}),
        make_event("linking.link.rejected", actor=BOB, subject="lr-9", payload={
            "request_id": "lr-9", "company_id": "acme", "company_name": "Acme", "user_id": ALICE,
            "decided_by": BOB, "reason": texts[2]}),
        make_event("identity.pii.accessed", actor=BOB, subject=ALICE, payload={
            "accessor_id": BOB, "subject_user_id": ALICE, "reason": texts[3], "fields": ["email"]}),
        make_event(actor=ALICE, subject="/api/content/items", payload={
            "method": "GET", "path": texts[4], "query": texts[5], "status": 200, "user_id": ALICE}),
    ])
    raw = raw_rows(container)
    assert [t for t in texts if t in raw] == []
    shown = json.dumps(client.get("/events", subject="q-1").get_json())
    assert texts[0] in shown and texts[1] in shown  # reviewers read them opened
    store(container, [erasure()])
    after = json.dumps([client.get("/events", type=t).get_json() for t in (
        "content.query.posted", "content.complaint.status_changed", "linking.link.rejected",
        "identity.pii.accessed", "gateway.request.completed")])
    assert [t for t in texts if t in after] == []
    assert '"subject": "[erased]"' in after and '"reason": "[erased]"' in after and '"query": "[erased]"' in after
    assert verified(container)


def test_erasure_removes_audits_own_copies_naming_the_person(container):
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    with container.runtime.engine.begin() as conn:
        conn.execute(tables.dead_letters.insert(), [
            {"event_id": "d-1", "type": "identity.user.updated", "body": json.dumps({"payload": {"user_id": ALICE}}),
             "error": "x", "attempts": 3, "failed_at": now},
            {"event_id": "d-2", "type": "identity.privacy.erasure_requested",
             "body": json.dumps({"payload": {"user_id": ALICE}}), "error": "x", "attempts": 3, "failed_at": now}])
    store(container, [erasure()])
    with container.runtime.engine.connect() as conn:
        left = list(conn.execute(select(tables.dead_letters.c.event_id)).scalars())
    assert left == ["d-2"]  # a privacy request's dead letter stays: it is how a failed erasure is replayed
    [answer] = answers(container)
    assert any("dead letters): 1" in line for line in answer["payload"]["erased"])
