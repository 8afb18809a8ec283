"""Per-person sealing of identifying fields (crypto-shredding, DESIGN §4).

A stored event keeps its person's identifying fields (the actor when it is a person, and the payload
fields its schema classifies as personal or free text: email, a person's name, phone, IP address, user
agent, query subjects, notes, reasons, request paths and query strings — ``shared/events/classification.py``)
encrypted under that person's own key. The hash
chain covers the stored, sealed form, so destroying the key on erasure makes those fields unreadable
while every hash still matches.

A row's values sealed for one person are encrypted together, once (format 2): the first of them — the
actor column when the person is the actor, else the first in the payload — is the *carrier*
``enc2:<person>:<base64(nonce + AES-GCM ciphertext of the JSON list of the person's values in the row)>``,
holding its own value at index 0; every other one is a *reference* ``enc2:<person>:#<index>`` into that
list. ``<person>`` is the person's blind index (a keyed HMAC of their user id, see ``person_token``): it
names the key without naming the person, and search by actor compares the same token. One encryption per
person and row instead of one per value (an access event seals four values of one person). Rows written
earlier seal each value on its own (format 1, ``enc1:<person>:<base64 ...>``) and stay readable (``unseal``).
Plain rules only; no database here.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.canonical_json import Canonical
from shared.events.classification import SealPlan, seal_plan
from shared.events.registry import UnknownEventType

PREFIX = "enc1:"  # format 1: one value sealed on its own (rows stored before format 2; read only)
PREFIX2 = "enc2:"  # format 2: a carrier of a row's values of one person, or a reference into it
PREFIXES = (PREFIX, PREFIX2)
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


def has_personal(type_: str, version: int, payload: Mapping[str, Any]) -> bool:
    """Whether ``personal_fields`` would name any field (the writer's per-event question: no list, no sort)."""
    for key, rule in plan_for(type_, version).items():
        value = payload.get(key)
        if value and _has_text(value, rule):
            return True
    return False


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


def seal_payload(plan: SealPlan, payload: Mapping[str, Any], seal_one: Callable[[str], Any]) -> dict[str, Any]:
    """The payload with every non-empty string the plan names replaced by ``seal_one(string)``: top-level
    strings, every string inside a list or dict so classified, and the classified fields of nested objects
    (alone or in lists)."""
    out = dict(payload)
    for key, rule in plan.items():
        if key in out:
            out[key] = _seal_value(out[key], rule, seal_one)
    return out


def _seal_value(value: Any, rule: bool | SealPlan, seal_one: Callable[[str], Any]) -> Any:
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
    return isinstance(value, str) and value.startswith(PREFIXES)


def sealed_person(value: str) -> str:
    """The person token a sealed value names."""
    return value[len(PREFIX):len(PREFIX) + TOKEN_LEN]


def is_reference(value: str) -> bool:
    """A format-2 value pointing into its row's carrier (``enc2:<person>:#<index>``)."""
    start = len(PREFIX2) + TOKEN_LEN + 1
    return value.startswith(PREFIX2) and value[start:start + 1] == "#" and value[start + 1:].isdigit()


def reference_index(value: str) -> int:
    return int(value[len(PREFIX2) + TOKEN_LEN + 2:])


class Sealer:
    """Seals for one batch. Nonces are 8 random bytes drawn per batch plus a 4-byte counter: unique per key
    without a system call per value (a GCM nonce must never repeat under one key; 64 random bits per batch
    make a repeat across batches negligible)."""

    def __init__(self) -> None:
        self.prefix = os.urandom(8)
        self.counter = 0

    def _encrypt(self, aead: AESGCM, plaintext: bytes) -> str:
        self.counter += 1
        nonce = self.prefix + self.counter.to_bytes(4, "big")
        # binascii directly: base64's wrappers cost more than the encryption here (runs per row)
        return binascii.b2a_base64(nonce + aead.encrypt(nonce, plaintext, None), newline=False).decode()

    def seal_values(self, aead: AESGCM, token: str, values: list[str]) -> str:
        """A carrier: every value of one person in one row, encrypted once."""
        return f"{PREFIX2}{token}:{self._encrypt(aead, _VALUES.utf8(values))}"


_VALUES = Canonical(ensure_ascii=False)  # a list of strings: its order is kept


class Carrier:
    """Stands in a payload for the carrier of one person's values until the row's values are all known;
    ``payload_text`` writes the carrier's text in its place."""

    __slots__ = ("text",)

    def __init__(self) -> None:
        self.text = ""


def _carrier_text(value: Any) -> str:
    if isinstance(value, Carrier):
        return value.text
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


# The canonical payload encoder (``chain.canonical_payload``) that also writes carriers.
_PAYLOAD = Canonical(ensure_ascii=True, default=_carrier_text, leaves=(Carrier,))


class RowSeal:
    """The sealed values of one row, collected per person and encrypted once per person (format 2).

    ``add(token, text)`` returns what the payload stores in the value's place: a ``Carrier`` for a person's
    first payload value (unless their carrier is the actor column, ``add_actor``), else a reference; ``close``
    encrypts each person's list and fills the carriers in."""

    def __init__(self, sealer: Sealer, ring: Mapping[str, AESGCM]) -> None:
        self.sealer = sealer
        self.ring = ring
        self.values: dict[str, list[str]] = {}
        self.carriers: dict[str, Carrier] = {}

    def add_actor(self, token: str, actor: str) -> Carrier:
        self.values[token] = [actor]
        return self.carriers.setdefault(token, Carrier())

    def add(self, token: str, text: str) -> str | Carrier:
        values = self.values.get(token)
        if values is None:
            self.values[token] = [text]
            return self.carriers.setdefault(token, Carrier())
        values.append(text)
        return f"{PREFIX2}{token}:#{len(values) - 1}"

    def close(self) -> None:
        for token, values in self.values.items():
            self.carriers[token].text = self.sealer.seal_values(self.ring[token], token, values)


def seal_row(sealer: Sealer, ring: Mapping[str, AESGCM], type_: str, version: int, actor: str,
             actor_token: str | None, payload: Mapping[str, Any], owner: str | None) -> tuple[str, str]:
    """A row's actor and payload text as stored: the actor sealed when ``actor_token`` is given (a person),
    the payload's classified values sealed for ``owner`` (a person token, or None), all of one person's
    values encrypted together."""
    if actor_token is None and owner is None:
        return actor, payload_text(payload)
    row = RowSeal(sealer, ring)
    carrier = row.add_actor(actor_token, actor) if actor_token is not None else None
    if owner is not None:
        payload = seal_payload(plan_for(type_, version), payload, lambda text: row.add(owner, text))
    row.close()
    return (carrier.text if carrier is not None else actor), payload_text(payload)


def payload_text(payload: Mapping[str, Any]) -> str:
    """The canonical payload text (``chain.canonical_payload``), carriers written in."""
    return _PAYLOAD.text(payload)


def open_values(aead: AESGCM | None, carrier: str) -> list[str] | str:
    """A carrier's values, or ``[erased]`` (key destroyed, ``aead`` None) or ``[unreadable]`` in their stead."""
    if aead is None:
        return ERASED
    try:
        raw = binascii.a2b_base64(carrier[len(PREFIX2) + TOKEN_LEN + 1:])
        values = json.loads(aead.decrypt(raw[:12], raw[12:], None))
    except Exception:  # noqa: BLE001 - a wrong key or a damaged value: say so, never fail a read
        return UNREADABLE
    return values if isinstance(values, list) and all(isinstance(v, str) for v in values) else UNREADABLE


def opened_value(value: str, aead: AESGCM | None, carried: Mapping[str, list[str] | str]) -> str:
    """One sealed value as a reader sees it. ``carried``: the row's opened carriers by person
    (``open_values``); a reference with no carrier of its person in the row is text that only looks sealed."""
    if value.startswith(PREFIX):
        return unseal(aead, value)
    opened = carried.get(sealed_person(value))
    if opened is None:
        return value
    if isinstance(opened, str):
        return opened
    index = reference_index(value) if is_reference(value) else 0
    return opened[index] if index < len(opened) else UNREADABLE


def unseal(aead: AESGCM | None, value: str) -> str:
    """A format-1 value's plaintext, or ``[erased]`` when the person's key was destroyed (``aead`` None)."""
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
