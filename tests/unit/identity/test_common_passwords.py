"""The most common passwords are refused wherever a password is chosen (ASVS 2.1.7): registration and reset."""

from __future__ import annotations

import pytest

from services.identity.domain.errors import Invalid
from services.identity.domain.rules import check_password, common_passwords
from services.identity.handlers.email import confirm_password_reset
from tests.unit.identity.test_accounts_and_sessions import register


def test_the_bundled_list_is_loaded():
    assert len(common_passwords()) > 19_000 and "qwerty123456" in common_passwords()


@pytest.mark.parametrize("password", ["Q1w2e3r4t5y6", "qwerty123456", " 1qaz2wsx3edc "])
def test_common_passwords_are_refused_whatever_their_case(password):
    with pytest.raises(Invalid) as err:
        check_password(password)
    assert "too common" in err.value.fields["password"][0]


def test_registration_refuses_a_common_password(uow, store, hasher):
    with pytest.raises(Invalid) as err:
        register(uow, hasher, password="qwerty123456")
    assert list(err.value.fields) == ["password"]
    assert store.users.rows == {}


def test_a_reset_refuses_a_common_password(uow, hasher, counters):
    with pytest.raises(Invalid) as err:
        confirm_password_reset(uow, hasher, counters, token="any", password="1q2w3e4r5t6y")
    assert "too common" in err.value.fields["password"][0]


def test_the_field_is_named_by_the_caller():
    with pytest.raises(Invalid) as err:
        check_password("startfinding", field="new_password")
    assert list(err.value.fields) == ["new_password"]
