"""The caller's identity, passed from the gateway to the services in signed headers.

The gateway (or a service calling another) signs ``user, roles, session, anonymous id, request id,
auth time, expiry, method, path`` with HMAC-SHA256 and a shared secret. A service trusts nothing
else: a request without a valid, unexpired signature is refused with 401.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field

from flask import g

from shared.web.errors import Forbidden, NotAuthenticated

H_USER = "X-Portal-User"
H_ROLES = "X-Portal-Roles"
H_SESSION = "X-Portal-Session"
H_ANON = "X-Portal-Anonymous"
H_AUTH_TIME = "X-Portal-Auth-Time"
H_EXPIRES = "X-Portal-Expires"
H_SIGNATURE = "X-Portal-Signature"
H_REQUEST_ID = "X-Request-ID"
H_CLIENT_IP = "X-Portal-Client-IP"
SIGNED_TTL = 60  # seconds a signature stays valid; covers clock skew and slow uploads


@dataclass(frozen=True)
class Identity:
    user_id: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    session_id: str | None = None
    anonymous_id: str | None = None
    request_id: str | None = None
    auth_time: float | None = None  # when the session last proved the password (epoch seconds)
    client_ip: str = ""

    @property
    def actor(self) -> str:
        if self.user_id:
            return self.user_id
        if self.anonymous_id:
            return f"anonymous:{self.anonymous_id}"
        return "anonymous"

    @property
    def is_system(self) -> bool:
        return bool(self.user_id and self.user_id.startswith("system:"))

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def _canonical(values: list[str]) -> bytes:
    return "\n".join(values).encode()


def sign_headers(secret: bytes, identity: Identity, method: str, path: str, now: float | None = None,
                 ttl: int = SIGNED_TTL) -> dict[str, str]:
    expires = str(int((now or time.time()) + ttl))
    roles = ",".join(sorted(identity.roles))
    auth_time = "" if identity.auth_time is None else str(int(identity.auth_time))
    values = [identity.user_id or "", roles, identity.session_id or "", identity.anonymous_id or "",
              identity.request_id or "", auth_time, identity.client_ip or "", expires, method.upper(), path]
    sig = hmac.new(secret, _canonical(values), hashlib.sha256).hexdigest()
    headers = {
        H_USER: values[0], H_ROLES: roles, H_SESSION: values[2], H_ANON: values[3], H_AUTH_TIME: auth_time,
        H_CLIENT_IP: values[6], H_EXPIRES: expires, H_SIGNATURE: sig,
    }
    if identity.request_id:
        headers[H_REQUEST_ID] = identity.request_id
    return headers


def verify_headers(secret: bytes, headers, method: str, path: str, now: float | None = None) -> Identity:
    """Return the identity the headers carry, or raise ``NotAuthenticated``."""
    sig = headers.get(H_SIGNATURE, "")
    expires = headers.get(H_EXPIRES, "")
    if not sig or not expires.isdigit():
        raise NotAuthenticated("This service only answers calls signed by the gateway.", code="untrusted_caller")
    if int(expires) < (now or time.time()):
        raise NotAuthenticated("The signed identity has expired.", code="untrusted_caller")
    values = [headers.get(H_USER, ""), headers.get(H_ROLES, ""), headers.get(H_SESSION, ""),
              headers.get(H_ANON, ""), headers.get(H_REQUEST_ID, ""), headers.get(H_AUTH_TIME, ""),
              headers.get(H_CLIENT_IP, ""), expires, method.upper(), path]
    expected = hmac.new(secret, _canonical(values), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig):
        raise NotAuthenticated("This service only answers calls signed by the gateway.", code="untrusted_caller")
    auth_time = values[5]
    return Identity(
        user_id=values[0] or None,
        roles=frozenset(r for r in values[1].split(",") if r),
        session_id=values[2] or None,
        anonymous_id=values[3] or None,
        request_id=values[4] or None,
        auth_time=float(auth_time) if auth_time.isdigit() else None,
        client_ip=values[6],
    )


def current_identity() -> Identity:
    return getattr(g, "identity", None) or Identity()


def require_user() -> Identity:
    ident = current_identity()
    if not ident.user_id or ident.is_system:
        raise NotAuthenticated("Log in to do this.")
    return ident


def require_role(*roles: str) -> Identity:
    ident = require_user()
    if not ident.has_role(*roles):
        raise Forbidden("Your account is not allowed to do this.")
    return ident


def require_system() -> Identity:
    """For internal endpoints: only another service (or the gateway) may call them."""
    ident = current_identity()
    if not ident.is_system:
        raise Forbidden("Internal endpoint.")
    return ident


# --- the anonymous browser id (analytics cookie) -------------------------------------------------
# Issued by identity only after the browser accepted analytics; signed so the gateway can trust it
# without a call, and so a client cannot invent one to be logged under.
ANON_COOKIE = "portal_anon"


def sign_anonymous_id(secret: bytes, anon_id: str) -> str:
    tag = hmac.new(secret, f"anon:{anon_id}".encode(), hashlib.sha256).hexdigest()[:24]
    return f"{anon_id}.{tag}"


def verify_anonymous_cookie(secret: bytes, value: str | None) -> str | None:
    if not value or "." not in value:
        return None
    anon_id, _, _tag = value.rpartition(".")
    if len(anon_id) > 64 or not hmac.compare_digest(sign_anonymous_id(secret, anon_id), value):
        return None
    return anon_id
