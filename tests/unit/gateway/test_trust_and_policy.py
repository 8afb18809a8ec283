"""Which client claims the gateway believes, and the session rules it enforces."""

from __future__ import annotations

import hashlib

import pytest

from services.gateway.config import parse_networks
from services.gateway.domain import policy, trust
from shared.config import ConfigError

PROXIES = parse_networks("10.0.0.0/8, 127.0.0.1")


def test_trusted_proxies_parse_and_reject_garbage():
    assert parse_networks("") == ()
    assert [str(n) for n in PROXIES] == ["10.0.0.0/8", "127.0.0.1/32"]
    with pytest.raises(ConfigError):
        parse_networks("10.0.0.0/8, not-an-ip")


def test_client_ip_is_the_peer_unless_the_peer_is_a_trusted_proxy():
    assert trust.client_ip("203.0.113.9", "1.2.3.4", PROXIES) == "203.0.113.9"
    assert trust.client_ip("203.0.113.9", None, ()) == "203.0.113.9"
    # behind our proxies: the right-most address that is not one of them
    assert trust.client_ip("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.1.1", PROXIES) == "198.51.100.7"
    assert trust.client_ip("127.0.0.1", "10.2.2.2, 10.1.1.1", PROXIES) == "10.2.2.2"
    assert trust.client_ip("127.0.0.1", "garbage", PROXIES) == "127.0.0.1"


def test_scheme_comes_from_a_trusted_proxy_only():
    assert trust.scheme("http", "https", peer_trusted=True) == "https"
    assert trust.scheme("http", "https", peer_trusted=False) == "http"
    assert trust.scheme("http", "gopher", peer_trusted=True) == "http"
    assert trust.scheme("https", None, peer_trusted=False) == "https"


@pytest.mark.parametrize(("value", "kept"), [("abc-123", True), ("x" * 200, True), ("x" * 201, False),
                                             ("has space", False), ("a\r\nSet-Cookie: x", False),
                                             ("", False), (None, False)])
def test_request_ids_are_visible_ascii_and_bounded(value, kept):
    assert trust.acceptable_request_id(value) == (value if kept else None)


@pytest.mark.parametrize(("method", "service", "path", "required"), [
    ("GET", "identity", "/me", False), ("HEAD", "content", "/items", False), ("OPTIONS", "linking", "/x", False),
    ("POST", "identity", "/sessions", False), ("POST", "identity", "/users", False),
    ("POST", "identity", "/users/", False),
    ("DELETE", "identity", "/sessions/current", True), ("PATCH", "identity", "/me", True),
    ("PUT", "identity", "/consent", True), ("POST", "content", "/sessions", True),
    ("POST", "linking", "/companies", True),
])
def test_csrf_is_required_on_state_changes_except_login_and_registration(method, service, path, required):
    assert policy.csrf_required(method, service, path) is required


def test_csrf_token_matches_its_hash_only():
    token = "csrf-token-value"
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert policy.csrf_valid(token, digest)
    assert policy.csrf_valid(token, digest.upper())
    assert not policy.csrf_valid("other", digest)
    assert not policy.csrf_valid(None, digest)
    assert not policy.csrf_valid(token, "")


@pytest.mark.parametrize(("method", "service", "path", "exempt"), [
    ("GET", "identity", "/policy", True), ("POST", "identity", "/policy/acceptances", True),
    ("GET", "identity", "/privacy/exports/1", True), ("POST", "identity", "/privacy/erasures", True),
    ("GET", "identity", "/consent", True), ("PUT", "identity", "/consent", True),
    ("DELETE", "identity", "/sessions/current", True), ("GET", "identity", "/sessions/current", False),
    ("GET", "identity", "/me", False), ("GET", "identity", "/policyx", False),
    ("GET", "identity", "/privacy", False), ("GET", "content", "/policy", False),
    ("GET", "audit", "/me/events", False), ("POST", "identity", "/reauth", True), ("GET", "identity", "/reauth", False),
])
def test_policy_gate_leaves_only_policy_privacy_consent_and_logout(method, service, path, exempt):
    assert policy.policy_gate_exempt(method, service, path) is exempt
