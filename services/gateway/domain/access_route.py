"""The route an access event names as its ``subject``: the request path with every segment that is not a
word of some service's routes replaced by ``{}`` — ``/api/content/items/{}``, ``/api/identity/me``.

A request path may hold anything a person typed (an address, a search, a name in a link), and the envelope's
``subject`` is stored as it is, searchable and unsealed. The full path goes in the payload, where the log
store seals it per person (docs/audit.md); the subject keeps what compliance searches by — which service
and which route — and nothing a person typed: a segment is kept only when it is one of ``ROUTE_WORDS``, the
literal segments of the services' own routes (``tests/unit/gateway/test_access_route.py`` fails when a
route adds a word missing here; until then that segment reads ``{}``, never leaking anything).
"""

from __future__ import annotations

ROUTE_WORDS = frozenset({
    "api", "identity", "linking", "content", "audit", "static", "accept", "acceptances", "access", "account",
    "approve", "asyncapi.json", "case", "catalogue", "collaterals", "companies", "compliance", "confirm",
    "consent", "cookies", "current", "disclosures", "download", "email", "erase", "erasures", "events",
    "export", "exports", "files", "forgot-password", "healthz", "holds", "integrity", "items", "join", "leave",
    "lift", "link-requests", "live", "login", "logout", "manager", "me", "members", "new", "openapi.json",
    "others", "password", "password-resets", "policy", "primary-contact", "privacy", "queries", "readyz",
    "reauth", "reject", "remove", "replies", "reply", "requests", "reset-password", "resolve", "revoke", "role",
    "roles", "sessions", "signup", "staff", "stream", "trends", "users", "verification", "verify",
    "verify-email", "versions", "withdraw", "docs", "internal", "metrics",
})
PLACEHOLDER = "{}"
MAX_SUBJECT = 500


def route_template(path: str) -> str:
    """``path`` with every segment outside ``ROUTE_WORDS`` replaced by ``{}`` (empty segments kept)."""
    return "/".join(s if not s or s in ROUTE_WORDS else PLACEHOLDER for s in path.split("/"))[:MAX_SUBJECT]
