import pytest

from shared.web.errors import NotAuthenticated
from shared.web.identity import (
    H_ROLES,
    H_USER,
    Identity,
    sign_anonymous_id,
    sign_headers,
    verify_anonymous_cookie,
    verify_headers,
)

SECRET = b"k" * 32
IDENT = Identity(user_id="u1", roles=frozenset({"support", "editor"}), session_id="s1", request_id="r1",
                 auth_time=1000.0, client_ip="10.0.0.1")


def test_round_trip():
    headers = sign_headers(SECRET, IDENT, "GET", "/me", now=2000)
    assert verify_headers(SECRET, headers, "GET", "/me", now=2010) == IDENT


@pytest.mark.parametrize("tamper", [
    lambda h: h.update({H_USER: "u2"}),
    lambda h: h.update({H_ROLES: "admin,editor,support"}),
])
def test_tampered_headers_are_refused(tamper):
    headers = sign_headers(SECRET, IDENT, "GET", "/me", now=2000)
    tamper(headers)
    with pytest.raises(NotAuthenticated):
        verify_headers(SECRET, headers, "GET", "/me", now=2010)


def test_signature_is_bound_to_method_and_path():
    headers = sign_headers(SECRET, IDENT, "GET", "/me", now=2000)
    with pytest.raises(NotAuthenticated):
        verify_headers(SECRET, headers, "DELETE", "/me", now=2010)
    with pytest.raises(NotAuthenticated):
        verify_headers(SECRET, headers, "GET", "/users/u2", now=2010)


def test_expired_and_wrong_key_are_refused():
    headers = sign_headers(SECRET, IDENT, "GET", "/me", now=2000)
    with pytest.raises(NotAuthenticated):
        verify_headers(SECRET, headers, "GET", "/me", now=2000 + 3600)
    with pytest.raises(NotAuthenticated):
        verify_headers(b"other", headers, "GET", "/me", now=2010)


def test_missing_headers_are_refused():
    with pytest.raises(NotAuthenticated):
        verify_headers(SECRET, {}, "GET", "/me")


def test_anonymous_cookie():
    value = sign_anonymous_id(SECRET, "abc123")
    assert verify_anonymous_cookie(SECRET, value) == "abc123"
    assert verify_anonymous_cookie(SECRET, "abc124" + value[6:]) is None
    assert verify_anonymous_cookie(b"other", value) is None
    assert verify_anonymous_cookie(SECRET, None) is None
    assert verify_anonymous_cookie(SECRET, "no-dot") is None
