"""Administrators' use cases behind the staff pages: the staff list, granting by email, policy versions."""

from __future__ import annotations

import pytest

from services.identity import handlers
from services.identity.api.errors import STATUS
from services.identity.domain.errors import EmailUnverified, Invalid
from services.identity.handlers import admin

PASSWORD = "correct horse battery"


@pytest.fixture
def people(uow, store, hasher, settings):
    def register(name: str, email: str):
        user = handlers.register(uow, hasher, settings, name=name, email=email, phone=None, password=PASSWORD)
        store.users.update(user.id, email_verified=True)  # they opened the confirmation link
        return user

    return register("Boss", "boss@example.com"), register("Ed", "ed@example.com"), register("Cy", "cy@example.com")


def test_the_staff_list_names_role_holders_and_records_the_read_about_each_other_person(uow, store, counters,
                                                                                       people):
    boss, ed, cy = people
    handlers.grant_role(uow, counters, role="admin", granted_by="system:cli", user_id=boss.id)
    handlers.grant_role(uow, counters, role="editor", granted_by=boss.id, user_id=ed.id)
    handlers.grant_role(uow, counters, role="support", granted_by=boss.id, user_id=ed.id)
    listed = admin.list_staff(uow, accessor_id=boss.id)
    assert listed == [
        {"user_id": boss.id, "name": "Boss", "email": "boss@example.com", "roles": ["admin"]},
        {"user_id": ed.id, "name": "Ed", "email": "ed@example.com", "roles": ["editor", "support"]},
    ]
    reads = [e for e in store.events if e.type == "identity.pii.accessed"]
    assert [(e.subject, e.actor) for e in reads] == [(ed.id, boss.id)]  # not cy (no role), not the reader
    assert reads[0].payload == {"accessor_id": boss.id, "subject_user_id": ed.id, "reason": "staff_roles",
                                "fields": ["name", "email"]}


def test_granting_by_email_reuses_grant_role_and_an_unknown_address_is_a_field_error(uow, store, counters, people):
    _, ed, _ = people
    user_id, changed = admin.grant_role_by_email(uow, counters, email="ED@example.com", role="editor",
                                                 granted_by="boss")
    assert (user_id, changed) == (ed.id, True) and store.users.roles(ed.id) == {"editor"}
    with pytest.raises(Invalid) as unknown:
        admin.grant_role_by_email(uow, counters, email="ghost@example.com", role="editor", granted_by="boss")
    assert unknown.value.fields == {"email": ["No account has this email address."]}
    with pytest.raises(Invalid) as bad_role:
        admin.grant_role_by_email(uow, counters, email="ed@example.com", role="overlord", granted_by="boss")
    assert "role" in bad_role.value.fields


def test_policy_versions_are_listed_newest_first(uow, settings, counters):
    handlers.publish_policy(uow, settings, counters, version="2", text="more", reduces_rights=True, actor="boss")
    assert [(p.version, p.reduces_rights) for p in admin.list_policy_versions(uow)] == [("2", True), ("1", False)]


def test_a_role_goes_only_to_a_confirmed_address(uow, store, counters, people, hasher, settings):
    """Anyone can register someone else's address: a role granted to it must reach the address's owner."""
    squatter = handlers.register(uow, hasher, settings, name="Sly", email="new-hire@example.com", phone=None,
                                 password=PASSWORD)
    for grant in (lambda: admin.grant_role_by_email(uow, counters, email="new-hire@example.com", role="admin",
                                                    granted_by="boss"),
                  lambda: handlers.grant_role(uow, counters, role="admin", granted_by="boss", user_id=squatter.id)):
        with pytest.raises(EmailUnverified) as err:
            grant()
        assert STATUS[type(err.value)] == (409, "email_unverified") and "email" in err.value.fields
    assert store.users.roles(squatter.id) == frozenset()
    assert not [e for e in store.events if e.type == "identity.role.granted"]
    # the operator may vouch for a person (``portal grant-role --unconfirmed``)
    assert handlers.grant_role(uow, counters, role="admin", granted_by="system:cli", user_id=squatter.id,
                               confirmed_only=False) == (squatter.id, True)
