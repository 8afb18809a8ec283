"""audit's settings, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from services.audit.domain.signing import derive_key
from shared.config import CommonSettings, env_int

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

    @classmethod
    def from_env(cls) -> Settings:
        common = CommonSettings.from_env(SERVICE)
        key = os.environ.get("PORTAL_AUDIT_SIGNING_KEY")
        return cls(
            common=common,
            signing_key=key.encode() if key else derive_key(common.internal_secret, "signing"),
            checkpoint_every=max(1, env_int("PORTAL_AUDIT_CHECKPOINT_EVERY", 1000)),
            trends_k=max(1, env_int("PORTAL_AUDIT_TRENDS_K", 10)),
            max_page=1000,
        )

    @property
    def cursor_key(self) -> bytes:
        return derive_key(self.signing_key, "cursor")

    @property
    def person_key(self) -> bytes:
        return derive_key(self.signing_key, "person")
