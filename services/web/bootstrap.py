"""The composition root: build everything the pages need once, from settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.web.adapters.services import ServiceApis
from services.web.config import Settings
from services.web.domain.assets import version_of

STATIC = Path(__file__).resolve().parent / "static"


@dataclass
class Container:
    settings: Settings
    apis: ServiceApis
    asset_version: str

    def close(self) -> None:
        self.apis.close()


def bootstrap(settings: Settings | None = None, run_migrations: bool = True) -> Container:
    """``run_migrations`` is accepted like every service's; the pages keep no data of their own."""
    del run_migrations
    settings = settings or Settings.from_env()
    return Container(
        settings=settings,
        apis=ServiceApis(settings.service_urls, settings.internal_secret, settings.api_timeout),
        asset_version=version_of(STATIC),
    )
