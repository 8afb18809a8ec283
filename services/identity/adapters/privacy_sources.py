"""The participants' answers to an export: ``GET EXPORT_PATH`` (``shared/events/privacy.py``), signed as
``system:identity`` (docs/internal-contracts.md, "Privacy requests")."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from services.identity.handlers.ports import ExportSource, SectionUnavailable
from shared.errors import Unavailable
from shared.events.privacy import EXPORT_PATH
from shared.web.client import ServiceClient

__all__ = ["ExportSource", "HttpExportSource", "SectionUnavailable"]

log = logging.getLogger("portal.identity.privacy")


class HttpExportSource:
    def __init__(self, service: str, client: ServiceClient) -> None:
        self.service = service
        self.client = client

    def fetch(self, user_id: str, request_id: str | None = None) -> dict[str, Any]:
        path = EXPORT_PATH.replace("<user_id>", quote(user_id, safe=""))
        try:
            resp = self.client.get(path, request_id=request_id)
        except Unavailable as exc:
            raise SectionUnavailable(f"{self.service} is unreachable") from exc
        if resp.status_code != 200:
            raise SectionUnavailable(f"{self.service} answered {resp.status_code}")
        try:
            body = resp.json()
        except ValueError as exc:
            raise SectionUnavailable(f"{self.service} answered something other than JSON") from exc
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise SectionUnavailable(f"{self.service} answered without a data object")
        return data
