from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.content.handlers import memberships
from shared.events import new_event
from tests.unit.content.fakes import FakeErasures, FakeMemberships, FakeUnitOfWork

T0 = datetime(2030, 1, 1, tzinfo=UTC)
T1, T2 = T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)


def member_event(type_: str, company: str, user: str, at: datetime, role: str = "member"):
    payload = {"company_id": company, "user_id": user, "role": role}
    return new_event(type_, producer="linking", actor="system", subject=f"user:{user}", payload=payload,
                     occurred_at=at)


@pytest.fixture
def repo(state):
    return FakeMemberships(state)


@pytest.fixture
def erasures(state):
    return FakeErasures(state)


@pytest.fixture
def uow(state):
    return FakeUnitOfWork(state)


def test_added_then_removed_takes_the_company_away(repo, erasures, uow):
    memberships.member_added(uow, member_event("linking.member.added", "co", "u1", T0))
    assert repo.companies_of("u1") == {"co"}
    memberships.member_removed(uow, member_event("linking.member.removed", "co", "u1", T1))
    assert repo.companies_of("u1") == frozenset()


def test_a_late_older_added_event_cannot_bring_access_back(repo, erasures, uow):
    added = member_event("linking.member.added", "co", "u1", T0)
    removed = member_event("linking.member.removed", "co", "u1", T1)
    memberships.member_removed(uow, removed)
    memberships.member_added(uow, added)  # redelivered after the removal
    assert repo.companies_of("u1") == frozenset()


def test_rejoining_after_leaving_gives_access_again(repo, erasures, uow):
    memberships.member_added(uow, member_event("linking.member.added", "co", "u1", T0))
    memberships.member_removed(uow, member_event("linking.member.removed", "co", "u1", T1))
    memberships.member_added(uow, member_event("linking.member.added", "co", "u1", T2))
    assert repo.companies_of("u1") == {"co"}


def test_memberships_are_per_company_and_per_person(repo, erasures, uow):
    memberships.member_added(uow, member_event("linking.member.added", "co-a", "u1", T0, role="manager"))
    memberships.member_added(uow, member_event("linking.member.added", "co-b", "u2", T0))
    assert repo.companies_of("u1") == {"co-a"} and repo.companies_of("u2") == {"co-b"}


def test_an_event_without_the_pair_fails_loudly(repo, erasures, uow):
    event = member_event("linking.member.added", "co", "u1", T0)
    broken = type(event)(**{**event.to_dict(), "payload": {"company_id": "co"}})
    with pytest.raises(ValueError, match="user_id"):
        memberships.member_added(uow, broken)


def test_events_about_an_erased_person_are_ignored(repo, erasures, state, uow):
    """A membership retried after the person's erasure (or linking removing them as part of its own
    erasure) must not write their id back into the projection."""
    from services.content.domain.privacy import erasure_key

    erasures.record(erasure_key("u1"), "req-1", T0)
    memberships.member_added(uow, member_event("linking.member.added", "co", "u1", T0))
    memberships.member_removed(uow, member_event("linking.member.removed", "co", "u1", T0))
    memberships.member_added(uow, member_event("linking.member.added", "co", "u2", T0))
    assert list(state.memberships) == [("co", "u2")]
