"""Pure pieces of file handling: names, ranges, Content-Disposition and the streaming multipart reader."""

from __future__ import annotations

import io

import pytest

from services.content.api.downloads import content_disposition
from services.content.api.multipart import open_file_part
from services.content.domain.collaterals import ByteRange, media_type, resolve_range, safe_filename
from services.content.domain.errors import MalformedUpload, RangeNotSatisfiable


@pytest.mark.parametrize("raw, safe", [
    ("report.pdf", "report.pdf"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\plan.docx", "plan.docx"),
    ("..hidden", "hidden"),
    ("a\x00b\r\nc.txt", "abc.txt"),
    ("  spaced   out .pdf ", "spaced out .pdf"),
    ("", "file"),
    (None, "file"),
    ("///", "file"),
    ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
])
def test_safe_filename(raw, safe):
    assert safe_filename(raw) == safe


def test_media_type_drops_parameters():
    assert media_type("Text/Plain; charset=UTF-8") == "text/plain"
    assert media_type(None) == ""


@pytest.mark.parametrize("start, stop, size, expected", [
    (0, 1, 10, ByteRange(0, 0)),
    (0, None, 10, ByteRange(0, 9)),
    (5, 100, 10, ByteRange(5, 9)),
    (-3, None, 10, ByteRange(7, 9)),
    (-30, None, 10, ByteRange(0, 9)),  # a suffix longer than the file is the whole file
    (9, None, 10, ByteRange(9, 9)),
])
def test_resolve_range(start, stop, size, expected):
    assert resolve_range(start, stop, size) == expected


@pytest.mark.parametrize("start, stop, size", [(10, None, 10), (11, 20, 10), (0, None, 0), (-1, None, 0)])
def test_unsatisfiable_ranges(start, stop, size):
    with pytest.raises(RangeNotSatisfiable) as err:
        resolve_range(start, stop, size)
    assert err.value.size == size


def test_content_disposition_is_an_attachment_with_an_ascii_fallback():
    assert content_disposition("plan.pdf") == "attachment; filename=\"plan.pdf\"; filename*=UTF-8''plan.pdf"
    header = content_disposition('ré"sumé\\.pdf')
    assert header.startswith('attachment; filename="re_sume_.pdf"; ')
    assert header.endswith("filename*=UTF-8''r%C3%A9%22sum%C3%A9%5C.pdf")
    assert "\n" not in content_disposition("日本.pdf") and 'filename="' in content_disposition("日本.pdf")


BOUNDARY = "----b0undary"
CT = f"multipart/form-data; boundary={BOUNDARY}"


def body(*parts: bytes, end: bool = True) -> bytes:
    out = b""
    for part in parts:
        out += f"--{BOUNDARY}\r\n".encode() + part + b"\r\n"
    return out + (f"--{BOUNDARY}--\r\n".encode() if end else b"")


def file_part(data: bytes, name: str = "file", filename: str = "a.bin", ctype: str = "application/pdf") -> bytes:
    return (f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {ctype}\r\n\r\n").encode() + data


def field_part(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


@pytest.mark.parametrize("chunk", [1, 7, 64, 65536])
def test_the_file_part_streams_whole_whatever_the_chunk_size(chunk):
    data = bytes(range(256)) * 40 + b"\r\n--" + b"\r\n" + b"--" + BOUNDARY.encode()[:-1]  # boundary look-alikes
    raw = body(field_part("title", b"ignored"), file_part(data, filename="x.pdf"), field_part("after", b"z"))
    upload = open_file_part(io.BytesIO(raw), CT, chunk_size=chunk)
    assert upload.filename == "x.pdf" and upload.content_type == "application/pdf"
    pieces = list(upload.chunks)
    assert b"".join(pieces) == data
    assert max(len(p) for p in pieces) <= max(chunk, 64) + len(BOUNDARY) + 8


def test_an_empty_file_part_is_empty():
    upload = open_file_part(io.BytesIO(body(file_part(b""))), CT)
    assert b"".join(upload.chunks) == b""


@pytest.mark.parametrize("content_type", [None, "application/json", "multipart/form-data",
                                          "multipart/mixed; boundary=x"])
def test_not_multipart_form_data_with_a_boundary(content_type):
    with pytest.raises(MalformedUpload):
        open_file_part(io.BytesIO(body(file_part(b"x"))), content_type)


@pytest.mark.parametrize("raw", [
    body(field_part("file", b"not a file")),
    body(file_part(b"x", name="document")),
    body(),
    b"",
    b"garbage without any boundary",
    f"--{BOUNDARY}\r\nX-No-Disposition: 1\r\n\r\nx\r\n--{BOUNDARY}--\r\n".encode(),
])
def test_a_body_without_a_file_field_is_malformed(raw):
    with pytest.raises(MalformedUpload):
        upload = open_file_part(io.BytesIO(raw), CT)
        list(upload.chunks)


def test_a_body_cut_short_is_malformed_when_read():
    raw = body(file_part(b"x" * 1000), end=False)[:-200]
    upload = open_file_part(io.BytesIO(raw), CT, chunk_size=100)
    with pytest.raises(MalformedUpload):
        list(upload.chunks)
