"""linking's settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from shared.config import CommonSettings, env_float, service_url

SERVICE = "linking"


@dataclass(frozen=True)
class Settings:
    common: CommonSettings
    # identity answers ``GET /internal/users/<id>`` when the local user projection lacks someone.
    identity_url: str
    identity_timeout: float

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            common=CommonSettings.from_env(SERVICE),
            identity_url=service_url("identity"),
            identity_timeout=env_float("LINKING_IDENTITY_TIMEOUT", 3.0),
        )
