"""The response header parser that replaces http.client's use of the email package, and the request
header writer beside http.client's."""

from __future__ import annotations

import http.client
import io

import pytest
import urllib3.connection

from services.gateway.adapters.lean_http import LeanHTTPConnection, LeanHTTPResponse, read_header_block


class FakeSocket:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.data))


def parse(raw: bytes, method: str = "GET") -> LeanHTTPResponse:
    resp = LeanHTTPResponse(FakeSocket(raw), method=method)  # type: ignore[arg-type]
    resp.begin()
    return resp


def test_headers_match_what_http_client_parses():
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
            b"X-Folded: one\r\n  two\r\nContent-Length: 2\r\nX-Empty:\r\n\r\n{}")
    lean = parse(head)
    stdlib = http.client.HTTPResponse(FakeSocket(head), method="GET")  # type: ignore[arg-type]
    stdlib.begin()
    assert lean.status == 200 and lean.reason == "OK" and lean.version == 11
    assert lean.msg.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert lean.msg["X-Folded"] == "one two"
    assert [(k, " ".join(v.split())) for k, v in stdlib.msg.items()] == list(lean.msg.items())
    assert lean.length == 2 and not lean.chunked and not lean.will_close
    assert lean.read() == b"{}"


def test_a_line_without_a_colon_is_skipped():
    # (the email parser would stop there and drop every header after it)
    resp = parse(b"HTTP/1.1 200 OK\r\nno colon\r\nContent-Length: 1\r\n\r\nx")
    assert list(resp.msg.items()) == [("Content-Length", "1")] and resp.read() == b"x"


def test_body_framing_follows_the_headers():
    chunked = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
    assert chunked.chunked and chunked.read() == b"abc"
    until_close = parse(b"HTTP/1.1 200 OK\r\n\r\nall of it")
    assert until_close.will_close and until_close.read() == b"all of it"
    closing = parse(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx")
    assert closing.will_close
    assert parse(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n").length == 0
    assert parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", method="HEAD").length == 0
    old = parse(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx")
    assert old.version == 10 and old.will_close


def test_interim_responses_are_skipped():
    resp = parse(b"HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    assert resp.status == 201 and resp.msg.get("X-Interim") is None


def test_limits():
    with pytest.raises(http.client.HTTPException):
        read_header_block(io.BytesIO(b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n"))
    with pytest.raises(http.client.LineTooLong):
        read_header_block(io.BytesIO(b"X: " + b"a" * 70000 + b"\r\n\r\n"))
    with pytest.raises(http.client.UnknownProtocol):
        parse(b"HTTP/2.0 200 OK\r\n\r\n")


def _written(conn_class, headers) -> bytes:
    conn = conn_class("127.0.0.1", 9)
    conn.putrequest("GET", "/x", skip_accept_encoding=True, skip_host=True)
    for name, value in headers:
        conn.putheader(name, value)
    return b"\r\n".join(conn._buffer)


def test_request_headers_are_written_as_http_client_writes_them():
    headers = [("X-Portal-User", "u-1"), ("Cookie", "a=1; b=2"), ("Content-Length", "0"), ("Accept", "*/*"),
               ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)"), ("X-Empty", ""), ("X-Latin", "caf\u00e9"),
               ("X-Folded", "a\r\n b"), ("X-Ctl", "a\x01b")]
    assert _written(LeanHTTPConnection, headers) == _written(urllib3.connection.HTTPConnection, headers)


@pytest.mark.parametrize(("name", "value"), [("X-Bad", "a\r\nInjected: 1"), ("Bad:Name", "v"), ("X-Bad", "a\nb"),
                                             (" X-Bad", "v")])
def test_request_header_injection_is_refused_as_http_client_refuses_it(name, value):
    for conn_class in (LeanHTTPConnection, urllib3.connection.HTTPConnection):
        with pytest.raises(ValueError):
            _written(conn_class, [(name, value)])
