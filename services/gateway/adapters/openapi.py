"""The merged OpenAPI document, fetched from the services and cached."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from services.gateway.adapters.upstream import Upstreams
from services.gateway.domain.openapi import merge
from shared.errors import ApiError

log = logging.getLogger(__name__)

_PARTIAL_TTL = 5.0  # a document missing a service is retried soon


class MergedOpenApi:
    def __init__(self, upstreams: Upstreams, ttl: float, services: list[str] | None = None) -> None:
        self.upstreams = upstreams
        self.services = services if services is not None else list(upstreams.urls)  # the pages have none
        self.ttl = ttl
        self._doc: dict[str, Any] | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def document(self) -> dict[str, Any]:
        if self._doc is not None and time.monotonic() < self._expires:
            return self._doc
        with self._lock:  # one fetch at a time; the others wait and reuse it
            if self._doc is not None and time.monotonic() < self._expires:
                return self._doc
            docs, missing = {}, []
            for service in self.services:
                try:
                    status, body = self.upstreams.json(service, "GET", "/openapi.json", timeout=5.0)
                except ApiError:
                    status, body = 503, None
                if status == 200 and isinstance(body, dict):
                    docs[service] = body
                else:
                    missing.append(service)
            self._doc = merge(docs, missing)
            self._expires = time.monotonic() + (_PARTIAL_TTL if missing else self.ttl)
            if missing:
                log.warning("openapi: no document from %s", ", ".join(missing))
            return self._doc
