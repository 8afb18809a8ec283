"""The one source of "now" for domain code, so tests can move time in real processes.

When ``PORTAL_CLOCK_OFFSET_FILE`` names a file, its content (seconds, float) is added to the
real clock. Tests write that file to expire sessions without sleeping. Never set in production.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

_cache: tuple[float, float] = (-1.0, 0.0)  # (mtime, offset)


def _offset() -> float:
    global _cache
    path = os.environ.get("PORTAL_CLOCK_OFFSET_FILE")
    if not path:
        return 0.0
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return 0.0
    if mtime != _cache[0]:
        try:
            with open(path) as fh:
                _cache = (mtime, float(fh.read().strip() or 0))
        except (OSError, ValueError):
            _cache = (mtime, 0.0)
    return _cache[1]


def now() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=_offset())


def isoformat(moment: datetime) -> str:
    """UTC ISO 8601 with a ``Z``-free ``+00:00`` offset, microsecond precision."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
