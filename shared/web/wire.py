"""Names on the wire that the gateway and the services share: the portal's cookies, the request-id and
CSRF headers, and the headers every JSON answer carries. Plain constants (no Flask), so domain code and
workers can import them."""

from __future__ import annotations

H_REQUEST_ID = "X-Request-ID"
H_CSRF = "X-CSRF-Token"  # a session's state changes carry it; the gateway checks it against the session

SESSION_COOKIE = "portal_session"  # set by identity, read by the gateway only
ANON_COOKIE = "portal_anon"  # the signed anonymous browser id (analytics consent)

# On every JSON answer (a service's, the gateway's own, gunicorn's error pages): never cached, never sniffed.
RESPONSE_DEFAULTS = (("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"))


def host_cookie(name: str, https: bool) -> str:
    """Over HTTPS every portal cookie is ``__Host-`` prefixed: the browser then keeps it only when it was set
    Secure, by this host, for Path=/ (no sibling domain or plain-HTTP page can plant or shadow it)."""
    return f"__Host-{name}" if https else name
