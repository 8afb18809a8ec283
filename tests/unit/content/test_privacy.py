"""Privacy requests in content, on in-memory fakes: the export, the erasure (and its replay) and the
retention of kept complaints."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest

from services.content.domain.privacy import erasure_key, pseudonym
from services.content.handlers import items, memberships, privacy, queries
from shared import clock
from shared.events import new_event
from shared.events.privacy import ErasureRequest, erasure_request
from shared.identity import Identity
from tests.unit.content.fakes import FakeUnitOfWork

RETENTION = timedelta(days=1095)
SETTINGS = SimpleNamespace(complaint_retention_days=RETENTION.days)
ALICE = Identity(user_id=str(uuid.uuid4()), request_id="req-alice")
BOB = Identity(user_id=str(uuid.uuid4()), request_id="req-bob")
AGENT = Identity(user_id=str(uuid.uuid4()), roles=frozenset({"support"}), request_id="req-agent")
WRITER = Identity(user_id=str(uuid.uuid4()), roles=frozenset({"editor"}), request_id="req-writer")
WORKER = Identity(user_id="system:content", request_id="req-erasure")
REQUEST = str(uuid.uuid4())


def post(uow, who, kind="question", subject="Invoice", body="My address is 1 Main St"):
    return queries.post_query(uow(who), {"subject": subject, "body": body, "kind": kind}, due_days=30)


def member(state, company: str, who: Identity) -> None:
    payload = {"company_id": company, "user_id": who.user_id, "role": "member"}
    event = new_event("linking.member.added", producer="linking", actor="system:linking",
                      subject=f"user:{who.user_id}", payload=payload)
    memberships.member_added(FakeUnitOfWork(state), event)


def erase(uow, user: Identity = ALICE, replayed: bool = False, request_id: str = REQUEST):
    return privacy.erase_person(uow(WORKER), ErasureRequest(request_id, user.user_id, replayed=replayed), SETTINGS)


def mentions(state, user_id: str) -> list[str]:
    """Every place in content's state (events aside) that still names the person."""
    found = []
    for name in ("items", "collaterals", "memberships", "queries"):
        for key, row in getattr(state, name).items():
            if user_id in repr(key) or user_id in repr(row):
                found.append(f"{name}: {row!r}")
    found += [f"entries: {e!r}" for e in state.entries if user_id in repr(e)]
    found += [f"erasures: {k}" for k in state.erasures if user_id in k]
    return found


@pytest.fixture
def alice_everywhere(state, uow):
    """Alice asked a question (answered), filed a complaint (resolved) and an open one, is a member of a
    company; Bob has his own question that the agent answered."""
    question = post(uow, ALICE, subject="Where is my invoice?")
    queries.reply_to_query(uow(AGENT), question.id, "Here it is")
    queries.reply_to_query(uow(ALICE), question.id, "Thanks, still missing page 2")
    resolved = post(uow, ALICE, "complaint", subject="Rude call")
    queries.update_case(uow(AGENT), resolved.id, {"status": "acknowledged"})
    queries.reply_to_query(uow(ALICE), resolved.id, "It happened on Monday")
    queries.update_case(uow(AGENT), resolved.id, {"status": "resolved", "note": "Apologised"})
    open_case = post(uow, ALICE, "complaint", subject="Data shared")
    member(state, "co-a", ALICE)
    member(state, "co-a", BOB)
    bobs = post(uow, BOB, subject="Bob's question", body="Bob's text")
    queries.reply_to_query(uow(AGENT), bobs.id, "Answer for Bob")
    return {"question": question, "resolved": resolved, "open": open_case, "bobs": bobs}


# --- export ---------------------------------------------------------------------------------------

def test_the_export_holds_the_persons_queries_complaints_history_and_memberships(uow, alice_everywhere):
    data = privacy.export_person(uow(WORKER), ALICE.user_id)
    assert [q.id for q in data.questions] == [alice_everywhere["question"].id]
    assert [q.subject for q in data.complaints] == ["Rude call", "Data shared"]
    assert [e.body for e in data.questions[0].entries if e.kind == "reply"] == [
        "Here it is", "Thanks, still missing page 2"]
    assert [(e.kind, e.to_value) for e in data.complaints[0].entries if e.kind == "status"] == [
        ("status", "acknowledged"), ("status", "resolved")]
    assert [(m.company_id, m.active) for m in data.memberships] == [("co-a", True)]
    assert data.owned_query_ids == [] and data.entries_on_others == [] and data.items == []


def test_the_export_never_holds_someone_elses_data(uow, alice_everywhere):
    data = privacy.export_person(uow(WORKER), ALICE.user_id)
    flat = repr(data)
    assert BOB.user_id not in flat and "Bob's" not in flat and alice_everywhere["bobs"].id not in flat


def test_a_staff_members_export_lists_their_cases_and_steps_without_other_peoples_text(uow, alice_everywhere):
    data = privacy.export_person(uow(WORKER), AGENT.user_id)
    assert data.questions == [] and data.complaints == []
    assert set(data.owned_query_ids) == {alice_everywhere[k].id for k in ("question", "resolved", "bobs")}
    assert {e.query_id for e in data.entries_on_others} >= {alice_everywhere["bobs"].id}
    assert all(e.author_id == AGENT.user_id for e in data.entries_on_others)


def test_an_unknown_person_has_an_empty_export(uow):
    data = privacy.export_person(uow(WORKER), "nobody")
    assert (data.questions, data.complaints, data.memberships, data.items) == ([], [], [], [])


# --- erasure --------------------------------------------------------------------------------------

def test_erasure_deletes_questions_and_memberships_and_keeps_complaints_under_a_pseudonym(
        state, uow, alice_everywhere):
    erase(uow)
    alias = pseudonym(REQUEST)
    assert alice_everywhere["question"].id not in state.queries
    assert not [e for e in state.entries if e.query_id == alice_everywhere["question"].id]
    kept = {q.id: q for q in state.queries.values() if q.user_id == alias}
    assert set(kept) == {alice_everywhere["resolved"].id, alice_everywhere["open"].id}
    assert kept[alice_everywhere["resolved"].id].subject == "Rude call"  # the substance stays
    assert [e.author_id for e in state.entries if e.body == "It happened on Monday"] == [alias]
    assert ("co-a", ALICE.user_id) not in state.memberships and ("co-a", BOB.user_id) in state.memberships
    assert mentions(state, ALICE.user_id) == []
    assert erasure_key(ALICE.user_id) in state.erasures


def test_complaints_are_kept_for_the_retention_period_after_closure(state, uow, alice_everywhere):
    before = clock.now()
    report = erase(uow)
    resolved = state.queries[alice_everywhere["resolved"].id]
    closed = max(e.created_at for e in state.entries if e.query_id == resolved.id and e.to_value == "resolved")
    assert resolved.retain_until == closed + RETENTION
    open_case = state.queries[alice_everywhere["open"].id]
    assert before + RETENTION <= open_case.retain_until <= clock.now() + RETENTION
    untils = {k["data"].split()[1].rstrip(":"): k["until"] for k in report.kept if k["data"].startswith("complaint ")}
    assert untils == {resolved.id: clock.isoformat(resolved.retain_until),
                      open_case.id: clock.isoformat(open_case.retain_until)}


def test_erasure_answers_identity_with_what_was_erased_and_what_is_kept(state, uow, alice_everywhere):
    state.events.clear()
    erase(uow)
    [event] = state.events
    assert (event.type, event.actor, event.subject) == (
        "content.privacy.erasure_completed", "system:content", ALICE.user_id)
    p = event.payload
    assert (p["request_id"], p["user_id"], p["replayed"]) == (REQUEST, ALICE.user_id, False)
    assert "questions with their replies and history: 1" in p["erased"]
    assert "company memberships (content's copy of linking's): 1" in p["erased"]
    assert len([k for k in p["kept"] if k["data"].startswith("complaint ")]) == 2
    assert all(k["reason"] and "reason" in k and "until" in k for k in p["kept"])
    # ids and summaries only: no text the person wrote travels in the event
    assert "Rude call" not in json.dumps(p) and "Main St" not in json.dumps(p)


def test_erasure_is_idempotent_and_a_replay_after_a_restore_cleans_again(state, uow, alice_everywhere):
    backup = copy.deepcopy(state)
    first = erase(uow)
    after_first = copy.deepcopy(state)
    state.events.clear()
    second = erase(uow, replayed=True)
    assert (state.queries, state.entries, state.memberships) == (
        after_first.queries, after_first.entries, after_first.memberships)
    assert second.kept == first.kept
    assert "questions with their replies and history: 0" in second.erased
    assert state.events[0].payload["replayed"] is True

    # A backup taken before the erasure is restored: the replay erases everything again.
    for name in ("queries", "entries", "memberships", "erasures", "items", "collaterals"):
        setattr(state, name, copy.deepcopy(getattr(backup, name)))
    third = erase(uow, replayed=True)
    assert mentions(state, ALICE.user_id) == []
    assert set(state.queries) == set(after_first.queries)
    assert [(k["data"], k["reason"]) for k in third.kept] == [(k["data"], k["reason"]) for k in first.kept]
    # The resolved case's date comes from its closure; the open case's floor restarts from the replay.
    assert [k["until"] >= f["until"] for k, f in zip(third.kept[:2], first.kept[:2], strict=True)] == [True, True]
    assert third.kept[0]["until"] == first.kept[0]["until"]


def test_a_complaint_closed_longer_ago_than_the_retention_goes_at_once(state, uow, monkeypatch):
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() - RETENTION - timedelta(days=10))
    old = post(uow, ALICE, "complaint")
    queries.update_case(uow(AGENT), old.id, {"status": "acknowledged"})
    queries.update_case(uow(AGENT), old.id, {"status": "resolved"})
    monkeypatch.setattr(clock, "now", real_now)
    report = erase(uow)
    assert old.id not in state.queries
    assert "complaints whose retention period was over: 1" in report.erased
    assert not [k for k in report.kept if k["data"].startswith("complaint ")]


def test_erasing_a_staff_member_releases_open_cases_and_pseudonymizes_their_steps(state, uow, alice_everywhere):
    pending = post(uow, BOB, "complaint", subject="Pending")
    queries.update_case(uow(AGENT), pending.id, {"status": "acknowledged"})
    alias = pseudonym(REQUEST)
    erase(uow, AGENT)
    assert state.queries[pending.id].owner_id is None  # back in the queue for a colleague
    released = [e for e in state.entries if e.query_id == pending.id and e.author_id == "system:content"]
    assert [(e.kind, e.from_value, e.to_value) for e in released] == [("assignment", alias, None)]
    assert state.queries[alice_everywhere["bobs"].id].owner_id == alias  # answered: finished work
    assert {e.body for e in state.entries if e.author_id == alias and e.kind == "reply"} == {
        "Here it is", "Answer for Bob"}
    assert state.queries[alice_everywhere["bobs"].id].body == "Bob's text"  # Bob's record is intact
    assert mentions(state, AGENT.user_id) == []


def test_erasing_an_editor_keeps_their_items_without_their_id(state, uow):
    item = items.create_item(uow(WRITER), {"title": "Price list", "body": "", "visibility": "public",
                                           "company_id": None, "status": "published"})
    erase(uow, WRITER)
    assert state.items[item.id].title == "Price list"
    assert state.items[item.id].created_by == state.items[item.id].updated_by == pseudonym(REQUEST)


def test_published_copies_naming_the_person_are_forgotten_pending_ones_and_privacy_requests_stay(state, uow):
    quoted = json.dumps(ALICE.user_id)
    state.residual = [
        {"store": "outbox", "type": "content.item.viewed", "sent": True, "body": f'{{"actor":{quoted}}}'},
        {"store": "outbox", "type": "content.item.viewed", "sent": False, "body": f'{{"actor":{quoted}}}'},
        {"store": "outbox", "type": "content.item.viewed", "sent": True, "body": '{"actor":"someone"}'},
        {"store": "dead_letters", "type": "linking.member.added", "sent": False, "body": f'{{"u":{quoted}}}'},
        {"store": "dead_letters", "type": "identity.privacy.erasure_requested", "sent": False,
         "body": f'{{"u":{quoted}}}'},
    ]
    report = erase(uow)
    assert [(r["store"], r["type"], r["sent"]) for r in state.residual] == [
        ("outbox", "content.item.viewed", False), ("outbox", "content.item.viewed", True),
        ("dead_letters", "identity.privacy.erasure_requested", False)]
    assert "published copies of events naming the person (outbox, dead letters): 2" in report.erased


def test_a_failed_erasure_leaves_nothing_half_done(state, uow, alice_everywhere, monkeypatch):
    before = copy.deepcopy(state)

    def boom(*_args):
        raise RuntimeError("database went away")

    monkeypatch.setattr("tests.unit.content.fakes.FakePrivacy.delete_memberships", boom)
    with pytest.raises(RuntimeError):
        erase(uow)
    assert (state.queries, state.entries, state.events) == (before.queries, before.entries, before.events)


@pytest.mark.parametrize("payload, problem", [
    ({"user_id": "u"}, "request_id"),
    ({"request_id": "r"}, "user_id"),
    ({"request_id": "", "user_id": "u"}, "request_id"),
    ({"request_id": "r", "user_id": 7}, "user_id"),
    ({"request_id": "r" * 58, "user_id": "u"}, "request_id"),
    ({"request_id": "r", "user_id": "u" * 65}, "user_id"),
    ({"request_id": "r", "user_id": "u\x00"}, "user_id"),
])
def test_a_malformed_erasure_request_fails_loudly(payload, problem):
    event = new_event("identity.privacy.erasure_requested", producer="identity", actor="system:identity",
                      subject="x", payload={"request_id": "r", "user_id": "u"})
    broken = type(event)(**{**event.to_dict(), "payload": payload})
    with pytest.raises(ValueError, match=problem):
        erasure_request(broken)


# --- retention of kept complaints -----------------------------------------------------------------

def test_purge_deletes_kept_complaints_only_once_closed_and_past_retention(state, uow, alice_everywhere,
                                                                           monkeypatch):
    erase(uow)
    resolved, open_case = alice_everywhere["resolved"].id, alice_everywhere["open"].id
    bobs_complaint = post(uow, BOB, "complaint")
    state.events.clear()
    assert privacy.purge_expired_complaints(uow(WORKER), RETENTION) == []

    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + RETENTION + timedelta(days=1))
    assert privacy.purge_expired_complaints(uow(WORKER), RETENTION) == [resolved]
    assert resolved not in state.queries and not [e for e in state.entries if e.query_id == resolved]
    assert open_case in state.queries  # still open (e.g. with the authority): kept until closed + retention
    assert bobs_complaint.id in state.queries  # never erased: not touched by this retention
    [event] = state.events
    assert (event.type, event.payload) == ("content.retention.applied",
                                           {"kind": "complaints", "query_ids": [resolved], "count": 1})

    # The open case is decided now; it stays another retention period from its closure.
    queries.update_case(uow(AGENT), open_case, {"status": "acknowledged"})
    queries.update_case(uow(AGENT), open_case, {"status": "resolved"})
    assert privacy.purge_expired_complaints(uow(WORKER), RETENTION) == []
    monkeypatch.setattr(clock, "now", lambda: real_now() + 2 * RETENTION + timedelta(days=2))
    assert privacy.purge_expired_complaints(uow(WORKER), RETENTION) == [open_case]
