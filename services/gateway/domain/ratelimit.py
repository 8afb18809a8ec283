"""Sliding-window rate limits, as arithmetic on two fixed-window counters.

A counter per client and window (``INCR`` in Redis) is cheap and shared by every gateway process;
weighting the previous window's count by how much of it still overlaps the sliding window removes
the fixed window's double burst at the boundary (the approximation Cloudflare and nginx-style
limiters use). Rejected requests are counted too, so a client hammering past its limit stays blocked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_LIMIT_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")


@dataclass(frozen=True)
class Limit:
    count: int
    window: int  # seconds

    def __str__(self) -> str:
        return f"{self.count}/{self.window}s"


def parse_limit(raw: str) -> Limit | None:
    """``"300/min"``, ``"5/10s"``, ``"1000/hour"``; ``"off"``, ``"none"`` or ``"0"`` disable it."""
    text = raw.strip().lower()
    if text in {"off", "none", "0", ""}:
        return None
    match = _LIMIT_RE.match(text)
    unit = match.group(3) if match else ""
    if unit not in _UNITS and unit.endswith("s"):
        unit = unit[:-1]  # "mins", "hours", "seconds"
    if not match or unit not in _UNITS:
        raise ValueError(f"expected <count>/<window> such as 300/min or 5/10s, got {raw!r}")
    window = _UNITS[unit] * int(match.group(2) or 1)
    count = int(match.group(1))
    if count <= 0 or window <= 0:
        return None
    return Limit(count=count, window=window)


def window_position(now: float, window: int) -> tuple[int, float]:
    """(index of the current fixed window, seconds elapsed in it)."""
    index = int(now // window)
    return index, now - index * window


def estimate(previous: int, current: int, elapsed: float, window: int) -> float:
    """Requests in the sliding window ending now (``current`` includes this request)."""
    return previous * (1.0 - elapsed / window) + current


def allowed(limit: Limit, previous: int, current: int, elapsed: float) -> bool:
    return estimate(previous, current, elapsed, limit.window) <= limit.count


def retry_after(limit: Limit, previous: int, current: int, elapsed: float) -> int:
    """Whole seconds until one more request would be allowed, if the client sends nothing meanwhile."""
    w, cap = limit.window, limit.count
    if current + 1 <= cap and previous > 0:
        # Still in this window: wait for enough of the previous window to slide out.
        needed = w * (1.0 - (cap - current - 1) / previous) - elapsed
        if needed < w - elapsed:
            return max(1, math.ceil(needed))
    # Next window: this window's count becomes the "previous" one and slides out in turn.
    into_next = 0.0 if current <= cap - 1 else w * (1.0 - (cap - 1) / current)
    return max(1, math.ceil(w - elapsed + into_next))
