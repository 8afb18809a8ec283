"""The caller's identity (``shared.identity.Identity``), passed from the gateway to the services in
signed headers, and the request-side helpers that read it.

The gateway (or a service calling another) signs ``user, roles, session, anonymous id, request id,
auth time, client IP, expiry, method, path, query, a digest of the body, the target service and a
nonce`` with HMAC-SHA256 and a shared secret. A service trusts nothing else: a request without a
valid, unexpired signature made for it, for this method, path, query and body, is refused with 401;
so is a second use of the same nonce (``shared/web/nonces.py``), which makes a captured request
worthless once it has been served.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import time
from typing import Any

from shared.errors import Forbidden, NotAuthenticated
from shared.identity import Identity
from shared.web.nonces import FRESH_SECONDS, NonceStore
from shared.web.wire import H_REQUEST_ID

H_USER = "X-Portal-User"
H_ROLES = "X-Portal-Roles"
H_SESSION = "X-Portal-Session"
H_ANON = "X-Portal-Anonymous"
H_AUTH_TIME = "X-Portal-Auth-Time"
H_EXPIRES = "X-Portal-Expires"
H_SIGNATURE = "X-Portal-Signature"
H_CLIENT_IP = "X-Portal-Client-IP"
H_BODY_DIGEST = "X-Portal-Body-SHA256"
H_NONCE = "X-Portal-Nonce"
# The body was not hashed: it is streamed (over 64 KiB through the gateway) and only its length is known.
STREAMED_BODY = "streamed"
EMPTY_BODY_DIGEST = hashlib.sha256(b"").hexdigest()
SIGNED_TTL = 60  # seconds a signature stays valid; covers clock skew and slow uploads
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _canonical(values: list[str]) -> bytes:
    return "\n".join(values).encode()


def body_digest(body: bytes | str | None) -> str:
    """What the signature says about a body: its SHA-256, or ``STREAMED_BODY`` when it is not in hand."""
    if body is None:
        return STREAMED_BODY
    return hashlib.sha256(body.encode() if isinstance(body, str) else body).hexdigest()


def sign_headers(secret: bytes, identity: Identity, method: str, path: str, *, service: str, query: str = "",
                 body: bytes | str | None = b"", now: float | None = None, ttl: int = SIGNED_TTL) -> dict[str, str]:
    """The headers of one call to ``service``: ``path`` as the service will see it (decoded), ``query``
    the raw query string as sent, ``body`` the exact bytes sent (None for a body streamed unread)."""
    expires = str(int((now or time.time()) + ttl))
    roles = ",".join(sorted(identity.roles))
    auth_time = "" if identity.auth_time is None else str(int(identity.auth_time))
    digest = body_digest(body)
    nonce = secrets.token_urlsafe(18)
    values = [identity.user_id or "", roles, identity.session_id or "", identity.anonymous_id or "",
              identity.request_id or "", auth_time, identity.client_ip or "", expires, method.upper(), path,
              query, digest, service, nonce]
    sig = hmac.new(secret, _canonical(values), hashlib.sha256).hexdigest()
    headers = {
        H_USER: values[0], H_ROLES: roles, H_SESSION: values[2], H_ANON: values[3], H_AUTH_TIME: auth_time,
        H_CLIENT_IP: values[6], H_EXPIRES: expires, H_BODY_DIGEST: digest, H_NONCE: nonce, H_SIGNATURE: sig,
    }
    if identity.request_id:
        headers[H_REQUEST_ID] = identity.request_id
    return headers


def _untrusted(message: str = "This service only answers calls signed by the gateway.") -> NotAuthenticated:
    return NotAuthenticated(message, code="untrusted_caller")


def verify_headers(secret: bytes, headers: Any, method: str, path: str, *, service: str,
                   query: str = "", nonces: NonceStore | None = None, now: float | None = None,
                   read_only: bool = False) -> Identity:
    """Return the identity the headers carry, or raise ``NotAuthenticated``.

    The body is checked against the signed digest as it is read (``guard_body``).
    With ``nonces``, the call's nonce is claimed: a second use is refused as a replay. ``read_only``: the
    call changes nothing whatever its method (``changes_nothing``)."""
    sig = headers.get(H_SIGNATURE, "")
    expires = headers.get(H_EXPIRES, "")
    if not sig or not expires.isdigit():
        raise _untrusted()
    moment = now or time.time()
    if int(expires) < moment:
        raise _untrusted("The signed identity has expired.")
    if int(expires) > moment + 2 * SIGNED_TTL:
        raise _untrusted("The signed identity is valid for too long.")
    nonce = headers.get(H_NONCE, "")
    values = [headers.get(H_USER, ""), headers.get(H_ROLES, ""), headers.get(H_SESSION, ""),
              headers.get(H_ANON, ""), headers.get(H_REQUEST_ID, ""), headers.get(H_AUTH_TIME, ""),
              headers.get(H_CLIENT_IP, ""), expires, method.upper(), path, query,
              headers.get(H_BODY_DIGEST, ""), service, nonce]
    expected = hmac.new(secret, _canonical(values), hashlib.sha256).hexdigest()
    if not nonce or not hmac.compare_digest(expected, sig):
        raise _untrusted()
    # While the shared nonce record is away, only a fresh call that changes nothing may be checked against
    # this process's own record (shared/web/nonces.py).
    fresh = int(expires) - moment >= SIGNED_TTL - FRESH_SECONDS
    fallback = fresh and (read_only or method.upper() in SAFE_METHODS)
    if nonces is not None and not nonces.claim(nonce, int(expires) - int(moment) + 1, fallback=fallback):
        raise _untrusted("This signed request was already used (replay refused).")
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


class CheckedBody(io.RawIOBase):
    """The request's input stream, hashed as it is read: once the last byte is in, a body that is not the
    one the signature names raises ``NotAuthenticated`` (before any view could act on all of it)."""

    def __init__(self, inner: Any, digest: str, length: int | None) -> None:
        super().__init__()
        self.inner, self.digest, self.length = inner, digest, length
        self._hash = hashlib.sha256()
        self._seen = 0
        self._checked = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self.inner.read() if size is None or size < 0 else self.inner.read(size)
        self._update(data, size)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[:len(data)] = data
        self._update(data, len(buffer))
        return len(data)

    def _update(self, data: bytes, size: int | None) -> None:
        self._hash.update(data)
        self._seen += len(data)
        at_end = (self.length is not None and self._seen >= self.length) or (not data and size != 0)
        if at_end and not self._checked:
            self._checked = True
            if not hmac.compare_digest(self._hash.hexdigest(), self.digest):
                raise _untrusted("The request body is not the one that was signed.")


def guard_body(environ: dict[str, Any], headers: Any) -> None:
    """Make the WSGI input check itself against the signed digest (a streamed body only has its length)."""
    digest = headers.get(H_BODY_DIGEST, "")
    if digest == STREAMED_BODY:
        return
    raw = environ.get("CONTENT_LENGTH") or ""
    environ["wsgi.input"] = CheckedBody(environ["wsgi.input"], digest, int(raw) if raw.isdigit() else None)


def current_identity() -> Identity:
    from flask import g  # here: the signing half of this module serves processes without Flask (workers, relay)

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
