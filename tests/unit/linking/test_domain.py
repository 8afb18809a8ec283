from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.linking.domain import errors
from services.linking.domain.model import (
    Company,
    LinkRequest,
    Member,
    RequestStatus,
    Role,
    check_removal,
    check_role_change,
    normalize_name,
)
from services.linking.domain.users import UserRecord, merge

T0 = datetime(2026, 1, 1, tzinfo=UTC)
COMPANY = Company("c", "Acme", None, "boss", T0)


def member(user_id: str, role: Role) -> Member:
    return Member("c", user_id, role, T0)


def test_last_manager_cannot_go_even_when_not_primary_contact():
    with pytest.raises(errors.LastManager):
        check_removal(COMPANY, member("m", Role.MANAGER), managers=1)
    with pytest.raises(errors.LastManager):
        check_role_change(COMPANY, member("m", Role.MANAGER), Role.MEMBER, managers=1)
    check_removal(COMPANY, member("m", Role.MANAGER), managers=2)
    check_removal(COMPANY, member("x", Role.MEMBER), managers=1)


def test_decided_requests_stay_decided():
    request = LinkRequest("r", "c", "u", RequestStatus.PENDING, None, T0)
    approved = request.decide(RequestStatus.APPROVED, by="boss", at=T0)
    assert approved.status is RequestStatus.APPROVED and request.status is RequestStatus.PENDING
    with pytest.raises(errors.RequestNotPending):
        approved.decide(RequestStatus.REJECTED, by="boss", at=T0)


def test_names_compare_without_case_or_extra_spaces():
    assert normalize_name("  ACME   Corp ") == normalize_name("acme corp")


def test_merge_keeps_the_newest_value_of_each_field():
    later = T0 + timedelta(seconds=5)
    # the update (email) arrives before the registration it follows
    record = merge(None, "u", {"email": "new@example.test"}, later)
    assert record is not None and record.contact() is None  # no name yet: not showable
    record = merge(record, "u", {"name": "Ann", "email": "old@example.test", "phone": None}, T0)
    assert record is not None
    assert (record.name, record.email, record.phone) == ("Ann", "new@example.test", None)
    assert merge(record, "u", {"email": "old@example.test"}, T0) is None  # stale: nothing to do


def test_merge_removes_a_field_set_to_none():
    record = UserRecord("u", "Ann", "a@example.test", "+1", T0, T0, T0)
    merged = merge(record, "u", {"phone": None}, T0 + timedelta(seconds=1))
    assert merged is not None and merged.phone is None and merged.contact().categories == ["name", "email"]
