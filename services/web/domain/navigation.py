"""Where a page may send a person back to: only a path of this site (no open redirect)."""

from __future__ import annotations

from urllib.parse import urlsplit

HOME = "/"


def safe_next(raw: str | None, default: str = HOME) -> str:
    """``raw`` if it is a relative path of this site, else ``default``.

    Refused: absolute URLs, scheme-relative ``//host``, backslashes (browsers read ``/\\host`` as
    ``//host``), control characters, and the API (a page is the only place to go back to).
    """
    if not raw or len(raw) > 2000:
        return default
    if not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return default
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in raw):
        return default
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or parts.path.startswith("/api/") or parts.path.startswith("/static/"):
        return default
    return raw
