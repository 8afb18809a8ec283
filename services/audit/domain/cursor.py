"""Opaque keyset cursors: the last sequence number seen, bound to the search that made it, signed.

A client cannot forge a cursor to jump elsewhere or reuse one with other filters: the tag covers the
position and a fingerprint of the filters; anything else is rejected as invalid (422).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any


class InvalidCursor(ValueError):
    pass


def fingerprint(scope: str, filters: Mapping[str, Any]) -> str:
    body = json.dumps({"scope": scope, **filters}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def encode(key: bytes, seq: int, fp: str) -> str:
    body = f"{seq}.{fp}"
    tag = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:24]
    return base64.urlsafe_b64encode(f"{body}.{tag}".encode()).decode().rstrip("=")


def decode(key: bytes, cursor: str, fp: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        seq_s, cursor_fp, tag = raw.split(".")
        seq = int(seq_s)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor("The cursor is not valid.") from exc
    expected = hmac.new(key, f"{seq_s}.{cursor_fp}".encode(), hashlib.sha256).hexdigest()[:24]
    if not hmac.compare_digest(expected, tag) or seq < 0:
        raise InvalidCursor("The cursor is not valid.")
    if cursor_fp != fp:
        raise InvalidCursor("The cursor belongs to another search; start again without it.")
    return seq
