from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.linking.handlers import projection
from shared.events import new_event
from tests.unit.linking.fakes import FakeUnitOfWork, FakeUsers, State

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(type_: str, payload: dict, at: datetime):
    return new_event(type_, producer="identity", actor="system", subject="u", payload=payload,
                     occurred_at=at)


def registered(at: datetime = T0, **fields):
    return event("identity.user.registered", {"user_id": "u", "name": "Ann", "email": "ann@example.test",
                                              "phone": "+32 1", **fields}, at)


def updated(changed: list[str], at: datetime, **fields):
    profile = {"user_id": "u", "name": "Ann", "email": "ann@example.test", "phone": "+32 1"} | fields
    return event("identity.user.updated", {"changed": changed, **profile}, at)


def test_registration_builds_the_contact():
    uow = FakeUnitOfWork(State())
    users = FakeUsers(uow.state)
    projection.user_registered(uow, registered())
    contact = users.get("u").contact()
    assert (contact.name, contact.email, contact.phone) == ("Ann", "ann@example.test", "+32 1")


def test_correction_applies_and_an_old_registration_cannot_undo_it():
    uow = FakeUnitOfWork(State())
    users = FakeUsers(uow.state)
    projection.user_updated(uow, updated(["email"], T0 + timedelta(seconds=3), email="ann@new.test"))
    projection.user_registered(uow, registered())  # delivered late
    assert users.get("u").email == "ann@new.test" and users.get("u").name == "Ann"


def test_a_removed_phone_is_removed_but_an_unmentioned_null_is_not():
    uow = FakeUnitOfWork(State())
    users = FakeUsers(uow.state)
    projection.user_registered(uow, registered())
    projection.user_updated(uow, updated(["name"], T0 + timedelta(seconds=1), name="Anna", phone=None))
    assert users.get("u").phone == "+32 1" and users.get("u").name == "Anna"
    projection.user_updated(uow, updated(["phone"], T0 + timedelta(seconds=2), phone=None))
    assert users.get("u").phone is None


def test_updated_changes_reads_changed_fields():
    payload = {"user_id": "u", "changed": ["phone", "password"], "name": "A", "email": None, "phone": None}
    assert projection.updated_changes(payload) == {"name": "A", "phone": None}
