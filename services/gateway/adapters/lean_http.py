"""urllib3 connections whose responses parse their header block without the ``email`` package, and whose
requests write plain header lines directly.

``http.client`` hands every response's header block to ``email.parser``, a general MIME parser that
cost the gateway a fifth of its CPU per request; on the way out it checks each header's name and value
with two regular expressions. Everything else stays urllib3's and the standard library's: sockets,
pooling, timeouts, body framing (Content-Length, chunked, read-until-close) and ``HTTPMessage`` itself,
which is filled here line by line instead. A unit test compares both directions with ``http.client``.
"""

from __future__ import annotations

import http.client
import re

import urllib3.connection
import urllib3.util

_MAX_LINE = 65536
_MAX_HEADERS = 100
_END = (b"\r\n", b"\n", b"")
_PLAIN_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token


def read_header_block(fp) -> http.client.HTTPMessage:
    """The header lines up to the blank line, as the message ``email.parser`` would have built
    (names as sent, values stripped, obsolete folded lines joined, lines without a colon skipped)."""
    msg = http.client.HTTPMessage()
    name: str | None = None
    value = ""
    for _ in range(_MAX_HEADERS + 1):
        line = fp.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in _END:
            if name is not None:
                msg[name] = value
            return msg
        text = line.decode("iso-8859-1")
        if text[:1] in (" ", "\t") and name is not None:
            value = f"{value} {text.strip()}"
            continue
        if name is not None:
            msg[name] = value
        head, sep, tail = text.partition(":")
        name, value = (head, tail.strip()) if sep else (None, "")
    raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")


class LeanHTTPResponse(http.client.HTTPResponse):
    def begin(self) -> None:
        """``http.client.HTTPResponse.begin`` (Python 3.11) with ``read_header_block``."""
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._read_status()  # type: ignore[attr-defined]
            if status != http.client.CONTINUE:
                break
            read_header_block(self.fp)  # the interim response's headers are dropped
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = read_header_block(self.fp)
        transfer_encoding = self.headers.get("transfer-encoding")
        self.chunked = bool(transfer_encoding and transfer_encoding.lower() == "chunked")
        self.chunk_left = None
        self.will_close = self._check_close()  # type: ignore[attr-defined]
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                self.length = None
            else:
                if self.length < 0:
                    self.length = None
        if status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or 100 <= status < 200 or (
                self._method == "HEAD"):  # type: ignore[attr-defined]
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True


class LeanHTTPConnection(urllib3.connection.HTTPConnection):
    response_class = LeanHTTPResponse

    def putheader(self, header, *values) -> None:  # type: ignore[no-untyped-def]
        """One plain header line (a name of visible ASCII without a colon, a value without CR or LF) is
        written as it is; anything else goes through urllib3 and ``http.client``, which check a name
        and each value with regular expressions (a dozen headers per request)."""
        if (len(values) == 1 and type(header) is str and type(value := values[0]) is str
                and _PLAIN_NAME.fullmatch(header) and "\r" not in value and "\n" not in value
                and value != urllib3.util.SKIP_HEADER and value.isascii()):
            self._output(f"{header}: {value}".encode("ascii"))  # type: ignore[attr-defined]
            return
        super().putheader(header, *values)
