"""The form token that stands in for the API's ``X-CSRF-Token`` header (a plain HTML form cannot send
a header). See docs/decisions.md, "CSRF for the portal's forms".

With a session the token is ``HMAC(secret, "session", session id)``: only this platform can compute
it, and only for the session the gateway vouched for in the signed identity. Without one (login,
sign-up, cookie choices: login CSRF) it is bound the same way to a random, HttpOnly, SameSite
``portal_form`` cookie that the pages set. Either way the browser's Origin / Sec-Fetch-Site must be
this site.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from shared.web.wire import H_CSRF

FIELD = "csrf_token"
HEADER = H_CSRF  # what a page's own script sends instead of the field
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SAME_SITE = frozenset({"same-origin", "none"})  # "none": the person typed the URL or used a bookmark


def token(secret: bytes, *, session_id: str | None, browser_nonce: str | None) -> str:
    if session_id:
        subject = f"session\n{session_id}"
    elif browser_nonce:
        subject = f"browser\n{browser_nonce}"
    else:
        return ""
    return hmac.new(secret, f"portal-form\n{subject}".encode(), hashlib.sha256).hexdigest()


def token_valid(expected: str, offered: str | None) -> bool:
    return bool(expected and offered) and hmac.compare_digest(expected, offered or "")


def same_origin(*, origin: str | None, fetch_site: str | None, host: str) -> bool:
    """False when the browser says the request comes from another site. Browsers without these
    headers (old ones, tools) are judged by the token alone."""
    if fetch_site and fetch_site.lower() not in _SAME_SITE:
        return False
    if origin and origin != "null":
        return urlsplit(origin).netloc.lower() == host.lower()
    return origin != "null"
