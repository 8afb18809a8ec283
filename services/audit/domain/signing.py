"""Signatures over the chain: Ed25519, so that whoever verifies cannot sign.

The audit writer (the worker, and ``portal audit retain``) holds the private key; everyone else gets the
public key (``GET /integrity``, ``portal audit public-key``). A checkpoint signs one chained row and the
checkpoint before it, the chain head signs the last row and the last checkpoint, a retention record signs
what was removed. Without the private key nobody can recompute the chain after an edit, drop a
checkpoint or move the head and still match a signature. ``key_id`` names the public key, so keys rotate.

Checkpoints and records written before Ed25519 carry an HMAC-SHA256 (``legacy_*``): ``portal audit
resign`` checks them with the old key and signs them again (docs/audit.md, "Signing keys").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "ed25519"


def _body(message: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(message), sort_keys=True, separators=(",", ":"), default=str).encode()


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(b"audit-key-id:" + raw_public(key)).hexdigest()[:16]


class Signer:
    """The audit writer's private key."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id(self.public)

    def sign(self, message: Mapping[str, Any]) -> str:
        return self._private.sign(_body(message)).hex()


class Verifier:
    """Public keys by id: the current one and earlier ones (after a rotation)."""

    def __init__(self, keys: Iterable[Ed25519PublicKey]) -> None:
        self.keys = {key_id(k): k for k in keys}
        self.current = next(iter(self.keys.values()), None)

    def verify(self, message: Mapping[str, Any], signature: str, signed_by: str | None = None) -> bool:
        try:
            raw = bytes.fromhex(signature or "")
        except ValueError:
            return False
        if len(raw) != 64:
            return False
        candidates = [self.keys[signed_by]] if signed_by in self.keys else list(self.keys.values())
        for key in candidates:
            try:
                key.verify(raw, _body(message))
                return True
            except InvalidSignature:
                continue
        return False

    def published(self) -> dict[str, Any]:
        """What ``GET /integrity`` and ``portal audit public-key`` show."""
        if self.current is None:
            return {}
        pem = self.current.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return {"algorithm": ALGORITHM, "key_id": key_id(self.current), "pem": pem.decode(),
                "raw": base64.b64encode(raw_public(self.current)).decode(),
                "previous_key_ids": [k for k in self.keys if k != key_id(self.current)]}


def load_private(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def load_public(text: str) -> Ed25519PublicKey:
    """A PEM public key, or the raw 32 bytes in base64 (as ``portal audit public-key`` prints them)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def new_private_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def public_pem(private_pem: bytes) -> bytes:
    return load_private(private_pem).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def checkpoint_message(seq: int, hash_: str, created_at: str, prev_seq: int) -> dict[str, Any]:
    return {"kind": "checkpoint", "seq": seq, "hash": hash_, "created_at": created_at, "prev_seq": prev_seq}


def head_message(seq: int, hash_: str, checkpoint_seq: int, signed_at: str, chain: int | None = None) -> dict[str, Any]:
    """A chain's head; ``chain`` only in a store of several chains (a store of one signs what it always did)."""
    out = {"kind": "head", "seq": seq, "hash": hash_, "checkpoint_seq": checkpoint_seq, "signed_at": signed_at}
    if chain is not None:
        out["chain"] = chain
    return out


def root_message(heads: Iterable[tuple[int, int, str]], created_at: str) -> dict[str, Any]:
    """Every chain's head at one moment: ``[[chain, seq, hash], ...]`` in chain order."""
    return {"kind": "root", "heads": [[c, s, h] for c, s, h in sorted(heads)], "created_at": created_at}


# --- the HMAC signatures written before Ed25519, checked once by ``portal audit resign`` ---------------

def legacy_sign(key: bytes, message: Mapping[str, Any]) -> str:
    return hmac.new(key, _body(message), hashlib.sha256).hexdigest()


def legacy_verify(key: bytes, message: Mapping[str, Any], signature: str) -> bool:
    return hmac.compare_digest(legacy_sign(key, message), signature or "")


def legacy_checkpoint_message(seq: int, hash_: str, created_at: str) -> dict[str, Any]:
    return {"kind": "checkpoint", "seq": seq, "hash": hash_, "created_at": created_at}


def secret_key_id(key: bytes) -> str:
    """The id of a symmetric key (a wrap key), stored beside what it protects; never the key itself."""
    return hashlib.sha256(b"audit-key-id:" + key).hexdigest()[:12]


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A separate key per purpose (cursors, person digests) from one configured secret."""
    return hmac.new(secret, f"portal-audit:{purpose}".encode(), hashlib.sha256).digest()
