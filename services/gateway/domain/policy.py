"""The session-bound rules the gateway enforces before a request reaches a service
(docs/internal-contracts.md, "Sessions"): CSRF on state changes, and the policy re-acceptance gate."""

from __future__ import annotations

import hashlib
import hmac

from services.gateway.domain.routing import PAGES

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Login and registration start a session; they cannot carry its CSRF token yet.
CSRF_EXEMPT = frozenset({("POST", "identity", "/sessions"), ("POST", "identity", "/users")})


# The portal's pages check their own form token (a plain HTML form cannot send a header; see
# docs/decisions.md "CSRF for the portal's forms"); the gateway's header check is for the API.
# What the policy gate lets through to the pages: the policy itself (to read and accept it), the
# privacy centre, cookie choices, logging out, and the static assets those pages need.
PAGES_GATE_EXEMPT = ("/policy", "/privacy", "/cookies", "/logout", "/static/")


def csrf_required(method: str, service: str, path: str) -> bool:
    if service == PAGES or method not in STATE_CHANGING:
        return False
    return (method, service, path.rstrip("/") or "/") not in CSRF_EXEMPT


def csrf_valid(token: str | None, csrf_hash: str) -> bool:
    if not token or not csrf_hash:
        return False
    digest = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
    return hmac.compare_digest(digest, csrf_hash.lower())


def policy_gate_exempt(method: str, service: str, path: str) -> bool:
    """What a user who must accept a new policy version may still do: read and accept the policy,
    use their privacy rights (with the re-authentication an export or erasure needs), set cookie
    consent, and log out."""
    if service == PAGES:
        return path.startswith(PAGES_GATE_EXEMPT)
    if service != "identity":
        return False
    path = path.rstrip("/") or "/"
    if path == "/policy" or path.startswith("/policy/"):
        return True
    if path.startswith("/privacy/"):
        return True
    if path == "/consent" or (method == "POST" and path == "/reauth"):
        return True
    return method == "DELETE" and path == "/sessions/current"
