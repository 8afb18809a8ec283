"""The portal's cookies (docs/internal-contracts.md): ``__Host-portal_session``, ``__Host-portal_consent``,
``__Host-portal_device`` and ``__Host-portal_anon`` over HTTPS (Secure), without the prefix over HTTP; always
HttpOnly, SameSite=Lax, Path=/."""

from __future__ import annotations

import hashlib
import hmac

from flask import after_this_request, current_app, request

from services.identity.handlers.sessions import Device
from shared.web.wire import ANON_COOKIE, SESSION_COOKIE, host_cookie


def is_https() -> bool:
    proto = request.headers.get("X-Forwarded-Proto", request.scheme)
    return proto.split(",")[0].strip().lower() == "https"


def set_cookie_later(name: str, value: str, max_age: int | None, *, httponly: bool = True) -> None:
    """Set a cookie on whatever response this request ends with (views return data, not responses)."""
    secure = is_https()

    @after_this_request
    def _set(resp):
        resp.set_cookie(name, value, max_age=max_age, path="/", secure=secure, httponly=httponly,
                        samesite="Lax")
        return resp


def delete_cookie_later(name: str) -> None:
    secure = is_https()

    @after_this_request
    def _delete(resp):
        resp.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="Lax")
        return resp


def session_cookie_name() -> str:
    return host_cookie(SESSION_COOKIE, is_https())


def set_session_cookie(token: str, max_age: int) -> None:
    set_cookie_later(session_cookie_name(), token, max_age)


def clear_session_cookie() -> None:
    delete_cookie_later(session_cookie_name())


# --- the consent cookie: which anonymous browser made which cookie choice ------------------------
# Strictly necessary (it remembers the choice itself), so it is set without consent. Signed with a
# purpose of its own, so its value can never pass for a ``portal_anon`` analytics id.
CONSENT_COOKIE = "portal_consent"
CONSENT_MAX_AGE = 365 * 24 * 3600


def _consent_tag(browser_id: str) -> str:
    secret = current_app.extensions["container"].settings.common.internal_secret
    return hmac.new(secret, f"consent:{browser_id}".encode(), hashlib.sha256).hexdigest()[:32]


def consent_browser_id() -> str | None:
    value = request.cookies.get(host_cookie(CONSENT_COOKIE, is_https())) or ""
    browser_id, _, tag = value.rpartition(".")
    if not browser_id or len(browser_id) > 64 or not hmac.compare_digest(_consent_tag(browser_id), tag):
        return None
    return browser_id


def set_consent_cookie(browser_id: str) -> None:
    value = f"{browser_id}.{_consent_tag(browser_id)}"
    set_cookie_later(host_cookie(CONSENT_COOKIE, is_https()), value, CONSENT_MAX_AGE)


def set_anonymous_cookie(value: str) -> None:
    # Not HttpOnly-relevant to the server, but nothing in the page needs to read it either.
    set_cookie_later(host_cookie(ANON_COOKIE, is_https()), value, CONSENT_MAX_AGE)


def delete_anonymous_cookie() -> None:
    delete_cookie_later(host_cookie(ANON_COOKIE, is_https()))


# --- the device cookie: a browser that logged in to an account before (OWASP device cookies) --------
# Strictly necessary (it keeps the owner able to log in while strangers are throttled), so set without
# consent. ``<user id>.<nonce>.<tag>``: the tag is an HMAC under a purpose of its own, so no other cookie's
# value passes for it, and a stranger cannot make one for someone else's account.
DEVICE_COOKIE = "portal_device"


def _device_tag(user_id: str, nonce: str) -> str:
    secret = current_app.extensions["container"].settings.common.internal_secret
    return hmac.new(secret, f"device:{user_id}.{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def device_from_cookie() -> Device | None:
    value = request.cookies.get(host_cookie(DEVICE_COOKIE, is_https())) or ""
    parts = value.split(".")
    if len(parts) != 3 or not all(parts) or len(value) > 200:
        return None
    user_id, nonce, tag = parts
    if not hmac.compare_digest(_device_tag(user_id, nonce), tag):
        return None
    return Device(user_id=user_id, nonce=nonce)


def set_device_cookie(device: Device, max_age: int) -> None:
    value = f"{device.user_id}.{device.nonce}.{_device_tag(device.user_id, device.nonce)}"
    set_cookie_later(host_cookie(DEVICE_COOKIE, is_https()), value, max_age)

