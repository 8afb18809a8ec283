"""audit's settings, read once from the environment."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from services.audit.domain.signing import derive_key
from shared.config import CommonSettings, env_float, env_int

SERVICE = "audit"


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    # Signs checkpoints and retention records. Without PORTAL_AUDIT_SIGNING_KEY a key is derived from
    # the internal secret so `make run` works; production sets its own (see docs/audit.md).
    signing_key: bytes
    checkpoint_every: int  # sign a checkpoint every N stored events
    trends_k: int  # smallest group of distinct people a trend may show
    max_page: int
    # Wraps the per-person keys (docs/audit.md, "Erasure"); PORTAL_AUDIT_KEY_WRAP_KEY, else derived from
    # the signing key. Never stored in the database.
    wrap_key: bytes
    retention_days: int  # how long events are kept (the "until" of an erasure answer)
    export_limit: int  # most recent own events in a person's privacy export
    # Earlier wrap keys, still able to open person keys wrapped under them until `portal audit rewrap` has
    # moved every key to ``wrap_key``: PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS (comma-separated), and, when
    # PORTAL_AUDIT_KEY_WRAP_KEY is set, the key derived from the signing key (the default before it).
    previous_wrap_keys: tuple[bytes, ...] = ()
    # The live stream (docs/audit.md, "Live stream"): seconds between polls of the store, of silence
    # before a heartbeat, of a stream's life before the browser reconnects; open streams per process
    # (each holds one of the process's threads).
    stream_poll: float = 0.5
    stream_heartbeat: float = 5.0
    stream_lifetime: float = 300.0
    streams_per_process: int = 2

    @classmethod
    def from_env(cls) -> Settings:
        common = CommonSettings.from_env(SERVICE)
        key = os.environ.get("PORTAL_AUDIT_SIGNING_KEY")
        signing_key = key.encode() if key else derive_key(common.internal_secret, "signing")
        wrap = os.environ.get("PORTAL_AUDIT_KEY_WRAP_KEY")
        derived_wrap = derive_key(signing_key, "key-wrap")
        previous = [hashlib.sha256(k.strip().encode()).digest()
                    for k in os.environ.get("PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS", "").split(",") if k.strip()]
        if wrap:
            previous.append(derived_wrap)
        return cls(
            common=common,
            signing_key=signing_key,
            checkpoint_every=max(1, env_int("PORTAL_AUDIT_CHECKPOINT_EVERY", 1000)),
            trends_k=max(1, env_int("PORTAL_AUDIT_TRENDS_K", 10)),
            max_page=1000,
            wrap_key=hashlib.sha256(wrap.encode()).digest() if wrap else derived_wrap,
            retention_days=max(1, env_int("PORTAL_AUDIT_RETENTION_DAYS", 730)),
            export_limit=max(1, env_int("PORTAL_AUDIT_EXPORT_LIMIT", 10_000)),
            previous_wrap_keys=tuple(previous),
            stream_poll=max(0.05, env_float("PORTAL_AUDIT_STREAM_POLL_SECONDS", 0.5)),
            stream_heartbeat=max(0.5, env_float("PORTAL_AUDIT_STREAM_HEARTBEAT_SECONDS", 5.0)),
            stream_lifetime=max(1.0, env_float("PORTAL_AUDIT_STREAM_MAX_SECONDS", 300.0)),
            streams_per_process=max(1, env_int("PORTAL_AUDIT_STREAMS_PER_PROCESS", 2)),
        )

    @property
    def cursor_key(self) -> bytes:
        return derive_key(self.signing_key, "cursor")

    @property
    def person_key(self) -> bytes:
        return derive_key(self.signing_key, "person")

    @property
    def actor_index_key(self) -> bytes:
        """Keys the blind index of actors (``audit_events.actor_ix``, person key tokens)."""
        return derive_key(self.signing_key, "actor-index")
