import io

import pytest

from shared.identity import Identity
from shared.web.errors import NotAuthenticated
from shared.web.identity import (
    H_BODY_DIGEST,
    H_ROLES,
    H_USER,
    STREAMED_BODY,
    CheckedBody,
    guard_body,
    sign_anonymous_id,
    sign_headers,
    verify_anonymous_cookie,
    verify_headers,
)
from shared.web.nonces import MemoryNonces

SECRET = b"k" * 32
IDENT = Identity(user_id="u1", roles=frozenset({"support", "editor"}), session_id="s1", request_id="r1",
                 auth_time=1000.0, client_ip="10.0.0.1")


def signed(method="GET", path="/me", query="", body=b"", service="identity", now=2000):
    return sign_headers(SECRET, IDENT, method, path, service=service, query=query, body=body, now=now)


def verify(headers, method="GET", path="/me", query="", service="identity", now=2010, nonces=None):
    return verify_headers(SECRET, headers, method, path, service=service, query=query, now=now, nonces=nonces)


def test_round_trip():
    assert verify(signed()) == IDENT


@pytest.mark.parametrize("tamper", [
    lambda h: h.update({H_USER: "u2"}),
    lambda h: h.update({H_ROLES: "admin,editor,support"}),
    lambda h: h.update({H_BODY_DIGEST: STREAMED_BODY}),
    lambda h: h.pop("X-Portal-Nonce"),
])
def test_tampered_headers_are_refused(tamper):
    headers = signed()
    tamper(headers)
    with pytest.raises(NotAuthenticated):
        verify(headers)


def test_signature_is_bound_to_method_path_query_and_service():
    headers = signed("GET", "/users", query="role=admin")
    assert verify(headers, "GET", "/users", query="role=admin") == IDENT
    for changed in ({"method": "DELETE"}, {"path": "/users/u2"}, {"query": "role=support"}, {"query": ""},
                    {"service": "linking"}):
        args = {"method": "GET", "path": "/users", "query": "role=admin", **changed}
        with pytest.raises(NotAuthenticated):
            verify(headers, **args)


def test_a_nonce_is_used_once():
    nonces = MemoryNonces()
    headers = signed()
    assert verify(headers, nonces=nonces) == IDENT
    with pytest.raises(NotAuthenticated, match="replay"):
        verify(headers, nonces=nonces)
    assert verify(signed(), nonces=nonces) == IDENT  # a fresh signature has a fresh nonce


def test_expired_too_long_and_wrong_key_are_refused():
    with pytest.raises(NotAuthenticated):
        verify(signed(), now=2000 + 3600)
    with pytest.raises(NotAuthenticated):
        verify(sign_headers(SECRET, IDENT, "GET", "/me", service="identity", now=2000, ttl=3600))
    with pytest.raises(NotAuthenticated):
        verify_headers(b"other", signed(), "GET", "/me", service="identity", now=2010)


def test_missing_headers_are_refused():
    with pytest.raises(NotAuthenticated):
        verify({})


def read_guarded(headers, sent: bytes) -> bytes:
    environ = {"wsgi.input": io.BytesIO(sent), "CONTENT_LENGTH": str(len(sent))}
    guard_body(environ, headers)
    return environ["wsgi.input"].read(len(sent))


def test_the_body_must_be_the_signed_one():
    headers = signed("POST", body=b'{"role":"support"}')
    assert read_guarded(headers, b'{"role":"support"}') == b'{"role":"support"}'
    with pytest.raises(NotAuthenticated, match="body"):
        read_guarded(headers, b'{"role":"admin!!"}')
    streamed = signed("POST", body=None)
    assert read_guarded(streamed, b"anything") == b"anything"  # a streamed body: only the length was known


def test_checked_body_checks_at_the_end_of_a_chunked_stream():
    stream = CheckedBody(io.BytesIO(b"abc"), signed(body=b"abd")[H_BODY_DIGEST], None)
    assert stream.read(2) == b"ab"
    assert stream.read(2) == b"c"
    with pytest.raises(NotAuthenticated):
        stream.read(2)


def test_anonymous_cookie():
    value = sign_anonymous_id(SECRET, "abc123")
    assert verify_anonymous_cookie(SECRET, value) == "abc123"
    assert verify_anonymous_cookie(SECRET, "abc124" + value[6:]) is None
    assert verify_anonymous_cookie(b"other", value) is None
    assert verify_anonymous_cookie(SECRET, None) is None
    assert verify_anonymous_cookie(SECRET, "no-dot") is None
