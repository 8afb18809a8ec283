"""Which service a path goes to, and which headers cross the gateway."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import Headers

from services.gateway.domain.routing import (
    Route,
    forwardable_request_headers,
    forwardable_response_headers,
    public_location,
    resolve_route,
)
from shared.web.errors import NotFound

SERVICES = frozenset({"identity", "linking", "content", "audit"})


def test_routes_a_known_service_with_its_path():
    assert resolve_route("identity", "policy/acceptances", SERVICES) == Route("identity", "/policy/acceptances")
    assert resolve_route("content", "", SERVICES) == Route("content", "/")
    assert resolve_route("content", "items/", SERVICES).path == "/items/"


@pytest.mark.parametrize("service", ["gateway", "nope", "IDENTITY", ""])
def test_unknown_service_is_404(service):
    with pytest.raises(NotFound):
        resolve_route(service, "x", SERVICES)


@pytest.mark.parametrize("rest", ["internal", "internal/sessions/resolve", "/internal/x", "//internal/x",
                                  "./internal/x", "a/../internal/x", "..", "items/./x"])
def test_internal_paths_and_dot_segments_are_404(rest):
    with pytest.raises(NotFound):
        resolve_route("identity", rest, SERVICES)


def test_internals_elsewhere_in_the_path_are_ordinary():
    assert resolve_route("content", "items/internal", SERVICES).path == "/items/internal"


def test_url_path_reencodes_what_the_service_will_decode():
    route = Route("content", "/items/a b/ü?#")
    assert route.url_path() == "/items/a%20b/%C3%BC%3F%23"


def test_request_headers_drop_hop_by_hop_forwarding_and_portal_headers():
    incoming = Headers([
        ("Host", "portal.example"), ("Connection", "keep-alive, X-Custom-Hop"), ("Keep-Alive", "timeout=5"),
        ("X-Custom-Hop", "1"), ("Transfer-Encoding", "chunked"), ("TE", "trailers"), ("Upgrade", "h2c"),
        ("X-Portal-User", "admin-forged"), ("x-portal-roles", "admin"), ("X-Portal-Signature", "f00"),
        ("X-Request-ID", "client-chosen"), ("X-Forwarded-For", "1.2.3.4"), ("X-CSRF-Token", "t"),
        ("Content-Length", "10"), ("Content-Type", "application/json"), ("Accept", "*/*"),
        ("If-None-Match", '"v1"'), ("Range", "bytes=0-9"), ("Authorization", "Bearer x"),
    ])
    out = forwardable_request_headers(incoming, keep_session_cookie=True)
    assert out == {"Content-Type": "application/json", "Accept": "*/*", "If-None-Match": '"v1"',
                   "Range": "bytes=0-9", "Authorization": "Bearer x"}


def test_session_cookies_reach_identity_only():
    cookie = "portal_session=tok; portal_anon=a.b; __Host-portal_session=tok2; theme=dark"
    headers = Headers([("Cookie", cookie)])
    assert forwardable_request_headers(headers, keep_session_cookie=True)["Cookie"] == cookie
    assert forwardable_request_headers(headers, keep_session_cookie=False)["Cookie"] == (
        "portal_anon=a.b; theme=dark")
    only_session = Headers([("Cookie", "portal_session=tok")])
    assert "Cookie" not in forwardable_request_headers(only_session, keep_session_cookie=False)


def test_response_headers_keep_content_headers_and_cookies_but_not_hop_by_hop():
    items = [
        ("Content-Type", "application/pdf"), ("Content-Length", "5"),
        ("Content-Disposition", 'attachment; filename="a.pdf"'), ("ETag", '"e"'), ("Accept-Ranges", "bytes"),
        ("Content-Range", "bytes 0-4/10"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
        ("Connection", "close, X-Hop"), ("X-Hop", "1"), ("Keep-Alive", "timeout=5"),
        ("Transfer-Encoding", "chunked"), ("X-Request-ID", "service-made"), ("Date", "x"), ("Server", "y"),
    ]
    out = forwardable_response_headers(items, service="content", upstream_base="http://content:8103",
                                       connection="close, X-Hop")
    assert out == items[:8]


def test_location_inside_the_service_gets_its_public_prefix():
    base = "http://127.0.0.1:8103"
    assert public_location("/items/1", "content", base) == "/api/content/items/1"
    assert public_location(base + "/items/1?x=1", "content", base) == "/api/content/items/1?x=1"
    assert public_location("https://elsewhere.example/x", "content", base) == "https://elsewhere.example/x"
    assert public_location("//elsewhere.example/x", "content", base) == "//elsewhere.example/x"
