from __future__ import annotations

from datetime import timedelta

import pytest

from services.content.domain.errors import InvalidInput, InvalidTransition, NotFound
from services.content.handlers import queries
from shared import clock
from tests.unit.content.conftest import ADMIN, EDITOR, MEMBER, SUPPORT, SUPPORT2, USER


def post(uow, who, kind="question", subject="Where is my invoice?"):
    return queries.post_query(uow(who), {"subject": subject, "body": "Details", "kind": kind}, due_days=30)


def listed(uow, who, **filters) -> set[str]:
    return {q.id for q in queries.list_queries(uow(who), filters, 100, None).items}


def types(state) -> list[str]:
    return [e.type for e in state.events]


def test_a_question_is_open_and_has_no_case(state, uow):
    q = post(uow, USER)
    assert (q.status, q.owner_id, q.due_at, q.user_id) == ("open", None, None, USER.user_id)
    assert types(state) == ["content.query.posted"]
    assert state.events[0].payload["subject"] == "Where is my invoice?"


def test_a_complaint_is_received_with_a_due_date_and_the_complainant_is_told(state, uow):
    before = clock.now()
    q = post(uow, USER, "complaint")
    assert q.status == "received"
    assert before + timedelta(days=30) <= q.due_at <= clock.now() + timedelta(days=30)
    assert types(state) == ["content.query.posted", "content.complaint.received"]
    received = state.events[1].payload
    assert received["complainant_user_id"] == USER.user_id and received["due_at"] == clock.isoformat(q.due_at)


def test_people_see_their_own_queries_only(state, uow):
    mine, theirs = post(uow, USER), post(uow, MEMBER)
    assert listed(uow, USER) == {mine.id}
    assert listed(uow, MEMBER) == {theirs.id}
    assert listed(uow, EDITOR) == set()
    with pytest.raises(NotFound):
        queries.get_query(uow(USER), theirs.id)
    with pytest.raises(NotFound):
        queries.reply_to_query(uow(USER), theirs.id, "hi")


def test_support_sees_unassigned_queries_and_their_own_cases_but_not_a_colleagues(state, uow):
    free, taken = post(uow, USER), post(uow, MEMBER, "complaint")
    queries.update_case(uow(SUPPORT2), taken.id, {"owner_id": SUPPORT2.user_id})
    assert listed(uow, SUPPORT) == {free.id}
    assert listed(uow, SUPPORT2) == {free.id, taken.id}
    assert listed(uow, SUPPORT2, unassigned=True) == {free.id}
    assert listed(uow, ADMIN) == {free.id, taken.id}
    with pytest.raises(NotFound):
        queries.get_query(uow(SUPPORT), taken.id)


def test_staff_reads_of_someone_elses_queries_are_recorded_per_person(state, uow):
    a, b, c = post(uow, USER), post(uow, USER, "complaint"), post(uow, MEMBER)
    state.events.clear()
    listed(uow, SUPPORT)
    accesses = {e.subject: e.payload for e in state.events}
    assert set(accesses) == {USER.user_id, MEMBER.user_id}
    assert set(accesses[USER.user_id]["query_ids"]) == {a.id, b.id}
    assert accesses[MEMBER.user_id] == {"accessor_id": SUPPORT.user_id, "subject_user_id": MEMBER.user_id,
                                        "reason": "query_list", "fields": ["query.subject", "query.body"],
                                        "query_ids": [c.id]}
    state.events.clear()
    queries.get_query(uow(USER), a.id)  # reading one's own query is no access to someone else's data
    listed(uow, USER)
    assert state.events == []


def test_a_staff_answer_takes_the_question_and_marks_it_answered(state, uow):
    q = post(uow, USER)
    state.events.clear()
    reply = queries.reply_to_query(uow(SUPPORT), q.id, "Here it is")
    assert reply.by_staff and reply.author_id == SUPPORT.user_id
    after = queries.get_query(uow(USER), q.id)
    assert after.status == "answered" and after.owner_id == SUPPORT.user_id
    assert [e.kind for e in after.entries] == ["reply", "assignment"]
    assert "content.query.replied" in types(state) and "content.query.assigned" in types(state)
    queries.reply_to_query(uow(USER), q.id, "Thanks, but...")
    assert queries.get_query(uow(USER), q.id).status == "open"


def test_a_staff_reply_to_a_complaint_is_a_follow_up_the_complainant_hears_of(state, uow):
    q = post(uow, USER, "complaint")
    state.events.clear()
    queries.reply_to_query(uow(SUPPORT), q.id, "We are looking into it")
    followed = [e for e in state.events if e.type == "content.complaint.followed_up"]
    assert len(followed) == 1 and followed[0].payload["complainant_user_id"] == USER.user_id
    assert queries.get_query(uow(USER), q.id).status == "received"  # replies do not move the case


def test_a_complaint_case_goes_received_acknowledged_resolved_with_a_record_of_each_step(state, uow):
    q = post(uow, USER, "complaint")
    state.events.clear()
    queries.update_case(uow(SUPPORT), q.id, {"status": "acknowledged", "note": "We are on it"})
    done = queries.update_case(uow(SUPPORT), q.id, {"status": "resolved", "note": "Fixed"})
    assert done.status == "resolved" and done.owner_id == SUPPORT.user_id
    assert [(e.kind, e.from_value, e.to_value) for e in done.entries] == [
        ("status", "received", "acknowledged"), ("assignment", None, SUPPORT.user_id),
        ("status", "acknowledged", "resolved")]
    changed = [e.payload for e in state.events if e.type == "content.complaint.status_changed"]
    assert [(p["from_status"], p["to_status"], p["note"]) for p in changed] == [
        ("received", "acknowledged", "We are on it"), ("acknowledged", "resolved", "Fixed")]
    assert all(p["complainant_user_id"] == USER.user_id and p["owner_id"] == SUPPORT.user_id for p in changed)


def test_escalation_to_the_authority_then_resolution(uow):
    q = post(uow, USER, "complaint")
    queries.update_case(uow(SUPPORT), q.id, {"status": "acknowledged"})
    assert queries.update_case(uow(SUPPORT), q.id, {"status": "escalated"}).status == "escalated"
    assert queries.update_case(uow(SUPPORT), q.id, {"status": "resolved"}).status == "resolved"


@pytest.mark.parametrize("path, target", [
    ([], "resolved"), ([], "escalated"), (["acknowledged", "resolved"], "acknowledged"),
    (["acknowledged", "resolved"], "escalated"),
])
def test_a_case_cannot_skip_or_go_back(state, uow, path, target):
    q = post(uow, USER, "complaint")
    for step in path:
        queries.update_case(uow(SUPPORT), q.id, {"status": step})
    before = list(state.events)
    with pytest.raises(InvalidTransition):
        queries.update_case(uow(SUPPORT), q.id, {"status": target})
    assert state.events == before


def test_a_question_has_no_case_status_or_due_date(uow):
    q = post(uow, USER)
    with pytest.raises(InvalidInput):
        queries.update_case(uow(SUPPORT), q.id, {"status": "acknowledged"})
    with pytest.raises(InvalidInput):
        queries.update_case(uow(SUPPORT), q.id, {"due_at": clock.now() + timedelta(days=3)})


def test_moving_the_due_date_is_recorded_and_told(state, uow):
    q = post(uow, USER, "complaint")
    later = q.due_at + timedelta(days=60)
    state.events.clear()
    moved = queries.update_case(uow(SUPPORT), q.id, {"due_at": later, "note": "Complex case"})
    assert moved.due_at == later
    [event] = [e for e in state.events if e.type == "content.complaint.due_date_changed"]
    assert event.payload["due_at"] == clock.isoformat(later)
    assert event.payload["previous_due_at"] == clock.isoformat(q.due_at)
    with pytest.raises(InvalidInput):
        queries.update_case(uow(SUPPORT), q.id, {"due_at": clock.now() - timedelta(days=1)})


def test_support_takes_unowned_cases_and_hands_over_their_own_only(uow):
    q = post(uow, USER, "complaint")
    with pytest.raises(InvalidInput):
        queries.update_case(uow(SUPPORT), q.id, {"owner_id": SUPPORT2.user_id})
    queries.update_case(uow(SUPPORT), q.id, {"owner_id": SUPPORT.user_id})
    handed = queries.update_case(uow(SUPPORT), q.id, {"owner_id": SUPPORT2.user_id})
    assert handed.owner_id == SUPPORT2.user_id
    with pytest.raises(NotFound):  # no longer theirs, so no longer visible to them
        queries.update_case(uow(SUPPORT), q.id, {"owner_id": SUPPORT.user_id})
    assert queries.update_case(uow(ADMIN), q.id, {"owner_id": SUPPORT.user_id}).owner_id == SUPPORT.user_id


def test_overdue_is_computed_for_open_complaints_only(uow):
    q = post(uow, USER, "complaint")
    assert not q.overdue(clock.now())
    assert q.overdue(q.due_at + timedelta(seconds=1))
    assert not post(uow, USER).overdue(clock.now() + timedelta(days=365))
