"""Passing a file a person uploaded on to content's upload route, as a stream.

werkzeug has already parsed the page's form (the form token sits in the same body) and spooled the file
to a temporary file; this sends it on as a fresh ``multipart/form-data`` body, read in chunks, with its
exact length, so neither process holds the whole file in memory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import IO, Any

from services.web.adapters.services import ApiFailure, ServiceApis, failure
from shared.identity import Identity
from shared.web.errors import ApiError

CHUNK = 64 * 1024
UPLOAD_TIMEOUT = (5.0, 300.0)  # connect, then the wait for content's answer once the last byte is sent


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "").replace("\n", "")


class MultipartFile:
    """An iterable body with a known length: requests sends it with Content-Length, chunk by chunk."""

    def __init__(self, stream: IO[bytes], filename: str, content_type: str, field: str = "file") -> None:
        self.boundary = uuid.uuid4().hex
        self.stream = stream
        self.head = (f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                     f"filename=\"{_quote(filename)}\"\r\nContent-Type: {content_type}\r\n\r\n").encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        stream.seek(0, os.SEEK_END)
        self.size = stream.tell()
        stream.seek(0)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        while chunk := self.stream.read(CHUNK):
            yield chunk
        yield self.tail


def send_file(apis: ServiceApis, path: str, identity: Identity, body: MultipartFile) -> Any:
    """POST ``body`` to content's ``path`` as ``identity``; the decoded answer, or ``ApiFailure``."""
    headers = {"Accept": "application/json", "Content-Type": body.content_type, "Content-Length": str(len(body))}
    try:
        resp = apis.clients["content"].request("POST", path, identity=identity, headers=headers, data=body,
                                               timeout=UPLOAD_TIMEOUT)
    except ApiError as exc:
        raise ApiFailure(503, "service_unavailable", exc.message) from exc
    try:
        data = resp.json() if resp.content else None
    except ValueError:
        data = None
    if resp.status_code >= 400:
        raise failure(resp.status_code, data, resp.headers.get("Retry-After"))
    return data
