"""Canonical JSON text (sorted keys, no spaces) byte for byte as the standard library writes it, written by
orjson where that is certain to give the same bytes.

Signatures and the audit hash chain cover canonical JSON texts: a text must never change for the same
value, or signed events would stop verifying and a store's hashes would stop matching what a verifier
recomputes. The standard library's sort-keys encoder costs ~4 µs per access event's payload, twice per event
on the ingestion path (the signed fields, the stored payload); orjson ~0.4 µs. The two agree on the values a
decoded JSON document holds except in three places, which ``_same_in_both`` looks for (a walk of ~0.5 µs)
before orjson is used, and the standard encoder writes everything else:

- floats: non-finite ones (orjson writes ``null``, the standard library ``NaN``/``Infinity``) and non-zero
  ones below 1e-4 in magnitude (``1e-05`` against ``0.00001``, ``2.5e-07`` against ``2.5e-7``); every other
  float prints as ``repr`` in both;
- values that are not JSON's own (``datetime``, ``UUID``, enums, subclasses): orjson writes some the standard
  library refuses;
- with ``ensure_ascii``: orjson writes UTF-8 and DEL (0x7f) as they are, the standard library as ``\\u`` escapes
  (seen in the output: ``bytes.isascii``, one search for 0x7f).

Integers beyond 64 bits, lone surrogates and keys that are not strings make orjson raise: the standard
library decides those. ``tests/unit/shared/test_canonical_json.py`` holds both to the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_SMALLEST_SAME = 1e-4  # below this (not zero), the two write a float's exponent differently
_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS \
    | orjson.OPT_PASSTHROUGH_SUBCLASS


_PLAIN = frozenset({str, int, bool, type(None)})  # written alike (ints beyond 64 bits: orjson raises)


def _same_in_both(value: Any, leaves: tuple[type, ...]) -> bool:
    """Whether orjson writes ``value`` as the standard library does (``leaves``: types the caller's ``default``
    turns into a string the two write alike). Runs per event: a container's plain values are passed over
    without a call each."""
    kind = type(value)
    if kind is dict:
        for key in value:
            if type(key) is not str:
                return False
        items: Any = value.values()
    elif kind is list or kind is tuple:
        items = value
    elif kind is float:
        return value - value == 0 and (value == 0 or abs(value) >= _SMALLEST_SAME)
    else:
        return kind in _PLAIN or kind in leaves
    for item in items:
        kind = type(item)
        if kind in _PLAIN:
            continue
        if kind is float:
            if not (item - item == 0 and (item == 0 or abs(item) >= _SMALLEST_SAME)):
                return False
        elif not _same_in_both(item, leaves):
            return False
    return True


class Canonical:
    """One canonical encoder: ``text(value)`` is ``json.JSONEncoder(sort_keys=True, separators=(",", ":"),
    ensure_ascii=..., default=...).encode(value)``; ``utf8(value)`` the same encoded as UTF-8."""

    def __init__(self, ensure_ascii: bool, default: Callable[[Any], Any] | None = None,
                 leaves: tuple[type, ...] = ()) -> None:
        self.ensure_ascii = ensure_ascii
        self.default = default
        self.leaves = leaves
        self.standard = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii,
                                         default=default)

    def _fast(self, value: Any) -> bytes | None:
        try:
            if not _same_in_both(value, self.leaves):
                return None
            out = orjson.dumps(value, default=self.default, option=_SORTED)
        except (orjson.JSONEncodeError, TypeError, ValueError, RecursionError):
            return None
        if self.ensure_ascii and not (out.isascii() and b"\x7f" not in out):
            return None
        return out

    def text(self, value: Any) -> str:
        out = self._fast(value)
        return self.standard.encode(value) if out is None else out.decode()

    def utf8(self, value: Any) -> bytes:
        out = self._fast(value)
        return self.standard.encode(value).encode() if out is None else out
