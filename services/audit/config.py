"""audit's settings, read once from the environment."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.audit.domain import signing
from services.audit.domain.signing import derive_key
from shared.config import CommonSettings, ConfigError, env_float, env_int, env_secret, var_dir

SERVICE = "audit"


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    # The HMAC key behind the blind index of actors, cursors and person digests: PORTAL_AUDIT_INDEX_KEY,
    # else PORTAL_AUDIT_SIGNING_KEY (its name from when it also signed checkpoints, so existing stores keep
    # finding their rows). Required; never derived from another key.
    index_key: bytes
    # Ed25519: the private key only in the audit writer (PORTAL_AUDIT_SIGNING_KEY_FILE), the public keys
    # everywhere that verifies (PORTAL_AUDIT_PUBLIC_KEY_FILE, else the private key's; earlier ones in
    # PORTAL_AUDIT_PREVIOUS_PUBLIC_KEYS). See docs/audit.md, "Signing keys".
    signer: signing.Signer | None
    verifier: signing.Verifier
    anchor_path: Path  # the external anchor of signed heads (PORTAL_AUDIT_ANCHOR_PATH)
    anchor_url: str | None  # another anchor store (PORTAL_AUDIT_ANCHOR_URL: file:///… or a SQL database URL)
    checkpoint_every: int  # sign a checkpoint every N stored events (of each chain)
    trends_k: int  # smallest group of distinct people a trend may show
    max_page: int
    # Wraps the per-person keys (docs/audit.md, "Erasure"): PORTAL_AUDIT_KEY_WRAP_KEY, required, a secret
    # of its own. Never stored in the database.
    wrap_key: bytes
    retention_days: int  # how long events are kept (the "until" of an erasure answer)
    export_limit: int  # most recent own events in a person's privacy export
    # Earlier wrap keys, still able to open person keys wrapped under them until `portal audit rewrap` has
    # moved every key to ``wrap_key``: PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS (comma-separated), and the key
    # derived from the index key (what wrapped them before the wrap key was a secret of its own).
    previous_wrap_keys: tuple[bytes, ...] = ()
    # The HMAC key checkpoints were signed with before Ed25519; only ``portal audit resign`` uses it.
    legacy_hmac_key: bytes = b""
    # The live stream (docs/audit.md, "Live stream"): seconds between polls of the store, of silence
    # before a heartbeat, of a stream's life before the browser reconnects; open streams per process
    # (each holds one of the process's threads).
    stream_poll: float = 0.5
    stream_heartbeat: float = 5.0
    stream_lifetime: float = 300.0
    streams_per_process: int = 2
    # How many hash chains a new store is split into (PORTAL_AUDIT_CHAINS): K writers append in parallel,
    # each batch's events by chain of their event id. Fixed once the store holds events (docs/audit.md,
    # "Several chains"); readers and the verifier take the store's own number.
    chains: int = 1

    @classmethod
    def from_env(cls) -> Settings:
        common = CommonSettings.from_env(SERVICE)
        signing_key = env_secret("PORTAL_AUDIT_INDEX_KEY", fallback="PORTAL_AUDIT_SIGNING_KEY").encode()
        legacy = os.environ.get("PORTAL_AUDIT_SIGNING_KEY")
        legacy_key = legacy.encode() if legacy else signing_key
        signer = _signer_from_file(os.environ.get("PORTAL_AUDIT_SIGNING_KEY_FILE"))
        wrap = env_secret("PORTAL_AUDIT_KEY_WRAP_KEY")
        if wrap == signing_key.decode() or wrap == common.internal_secret.decode():
            raise ConfigError("PORTAL_AUDIT_KEY_WRAP_KEY must differ from the index and internal keys")
        previous = [hashlib.sha256(k.strip().encode()).digest()
                    for k in os.environ.get("PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS", "").split(",") if k.strip()]
        # Person keys of stores started before the wrap key was its own secret are wrapped under a key
        # derived from the index key: accepted for reading until `portal audit rewrap` has moved them
        # (it then reports none left), never used to wrap a new key.
        previous.append(derive_key(signing_key, "key-wrap"))
        return cls(
            common=common,
            index_key=signing_key,
            signer=signer,
            verifier=_verifier(signer),
            anchor_path=Path(os.environ.get("PORTAL_AUDIT_ANCHOR_PATH") or var_dir() / "audit-anchor" / "heads.jsonl"),
            anchor_url=os.environ.get("PORTAL_AUDIT_ANCHOR_URL") or None,
            legacy_hmac_key=legacy_key,
            checkpoint_every=max(1, env_int("PORTAL_AUDIT_CHECKPOINT_EVERY", 1000)),
            trends_k=max(1, env_int("PORTAL_AUDIT_TRENDS_K", 10)),
            max_page=1000,
            wrap_key=hashlib.sha256(wrap.encode()).digest(),
            retention_days=retention_days(),
            export_limit=max(1, env_int("PORTAL_AUDIT_EXPORT_LIMIT", 10_000)),
            previous_wrap_keys=tuple(previous),
            stream_poll=max(0.05, env_float("PORTAL_AUDIT_STREAM_POLL_SECONDS", 0.5)),
            stream_heartbeat=max(0.5, env_float("PORTAL_AUDIT_STREAM_HEARTBEAT_SECONDS", 5.0)),
            stream_lifetime=max(1.0, env_float("PORTAL_AUDIT_STREAM_MAX_SECONDS", 300.0)),
            streams_per_process=max(1, env_int("PORTAL_AUDIT_STREAMS_PER_PROCESS", 2)),
            chains=_chains(env_int("PORTAL_AUDIT_CHAINS", 1)),
        )

    @property
    def cursor_key(self) -> bytes:
        return derive_key(self.index_key, "cursor")

    @property
    def person_key(self) -> bytes:
        return derive_key(self.index_key, "person")

    @property
    def actor_index_key(self) -> bytes:
        """Keys the blind index of actors (``audit_events.actor_ix``, person key tokens)."""
        return derive_key(self.index_key, "actor-index")


MAX_CHAINS = 64


def _chains(value: int) -> int:
    if not 1 <= value <= MAX_CHAINS:
        raise ConfigError(f"PORTAL_AUDIT_CHAINS must be between 1 and {MAX_CHAINS}, not {value}")
    return value


def retention_days(env: Mapping[str, str] | None = None) -> int:
    """How long events are kept (``PORTAL_AUDIT_RETENTION_DAYS``, default two years): the "until" of an erasure
    answer, and what ``portal audit retain`` removes past by default."""
    return max(1, env_int("PORTAL_AUDIT_RETENTION_DAYS", 730, env))


def _signer_from_file(path: str | None) -> signing.Signer | None:
    if not path:
        return None
    try:
        if os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(f"PORTAL_AUDIT_SIGNING_KEY_FILE {path} is readable by other users: chmod 600 it")
        return signing.Signer(signing.load_private(Path(path).read_bytes()))
    except OSError as exc:
        raise ConfigError(f"PORTAL_AUDIT_SIGNING_KEY_FILE {path} cannot be read: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"PORTAL_AUDIT_SIGNING_KEY_FILE {path} is not an Ed25519 private key (PEM)") from exc


def _verifier(signer: signing.Signer | None) -> signing.Verifier:
    """The public keys: the configured one (else the private key's), then earlier ones."""
    keys = []
    path = os.environ.get("PORTAL_AUDIT_PUBLIC_KEY_FILE")
    texts = [("PORTAL_AUDIT_PUBLIC_KEY", os.environ.get("PORTAL_AUDIT_PUBLIC_KEY", ""))]
    try:
        if path:
            texts.insert(0, (f"PORTAL_AUDIT_PUBLIC_KEY_FILE {path}", Path(path).read_text()))
    except OSError as exc:
        raise ConfigError(f"PORTAL_AUDIT_PUBLIC_KEY_FILE {path} cannot be read: {exc.strerror}") from exc
    texts += [("PORTAL_AUDIT_PREVIOUS_PUBLIC_KEYS", k)
              for k in os.environ.get("PORTAL_AUDIT_PREVIOUS_PUBLIC_KEYS", "").split(",")]
    for name, text in texts:
        if text.strip():
            try:
                keys.append(signing.load_public(text))
            except ValueError as exc:
                raise ConfigError(f"{name} is not an Ed25519 public key (PEM or base64)") from exc
    if signer is not None and not any(signing.key_id(k) == signer.key_id for k in keys):
        keys.insert(0, signer.public)
    return signing.Verifier(keys)
