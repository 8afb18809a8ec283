"""Fakes of the privacy ports: the other services' export endpoints and the ledger file."""

from __future__ import annotations

from typing import Any

from services.identity.adapters.privacy_sources import SectionUnavailable
from services.identity.domain.privacy import LedgerEntry


class FakeSource:
    """One service's export endpoint: answers with ``data``, or is down."""

    def __init__(self, data: dict[str, Any] | None = None, down: bool = False) -> None:
        self.data = data if data is not None else {}
        self.down = down
        self.calls: list[str] = []

    def fetch(self, user_id: str, request_id: str | None = None) -> dict[str, Any]:
        self.calls.append(user_id)
        if self.down:
            raise SectionUnavailable("connection refused")
        return {"user_id": user_id, **self.data}


class FakeLedgerFile:
    def __init__(self) -> None:
        self.lines: list[LedgerEntry] = []

    def append(self, entry: LedgerEntry) -> None:
        self.lines.append(entry)

    def entries(self) -> list[LedgerEntry]:
        return list({e.request_id: e for e in self.lines}.values())
