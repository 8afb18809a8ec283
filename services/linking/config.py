"""linking's settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from shared.config import CommonSettings

SERVICE = "linking"


@dataclass(frozen=True)
class Settings:
    common: CommonSettings

    @classmethod
    def from_env(cls) -> Settings:
        return cls(common=CommonSettings.from_env(SERVICE))
