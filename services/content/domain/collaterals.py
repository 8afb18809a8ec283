"""Collateral files attached to items."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

MAX_FILENAME = 255


@dataclass(frozen=True)
class Collateral:
    id: str
    item_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ByteRange:
    """``start`` to ``end`` inclusive, as HTTP's Content-Range says it."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def safe_filename(name: str | None) -> str:
    """A name fit for a Content-Disposition header and any file system: no directories, no control
    characters, no leading dots, at most 255 characters with the extension kept."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").strip()
    if not name:
        return "file"
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        keep_ext = bool(dot) and 0 < len(ext) <= 16
        name = stem[: MAX_FILENAME - len(ext) - 1] + "." + ext if keep_ext else name[:MAX_FILENAME]
    return name


def media_type(content_type: str | None) -> str:
    """``text/plain; charset=utf-8`` → ``text/plain``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def resolve_range(start: int, stop: int | None, size: int) -> ByteRange:
    """One HTTP byte range (``stop`` exclusive, ``start < 0`` for a suffix) against a file of ``size``.

    A suffix longer than the file means the whole file (RFC 9110 §14.1.2); a start past the end
    cannot be satisfied.
    """
    from services.content.domain.errors import RangeNotSatisfiable

    if start < 0:
        if size == 0:
            raise RangeNotSatisfiable(size)
        return ByteRange(max(0, size + start), size - 1)
    if start >= size:
        raise RangeNotSatisfiable(size)
    end = size - 1 if stop is None else min(stop, size) - 1
    return ByteRange(start, end)
