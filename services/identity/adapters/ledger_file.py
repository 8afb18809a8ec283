"""The erasure ledger's copy outside identity's database: one JSON line per erasure, appended and
fsynced after the erasure commits. A database restored from a backup taken before an erasure has lost
that erasure's ledger row; this file has not, so ``portal privacy replay-erasures`` still re-applies it.
Keep it on storage that is not restored together with the database (docs/privacy.md)."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path

from services.identity.domain.privacy import LedgerEntry
from shared import clock

log = logging.getLogger("portal.identity.privacy")


class LedgerFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, entry: LedgerEntry) -> None:
        """Never raises: the erasure is committed and in the ledger table already; a failed copy is
        logged loudly (operators must fix the file's storage)."""
        line = json.dumps({"request_id": entry.request_id, "user_id": entry.user_id,
                           "requested_at": clock.isoformat(entry.requested_at)}, separators=(",", ":"))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode())  # one write under O_APPEND: lines never interleave
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            log.exception("erasure %s: could not append to the ledger file %s", entry.request_id, self.path)

    def entries(self) -> list[LedgerEntry]:
        if not self.path.exists():
            return []
        found: dict[str, LedgerEntry] = {}
        for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                entry = LedgerEntry(request_id=str(raw["request_id"]), user_id=str(raw["user_id"]),
                                    requested_at=datetime.fromisoformat(raw["requested_at"]))
            except (ValueError, KeyError, TypeError):
                log.error("ledger file %s line %d is unreadable; skipped", self.path, number)
                continue
            found.setdefault(entry.request_id, entry)
        return list(found.values())
