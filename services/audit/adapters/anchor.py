"""The external anchor: signed chain heads kept outside the database, like CloudTrail's digest files.

Whoever can rewrite the database can also put back an older signed head and drop everything after it;
the anchor, written by the audit writer after every commit that moved the head and kept elsewhere (its
own directory by default, ``PORTAL_AUDIT_ANCHOR_PATH`` for a mounted append-only or remote file
system), still holds the later head, and the verifier finds the rows it names missing.

The file is append-only JSON lines, one signed head per line. It is written after the commit, so it may
lag the database (a crash between the two) but is never ahead of it. Several workers append in commit
order give or take a line, so the verifier takes the highest head of the file's tail, not the last line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Protocol

from services.audit.domain.verify import Head

TAIL_BYTES = 256 * 1024  # the highest head is among the last lines; reading the whole file is not needed


class HeadAnchor(Protocol):
    def record(self, head: Head) -> None: ...

    def latest(self) -> Head | None: ...

    def latest_by_chain(self) -> dict[int, Head]: ...

    def describe(self) -> dict[str, Any]: ...


class FileAnchor:
    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, head: Head) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        line = (json.dumps(head.to_dict(), sort_keys=True, separators=(",", ":")) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)  # one write of one short line: appends from several processes do not interleave
        finally:
            os.close(fd)

    def latest(self) -> Head | None:
        return max(self._tail(), key=lambda h: h.seq, default=None)

    def latest_by_chain(self) -> dict[int, Head]:
        """A store of several chains: the highest anchored head of each chain (heads name their chain)."""
        out: dict[int, Head] = {}
        for head in self._tail():
            chain = head.chain or 0
            if chain not in out or head.seq > out[chain].seq:
                out[chain] = head
        return out

    def _tail(self) -> list[Head]:
        try:
            with self.path.open("rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - TAIL_BYTES))
                tail = fh.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            return []
        heads = []
        for line in tail[1:] if len(tail) > 1 and os.path.getsize(self.path) > TAIL_BYTES else tail:
            try:
                heads.append(Head.from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                continue  # a torn or foreign line: the signature of the chosen head is what counts
        return heads

    def describe(self) -> dict[str, Any]:
        latest = self.latest()
        return {"kind": "file", "location": str(self.path), "exists": self.path.exists(),
                "anchored_seq": latest.seq if latest else None,
                "anchored_at": latest.signed_at if latest else None}
