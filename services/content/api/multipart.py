"""Streaming the ``file`` part out of a multipart/form-data body, chunk by chunk.

werkzeug's form parser would spool the whole file to a temporary file first; reading the parts
ourselves lets the bytes go straight to storage (and through the hash) as they arrive, with memory
bounded by one chunk whatever the file's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, File, MultipartDecoder, NeedData

from services.content.domain.errors import MalformedUpload
from services.content.handlers.collaterals import Upload

CHUNK = 64 * 1024
MAX_PART_HEADERS = 64 * 1024  # headers and small text fields before the file


def _events(stream: IO[bytes], decoder: MultipartDecoder, chunk_size: int) -> Iterator:
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, NeedData):
                data = stream.read(chunk_size)
                decoder.receive_data(data or None)
                continue
            yield event
            if isinstance(event, Epilogue):
                return
    except ValueError as exc:  # werkzeug's word for "this is not valid multipart"
        raise MalformedUpload(f"The multipart body is malformed: {exc}") from None


def _file_data(events: Iterator) -> Iterator[bytes]:
    for event in events:
        if not isinstance(event, Data):
            break
        if event.data:
            yield event.data
        if not event.more_data:
            return
    raise MalformedUpload("The file part ended unexpectedly.")


def open_file_part(stream: IO[bytes], content_type: str | None, field: str = "file",
                   chunk_size: int = CHUNK) -> Upload:
    """The first file part named ``field``; its ``chunks`` go on reading ``stream`` lazily."""
    mimetype, options = parse_options_header(content_type or "")
    boundary = options.get("boundary")
    if mimetype != "multipart/form-data" or not boundary:
        raise MalformedUpload("Send multipart/form-data with a boundary.")
    decoder = MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=MAX_PART_HEADERS + chunk_size,
                               max_parts=20)
    events = _events(stream, decoder, chunk_size)
    for event in events:
        if isinstance(event, File) and event.name == field:
            return Upload(filename=event.filename, content_type=event.headers.get("Content-Type"),
                          chunks=_file_data(events))
    raise MalformedUpload(f"The form has no file in the field '{field}'.")
