"""Policy versions, acceptances, staff roles and need-to-know reads, with in-memory fakes."""

from __future__ import annotations

import pytest

from services.identity import handlers
from services.identity.domain.errors import Invalid, NotFound, PolicyVersionExists, PolicyVersionNotCurrent
from services.identity.handlers.sessions import LoginRequest
from services.identity.handlers.staff import read_user_for_staff

PASSWORD = "correct horse battery"


@pytest.fixture
def user(uow, store, hasher, settings):
    ada = handlers.register(uow, hasher, settings, name="Ada", email="ada@example.com", phone=None, password=PASSWORD)
    store.users.update(ada.id, email_verified=True)  # she opened the confirmation link
    return store.users.get(ada.id)


def test_a_rights_reducing_version_needs_acceptance_until_accepted(uow, store, user, settings, counters):
    assert store.policies.acceptance_required(user.id) is False
    epoch = counters.epoch
    handlers.publish_policy(uow, settings, counters, version="2", text="more sharing", reduces_rights=True)
    assert store.policies.acceptance_required(user.id) is True
    assert counters.epoch == epoch + 1  # the gateway drops its cached "nothing to accept"
    handlers.publish_policy(uow, settings, counters, version="3", text="typo fixes", reduces_rights=False)
    assert counters.epoch == epoch + 1  # a harmless version leaves cached sessions alone
    # a later harmless version does not excuse skipping the reduction in 2
    assert store.policies.acceptance_required(user.id) is True
    with pytest.raises(PolicyVersionNotCurrent):
        handlers.accept_policy(uow, counters, user.id, "2")  # only the current version can be accepted
    accepted = handlers.accept_policy(uow, counters, user.id, "3")
    assert accepted["version"] == "3"
    assert store.policies.acceptance_required(user.id) is False
    assert counters.epoch == epoch + 2  # the gate lifts on the very next request through the gateway
    again = handlers.accept_policy(uow, counters, user.id, "3")
    assert counters.epoch == epoch + 2
    assert again["accepted_at"] == accepted["accepted_at"]
    assert [e.type for e in store.events].count("identity.policy.accepted") == 2  # registration + explicit


def test_publish_refuses_duplicates_and_empty_text(uow, settings, counters):
    with pytest.raises(PolicyVersionExists):
        handlers.publish_policy(uow, settings, counters, version="1", text="x", reduces_rights=False)
    with pytest.raises(Invalid):
        handlers.publish_policy(uow, settings, counters, version="9", text="  ", reduces_rights=False)


def test_grant_role_ends_sessions_and_is_audited(uow, store, hasher, counters, settings, user):
    result = handlers.login(uow, hasher, counters, settings, LoginRequest("ada@example.com", PASSWORD))
    user_id, changed = handlers.grant_role(uow, counters, role="support", granted_by="admin-1", email="ADA@example.com")
    assert changed and user_id == user.id and store.users.roles(user.id) == {"support"}
    assert store.sessions.rows[result.session.id].end_reason == "privilege_change"
    granted = [e for e in store.events if e.type == "identity.role.granted"]
    assert granted[0].payload == {"user_id": user.id, "role": "support", "granted_by": "admin-1"}
    assert handlers.grant_role(uow, counters, role="support", granted_by="x", user_id=user.id)[1] is False
    assert handlers.revoke_role(uow, counters, role="support", revoked_by="x", user_id=user.id)[1] is True
    assert store.users.roles(user.id) == frozenset()


def test_grant_role_rejects_unknown_people_and_roles(uow, counters, user):
    with pytest.raises(NotFound):
        handlers.grant_role(uow, counters, role="admin", granted_by="x", email="ghost@example.com")
    with pytest.raises(Invalid):
        handlers.grant_role(uow, counters, role="overlord", granted_by="x", email="ada@example.com")


def test_staff_read_needs_a_reason_and_records_whose_data_was_read(uow, store, user):
    with pytest.raises(Invalid):
        read_user_for_staff(uow, accessor_id="support-1", subject_user_id=user.id, reason=" ")
    data = read_user_for_staff(uow, accessor_id="support-1", subject_user_id=user.id, reason="ticket 42")
    assert data["email"] == "ada@example.com" and "password_hash" not in data
    [event] = [e for e in store.events if e.type == "identity.pii.accessed"]
    assert event.subject == user.id and event.actor == "support-1"
    assert event.payload["subject_user_id"] == user.id and event.payload["reason"] == "ticket 42"
    assert "email" in event.payload["fields"]
    with pytest.raises(NotFound):
        read_user_for_staff(uow, accessor_id="support-1", subject_user_id="nope", reason="ticket 42")
