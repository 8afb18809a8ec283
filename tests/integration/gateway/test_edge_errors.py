"""Errors answered before any application code runs (gunicorn's own: a too-long request line, oversized
headers) come in the contract's JSON shape, from the gateway and from a service behind it."""

from __future__ import annotations

import socket

import pytest
import requests

pytestmark = pytest.mark.integration


def raw_request(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    host, _, port = url.removeprefix("http://").partition(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def assert_contract_error(resp: requests.Response, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text[:300]
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code


def test_a_too_long_uri_gets_414_in_the_json_shape(stack):
    resp = requests.get(f"{stack.url}/api/linking/companies/{'a' * 9000}", timeout=30)
    assert_contract_error(resp, 414, "uri_too_long")
    assert "<html" not in resp.text


def test_a_long_query_string_counts_too(stack):
    resp = requests.get(f"{stack.url}/api/linking/companies", params={"q": "x" * 9000}, timeout=30)
    assert_contract_error(resp, 414, "uri_too_long")


def test_a_path_longer_than_gunicorns_default_still_reaches_the_service(stack):
    """Above gunicorn's default 4094 and below the configured 8190: the gateway forwards it and the service
    (same shared gunicorn settings) reads it and answers as the application does (401: nobody is logged in)."""
    resp = requests.get(f"{stack.url}/api/linking/companies/{'b' * 6000}", timeout=30)
    assert_contract_error(resp, 401, "not_authenticated")


def test_oversized_headers_get_431_in_the_json_shape(stack):
    resp = requests.get(f"{stack.url}/api/linking/companies", headers={"X-Big": "y" * 9000}, timeout=30)
    assert_contract_error(resp, 431, "headers_too_large")


def test_an_unparsable_request_gets_400_in_the_json_shape(stack):
    status, headers, body = raw_request(stack.url, b"GET /api/x HTTP/1.1 extra\r\nHost: a\r\n\r\n")
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert b'"code":"bad_request"' in body
