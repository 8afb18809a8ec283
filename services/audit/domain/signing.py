"""Signatures over the chain: HMAC-SHA256 with the audit signing key (``PORTAL_AUDIT_SIGNING_KEY``).

A checkpoint signs ``(seq, hash, created_at)`` of one chained row; a retention record signs what was
removed. Whoever edits the database without the key cannot forge either, so a recomputed chain is
caught at the next checkpoint. ``key_id`` names the key (a prefix of its digest) so keys can rotate.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"audit-key-id:" + key).hexdigest()[:12]


def sign(key: bytes, message: Mapping[str, Any]) -> str:
    body = json.dumps(dict(message), sort_keys=True, separators=(",", ":"), default=str).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(key: bytes, message: Mapping[str, Any], signature: str) -> bool:
    return hmac.compare_digest(sign(key, message), signature or "")


def checkpoint_message(seq: int, hash_: str, created_at: str) -> dict[str, Any]:
    return {"kind": "checkpoint", "seq": seq, "hash": hash_, "created_at": created_at}


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A separate key per purpose (cursors, person digests) from one configured secret."""
    return hmac.new(secret, f"portal-audit:{purpose}".encode(), hashlib.sha256).digest()
