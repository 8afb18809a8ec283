"""Per-person sealing of identifying fields (crypto-shredding, DESIGN §4).

A stored event keeps its person's identifying fields (the actor when it is a person, and the payload
fields its schema classifies as personal or free text: email, a person's name, phone, IP address, user
agent, query subjects, notes, reasons, request paths and query strings — ``shared/events/classification.py``)
encrypted under that person's own key. The hash
chain covers the stored, sealed form, so destroying the key on erasure makes those fields unreadable
while every hash still matches.

A sealed value is text: ``enc1:<person>:<base64(nonce + AES-GCM ciphertext)>``, where ``<person>`` is
the person's blind index (a keyed HMAC of their user id, see ``person_token``): it names the key without
naming the person, and search by actor compares the same token. Plain rules only; no database here.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.events.classification import SealPlan, seal_plan
from shared.events.registry import UnknownEventType

PREFIX = "enc1:"
ERASED = "[erased]"
UNREADABLE = "[unreadable]"  # sealed under a key that exists but does not open it (should not happen)
TOKEN_LEN = 32

# An event type no schema declares (stored all the same: the log takes what it is given) is sealed by
# field name, the safe guess: who a person is, where they connect from.
UNDECLARED_PERSONAL_FIELDS = frozenset({"email", "previous_email", "new_email", "phone", "client_ip", "user_agent",
                                        "name", "path", "query"})
# Where an event names the person its personal payload fields describe (else the actor).
OWNER_KEYS = ("user_id", "subject_user_id")


def is_person(actor: str | None) -> bool:
    """A person's user id, as opposed to a service (``system:*``) or a browser (``anonymous[:id]``)."""
    if not actor:
        return False
    return not actor.startswith(("system:", "anonymous:")) and actor != "anonymous"


@functools.lru_cache(maxsize=65536)
def person_token(index_key: bytes, user_id: str) -> str:
    """The blind index of a user id (also of any actor: the search key of every stored row). Cached: it
    never changes, and an HMAC per event was a measurable part of ingestion."""
    return hmac.new(index_key, user_id.encode(), hashlib.sha256).hexdigest()[:TOKEN_LEN]


def personal_fields(type_: str, version: int, payload: Mapping[str, Any]) -> list[str]:
    """The payload's top-level fields holding something its schema classifies as sealed (personal, free
    text): a non-empty string, or a list, dict or nested object with one inside."""
    plan = plan_for(type_, version)
    return sorted(k for k, rule in plan.items() if _has_text(payload.get(k), rule))


@functools.lru_cache(maxsize=1024)
def plan_for(type_: str, version: int) -> SealPlan:
    """What is sealed in this event type's payload (``classification.seal_plan``); an undeclared type by
    field name."""
    try:
        return seal_plan(type_, version)
    except UnknownEventType:
        return dict.fromkeys(sorted(UNDECLARED_PERSONAL_FIELDS), True)


def _has_text(value: Any, rule: bool | SealPlan) -> bool:
    if isinstance(value, str):
        return bool(value) and rule is True
    if isinstance(value, list):
        return any(_has_text(v, rule) for v in value)
    if isinstance(value, dict):
        if isinstance(rule, bool):
            return rule and any(_has_text(v, True) for v in value.values())
        return any(_has_text(value.get(k), r) for k, r in rule.items())
    return False


def seal_payload(plan: SealPlan, payload: Mapping[str, Any], seal_one: Callable[[str], str]) -> dict[str, Any]:
    """The payload with every non-empty string the plan names replaced by ``seal_one(string)``: top-level
    strings, every string inside a list or dict so classified, and the classified fields of nested objects
    (alone or in lists)."""
    out = dict(payload)
    for key, rule in plan.items():
        if key in out:
            out[key] = _seal_value(out[key], rule, seal_one)
    return out


def _seal_value(value: Any, rule: bool | SealPlan, seal_one: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return seal_one(value) if value and rule is True else value
    if isinstance(value, list):
        return [_seal_value(v, rule, seal_one) for v in value]
    if isinstance(value, dict):
        if isinstance(rule, bool):
            return {k: _seal_value(v, True, seal_one) for k, v in value.items()} if rule else value
        return seal_payload(rule, value, seal_one)
    return value


def owner_of_payload(actor: str, payload: Mapping[str, Any]) -> str | None:
    """Whose identifying fields the payload carries: the person it names, else the acting person."""
    for key in OWNER_KEYS:
        value = payload.get(key)
        if isinstance(value, str) and is_person(value):
            return value
    return actor if is_person(actor) else None


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def sealed_person(value: str) -> str:
    """The person token a sealed value names."""
    return value[len(PREFIX):len(PREFIX) + TOKEN_LEN]


class Sealer:
    """Seals values for one batch. Nonces are 8 random bytes drawn per batch plus a 4-byte counter: unique
    per key without a system call per value (a GCM nonce must never repeat under one key; 64 random bits
    per batch make a repeat across batches negligible)."""

    def __init__(self) -> None:
        self.prefix = os.urandom(8)
        self.counter = 0

    def seal(self, aead: AESGCM, token: str, plaintext: str) -> str:
        self.counter += 1
        nonce = self.prefix + self.counter.to_bytes(4, "big")
        # binascii directly: base64's wrappers cost more than the encryption here (runs per field, per event)
        body = binascii.b2a_base64(nonce + aead.encrypt(nonce, plaintext.encode(), None), newline=False).decode()
        return f"{PREFIX}{token}:{body}"


def seal(aead: AESGCM, token: str, plaintext: str) -> str:
    return Sealer().seal(aead, token, plaintext)


def unseal(aead: AESGCM | None, value: str) -> str:
    """The plaintext, or ``[erased]`` when the person's key was destroyed (``aead`` None)."""
    if aead is None:
        return ERASED
    raw = binascii.a2b_base64(value[len(PREFIX) + TOKEN_LEN + 1:])
    try:
        return aead.decrypt(raw[:12], raw[12:], None).decode()
    except Exception:  # noqa: BLE001 - a wrong key or a damaged value: say so, never fail a read
        return UNREADABLE


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap(wrap_key: AESGCM, token: str, key: bytes) -> str:
    """A person key encrypted under the wrap key, bound to its person token (associated data)."""
    nonce = os.urandom(12)
    return base64.b64encode(nonce + wrap_key.encrypt(nonce, key, token.encode())).decode()


def unwrap(wrap_key: AESGCM, token: str, wrapped: str) -> bytes:
    raw = base64.b64decode(wrapped)
    return wrap_key.decrypt(raw[:12], raw[12:], token.encode())
