"""Producer signatures on event envelopes: a consumer acts only on events their producer signed.

Anyone who can write to the broker could otherwise publish ``identity.privacy.erasure_requested`` and
have every service erase a person. Each envelope carries ``sig``: one HMAC-SHA256 tag per consuming
service, ``{"<consumer>": "<hex>"}``, made with the key of the pair (producer, consumer). A consumer
holds the keys of the pairs that end at it, a producer those that start at it, so:

- a consumer can verify its producers but not sign as them towards any other consumer;
- a producer can sign only as itself (the ``producer`` field is covered by every tag);
- a compromised service can forge events only towards itself, which it controls anyway, and sign
  anything as itself towards every other service.

Pair keys come from ``PORTAL_EVENT_KEY_<PRODUCER>_<CONSUMER>``: every deployment (``portal run``, compose,
Kubernetes) gives each process only the pairs it signs or verifies with (``services/cli/keys.py``
``event_keys_for``). ``PORTAL_EVENT_MASTER_KEY``, from which every pair key can be derived, is for tests and
for ``portal run`` itself, which derives the pairs from it and never passes it on.

The tag covers every envelope field a consumer acts on (``event_id``, ``type``, ``version``,
``occurred_at``, ``producer``, ``actor``, ``subject``, ``correlation_id``, ``payload``) as one canonical
JSON text; fields added later (a trace context) travel unsigned.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any

from shared.bus.topology import QUEUE_BINDINGS
from shared.canonical_json import Canonical
from shared.config import ConfigError

SIG_FIELD = "sig"
MASTER_ENV = "PORTAL_EVENT_MASTER_KEY"
PRODUCERS = ("identity", "linking", "content", "audit", "gateway")
TAG_HEX = 32  # 128-bit tags: forging one is out of reach, and four of them keep an envelope small


def pair_env(producer: str, consumer: str) -> str:
    return f"PORTAL_EVENT_KEY_{producer.upper()}_{consumer.upper()}"


def derive_pair_key(master: str, producer: str, consumer: str) -> str:
    """The pair's key derived from the master key, as the text ``PORTAL_EVENT_KEY_<P>_<C>`` would hold: ``portal
    run`` hands its children these derived keys (never the master itself), and they sign exactly as a process
    holding the master would."""
    return hmac.new(master.encode(), f"portal-event-key:{producer}->{consumer}".encode(), hashlib.sha256).hexdigest()


@functools.cache
def pair_key(producer: str, consumer: str) -> bytes | None:
    """The key of the pair, from the environment (read once per process)."""
    explicit = os.environ.get(pair_env(producer, consumer))
    if explicit:
        return explicit.encode()
    master = os.environ.get(MASTER_ENV)
    if master:
        return derive_pair_key(master, producer, consumer).encode()
    return None


def signing_keys(producer: str) -> dict[str, bytes]:
    """The keys ``producer`` signs with, by consumer (every consuming service it has a key for)."""
    keys = {c: k for c in QUEUE_BINDINGS if (k := pair_key(producer, c)) is not None}
    if not keys:
        raise ConfigError(f"no event signing key for producer {producer!r}: set {MASTER_ENV} or "
                          f"{pair_env(producer, '<consumer>')}")
    return keys


def require_verify_keys(consumer: str) -> None:
    """Refuse to start a consumer that could verify nothing (it would dead-letter every event)."""
    if not any(pair_key(p, consumer) for p in (*PRODUCERS, consumer)):
        raise ConfigError(f"no event verification key for consumer {consumer!r}: set {MASTER_ENV} or "
                          f"{pair_env('<producer>', consumer)}")


def reset_keys() -> None:
    """Forget the keys read from the environment (tests that change it)."""
    pair_key.cache_clear()
    _keyed.clear()


_keyed: dict[bytes, Any] = {}


# The standard library's sort-keys encoder's bytes (UTF-8), written by orjson where they are the same: every
# event is signed once and verified by each consumer.
_SIGNED = Canonical(ensure_ascii=False)


def _signed_text(envelope: Mapping[str, Any]) -> bytes:
    return _SIGNED.utf8(
        [envelope.get("event_id"), envelope.get("type"), envelope.get("version"), envelope.get("occurred_at"),
         envelope.get("producer"), envelope.get("actor"), envelope.get("subject"),
         envelope.get("correlation_id"), envelope.get("payload")],
    )


def _tag(key: bytes, text: bytes) -> str:
    """HMAC-SHA256 of ``text``, from a copy of the keyed state (the key's pads are hashed once per process)."""
    base = _keyed.get(key)
    if base is None:
        base = _keyed[key] = hmac.new(key, digestmod=hashlib.sha256)
    mac = base.copy()
    mac.update(text)
    return mac.hexdigest()[:TAG_HEX]


def signatures(envelope: Mapping[str, Any], keys: Mapping[str, bytes]) -> dict[str, str]:
    text = _signed_text(envelope)
    return {consumer: _tag(key, text) for consumer, key in keys.items()}


def sign(envelope: dict[str, Any]) -> dict[str, Any]:
    """Add the producer's tags (one per consumer it has a key for) to ``envelope``, in place; return it."""
    envelope[SIG_FIELD] = signatures(envelope, signing_keys(str(envelope["producer"])))
    return envelope


def refusal(consumer: str, envelope: Any) -> str | None:
    """Why ``consumer`` must not act on ``envelope`` (a dead letter's reason), or None when its producer signed it."""
    if not isinstance(envelope, dict):
        return "unsigned: not an envelope"
    tags = envelope.get(SIG_FIELD)
    tag = tags.get(consumer) if isinstance(tags, dict) else None
    if not isinstance(tag, str):
        return f"unsigned: no producer signature for {consumer}"
    producer = envelope.get("producer")
    key = pair_key(producer, consumer) if isinstance(producer, str) and producer else None
    if key is None:
        return f"bad signature: no key for producer {producer!r}"
    expected = _tag(key, _signed_text(envelope))
    if not hmac.compare_digest(expected, tag):
        return f"bad signature: not signed by producer {producer!r} (forged or altered)"
    return None
