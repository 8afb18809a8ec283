"""Privacy requests at content on a real database (SQLite, or PostgreSQL with PORTAL_TEST_PG_URL): the
internal export over HTTP with signed headers, and the erasure through content's real inbox handler
(the Celery worker and broker are in test_privacy_worker.py)."""

from __future__ import annotations

import uuid

import pytest
from marshmallow import ValidationError

from services.content.domain.privacy import pseudonym
from shared.identity import Identity
from tests.integration.content.conftest import (
    COMPANY_A,
    IDENTITY_SERVICE,
    dump_tables,
    erasure_event,
    mark_outbox_sent,
    member_event,
    mentions,
    restore_tables,
)

pytestmark = pytest.mark.integration

ALICE = Identity(user_id=str(uuid.uuid4()))
BOB = Identity(user_id=str(uuid.uuid4()))
AGENT = Identity(user_id=str(uuid.uuid4()), roles=frozenset({"support"}))
COMPLETED = "content.privacy.erasure_completed"


def post(content, who: Identity, kind: str, subject: str, body: str = "Call me on 555-0100") -> str:
    resp = content.call("POST", "/queries", who, json={"subject": subject, "body": body, "kind": kind})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def step(content, who: Identity, method: str, path: str, **body) -> None:
    resp = content.call(method, path, who, json=body)
    assert resp.status_code in (200, 201), resp.get_json()


@pytest.fixture
def alice(content):
    """Alice: a member of company A who read a company item and its brochure, asked a question (answered),
    filed a complaint (resolved) and another (still open). Bob, also a member, asked his own question."""
    content.deliver(member_event(True, COMPANY_A, ALICE.user_id), member_event(True, COMPANY_A, BOB.user_id))
    item = content.item("company", COMPANY_A)
    brochure = content.attach(item["id"])
    assert content.call("GET", f"/items/{item['id']}", ALICE).status_code == 200
    assert content.call("GET", f"/collaterals/{brochure['id']}/download", ALICE).status_code == 200
    question = post(content, ALICE, "question", "Where is my invoice?")
    step(content, AGENT, "POST", f"/queries/{question}/replies", body="Attached again")
    resolved = post(content, ALICE, "complaint", "Rude phone call")
    step(content, AGENT, "PATCH", f"/queries/{resolved}", status="acknowledged")
    step(content, ALICE, "POST", f"/queries/{resolved}/replies", body="It was on Monday")
    step(content, AGENT, "PATCH", f"/queries/{resolved}", status="resolved", note="Apologised")
    still_open = post(content, ALICE, "complaint", "My data was shared")
    bobs = post(content, BOB, "question", "Bob asks", body="Bob's own words")
    step(content, AGENT, "POST", f"/queries/{bobs}/replies", body="Answer for Bob")
    return {"question": question, "resolved": resolved, "open": still_open, "bobs": bobs}


def export(content, user_id: str, who: Identity | str = IDENTITY_SERVICE):
    return content.call("GET", f"/internal/privacy/users/{user_id}/export", who)


# --- export ---------------------------------------------------------------------------------------

def test_export_holds_queries_complaints_with_history_and_memberships(content, alice):
    resp = export(content, ALICE.user_id)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["service"] == "content"
    data = body["data"]
    [question] = data["questions"]
    assert (question["id"], question["subject"], question["user_id"]) == (
        alice["question"], "Where is my invoice?", ALICE.user_id)
    assert [e["body"] for e in question["history"] if e["kind"] == "reply"] == ["Attached again"]
    assert [c["id"] for c in data["complaints"]] == [alice["resolved"], alice["open"]]
    resolved = data["complaints"][0]
    assert resolved["status"] == "resolved"
    assert [(e["kind"], e["to_value"]) for e in resolved["history"] if e["kind"] == "status"] == [
        ("status", "acknowledged"), ("status", "resolved")]
    assert "It was on Monday" in [e["body"] for e in resolved["history"]]
    assert [(m["company_id"], m["active"]) for m in data["memberships"]] == [(COMPANY_A, True)]
    assert data["views_and_downloads"]["kept_by_content"] is False  # events, stored by audit
    assert data["staff_work"] == {"owned_query_ids": [], "entries_written": []}
    assert data["authored_items"] == [] and data["uploaded_files"] == []


def test_export_never_includes_another_persons_data(content, alice):
    text = export(content, ALICE.user_id).get_data(as_text=True)
    assert BOB.user_id not in text and "Bob" not in text and alice["bobs"] not in text
    bobs = export(content, BOB.user_id).get_json()["data"]
    assert [q["id"] for q in bobs["questions"]] == [alice["bobs"]] and bobs["complaints"] == []
    assert ALICE.user_id not in str(bobs)


def test_a_staff_members_export_names_their_cases_but_not_the_customers_text(content, alice):
    data = export(content, AGENT.user_id).get_json()["data"]
    assert set(data["staff_work"]["owned_query_ids"]) == {alice["question"], alice["resolved"], alice["bobs"]}
    written = data["staff_work"]["entries_written"]
    assert written and all(set(e) == {"id", "query_id", "kind", "created_at"} for e in written)
    assert "Bob's own words" not in str(data) and "Answer for Bob" not in str(data)


def test_an_editors_export_lists_what_they_wrote_and_uploaded(content, alice):
    data = export(content, "u-editor").get_json()["data"]
    assert [i["title"] for i in data["authored_items"]] == ["company item"]
    assert [f["filename"] for f in data["uploaded_files"]] == ["brochure.pdf"]


def test_an_unknown_person_has_an_empty_section(content):
    data = export(content, str(uuid.uuid4())).get_json()["data"]
    assert [data[k] for k in ("questions", "complaints", "memberships", "authored_items")] == [[], [], [], []]


@pytest.mark.parametrize("who", ["anonymous", "user", "editor", "support", "admin"])
def test_export_is_for_services_only(content, alice, who):
    resp = export(content, ALICE.user_id, who)
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"


def test_the_person_themself_may_not_call_the_internal_export(content, alice):
    assert export(content, ALICE.user_id, ALICE).status_code == 403


def test_export_refuses_unsigned_calls(content, alice):
    resp = content.client.get(f"/internal/privacy/users/{ALICE.user_id}/export")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "untrusted_caller"


@pytest.mark.parametrize("user_id", ["x" * 65, "bad%00id"])
def test_export_refuses_what_cannot_be_a_user_id(content, user_id):
    resp = export(content, user_id)
    assert resp.status_code == 422 and resp.get_json()["error"]["fields"] == {
        "user_id": ["At most 64 characters, no NUL."]}


def test_export_is_read_only(content):
    resp = content.call("POST", f"/internal/privacy/users/{ALICE.user_id}/export", IDENTITY_SERVICE)
    assert resp.status_code == 405


# --- erasure --------------------------------------------------------------------------------------

def erase(content, user_id: str = ALICE.user_id, request_id: str = "", replayed: bool = False):
    event = erasure_event(user_id, request_id or REQUEST, replayed=replayed)
    content.deliver(event)
    return event


REQUEST = str(uuid.uuid4())


def completed(content) -> list[dict]:
    return content.outbox(COMPLETED)


def test_erasure_leaves_nothing_identifying_and_answers_identity(content, alice):
    mark_outbox_sent(content.container)  # the relay published the access events long ago
    erase(content)
    left = mentions(content.container, ALICE.user_id)
    assert list(left) == ["outbox"], left
    assert [row["type"] for row in left["outbox"]] == [COMPLETED]  # the answer itself, ids only

    [answer] = completed(content)
    assert (answer["actor"], answer["subject"]) == ("system:content", ALICE.user_id)
    p = answer["payload"]
    assert (p["request_id"], p["user_id"], p["replayed"]) == (REQUEST, ALICE.user_id, False)
    assert "questions with their replies and history: 1" in p["erased"]
    assert "company memberships (content's copy of linking's): 1" in p["erased"]
    assert f"user id on kept complaints, replaced by {pseudonym(REQUEST)}: 2" in p["erased"]
    complaints = [k for k in p["kept"] if k["data"].startswith("complaint ")]
    assert [k["data"].split()[1].rstrip(":") for k in complaints] == [alice["resolved"], alice["open"]]
    assert all(k["until"] and k["reason"] for k in complaints)
    assert "Rude phone call" not in str(p) and "555-0100" not in str(p)  # no personal text in events


def test_complaints_stay_under_a_pseudonym_with_their_retention_date(content, alice):
    erase(content)
    alias = pseudonym(REQUEST)
    mine = content.call("GET", "/queries", ALICE).get_json()["items"]
    assert mine == []  # nothing is Alice's any more
    # The case is still there for the staff who handle it (an open case must still be decided).
    case = content.call("GET", f"/queries/{alice['open']}", "admin").get_json()
    assert (case["user_id"], case["subject"]) == (alias, "My data was shared")
    assert case["retain_until"] is not None
    assert export(content, BOB.user_id).get_json()["data"]["questions"][0]["retain_until"] is None
    assert content.call("GET", f"/queries/{alice['question']}", "admin").status_code == 404
    rows = dump_tables(content.container)["queries"]
    assert {r["id"]: r["retain_until"] is not None for r in rows if r["user_id"] == alias} == {
        alice["resolved"]: True, alice["open"]: True}
    assert [r["body"] for r in rows if r["id"] == alice["bobs"]] == ["Bob's own words"]  # Bob untouched


def test_a_second_delivery_is_dropped_and_a_replay_is_idempotent(content, alice):
    event = erase(content)
    after = dump_tables(content.container)
    content.deliver(event)  # the broker delivered it twice
    assert len(completed(content)) == 1

    erase(content, replayed=True)
    answers = completed(content)
    assert [a["payload"]["replayed"] for a in answers] == [False, True]
    assert answers[1]["payload"]["kept"] == answers[0]["payload"]["kept"]
    now = dump_tables(content.container)
    for name in ("queries", "query_entries", "memberships", "items", "collaterals", "erasures"):
        assert now[name] == after[name], name


def test_a_replay_cleans_a_restored_backup_again(content, alice):
    backup = dump_tables(content.container)  # last night's copy, before the erasure
    erase(content)
    erased = dump_tables(content.container)
    restore_tables(content.container, backup)
    assert mentions(content.container, ALICE.user_id).get("queries")  # Alice is back...

    mark_outbox_sent(content.container)
    erase(content, replayed=True)
    left = mentions(content.container, ALICE.user_id)
    assert list(left) == ["outbox"] and {r["type"] for r in left["outbox"]} == {COMPLETED}
    now = dump_tables(content.container)
    assert {r["id"] for r in now["queries"]} == {r["id"] for r in erased["queries"]}


def test_a_membership_event_arriving_after_the_erasure_does_not_bring_the_person_back(content, alice):
    erase(content)
    # a retried "added" from before, and linking removing Alice as part of its own erasure
    content.deliver(member_event(True, COMPANY_A, ALICE.user_id), member_event(False, COMPANY_A, ALICE.user_id))
    assert "memberships" not in mentions(content.container, ALICE.user_id)
    visible = content.call("GET", "/items", ALICE).get_json()["items"]
    assert visible == content.call("GET", "/items", "user").get_json()["items"]  # no company content


def test_erasing_a_staff_member_returns_open_cases_to_the_queue(content, alice):
    step(content, ALICE, "POST", f"/queries/{alice['question']}/replies", body="Still missing page 2")
    erase(content, AGENT.user_id)
    assert mentions(content.container, AGENT.user_id).keys() == {"outbox"}
    # Alice wrote again after the answer, so her question is open: back in the queue for support.
    case = content.call("GET", f"/queries/{alice['question']}", "support").get_json()
    assert case["owner_id"] is None
    assert case["history"][-1]["author_id"] == "system:content"
    resolved = content.call("GET", f"/queries/{alice['resolved']}", "admin").get_json()
    assert resolved["owner_id"] == pseudonym(REQUEST)  # finished work keeps a pseudonymous owner


def test_a_malformed_erasure_request_changes_nothing(content, alice):
    before = dump_tables(content.container)
    event = erasure_event(ALICE.user_id, REQUEST)
    del event["payload"]["request_id"]
    # refused by identity's registered schema when loading, or by content's own check of the payload
    with pytest.raises((ValidationError, ValueError), match="request_id"):
        content.deliver(event)
    assert dump_tables(content.container) == before
