"""The composition root: build everything linking needs once, from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.linking.adapters import tables
from services.linking.config import Settings
from shared.runtime import Runtime, build_runtime

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@dataclass
class Container:
    settings: Settings
    runtime: Runtime


def bootstrap(settings: Settings | None = None, run_migrations: bool = True) -> Container:
    settings = settings or Settings.from_env()
    runtime = build_runtime(settings.common, tables.metadata, MIGRATIONS, run_migrations)
    return Container(settings=settings, runtime=runtime)
