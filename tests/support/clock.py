"""Time moved in a running platform's real processes, through ``PORTAL_CLOCK_OFFSET_FILE``
(shared/clock.py)."""

from __future__ import annotations

from pathlib import Path


class Clock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.set(0)

    def set(self, seconds: float) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(seconds))
        tmp.replace(self.path)  # readers never see an empty file
