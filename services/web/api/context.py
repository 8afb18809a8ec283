"""Every request's frame: the signed identity from the gateway, the form token (checked on every
state change), the security headers, the cookies the services set, the static assets."""

from __future__ import annotations

import functools
import os
import secrets
import time

from flask import Flask, Response, abort, current_app, g, request, send_from_directory

from services.web.adapters.services import Browser
from services.web.bootstrap import STATIC, Container
from services.web.domain import csrf
from shared.identity import Identity
from shared.web.app import metrics_response, observe_response
from shared.web.identity import guard_body, verify_headers
from shared.web.nonces import NonceStore, nonce_store
from shared.web.wire import H_REQUEST_ID

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # the gateway never routes /metrics
FORM_COOKIE = "portal_form"  # the anonymous form token's random half (see domain/csrf.py)
YEAR = 365 * 24 * 3600
# Nothing inline and nothing from elsewhere: every script and style is a file under /static/.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class FormRejected(Exception):
    """A state change without this site's form token, or from another site."""


def install(app: Flask, container: Container) -> None:
    secret = container.settings.internal_secret
    app.before_request(lambda: _begin(secret))
    app.after_request(_finish)
    app.context_processor(_template_globals)
    app.add_url_rule("/static/<version>/<path:filename>", "static", _static)
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok", "service": "web"})
    app.add_url_rule("/readyz", "readyz", lambda: {"status": "ready", "service": "web", "checks": []})
    # Only the exact path, which the gateway answers itself: "//metrics" through the gateway must not reach it.
    app.add_url_rule("/metrics", "metrics", metrics_response, merge_slashes=False)


@functools.cache
def _nonces() -> NonceStore:
    """Signed calls are good once: their nonces are claimed in Redis (``REDIS_URL``), like every service's."""
    return nonce_store(os.environ.get("REDIS_URL"))


def _begin(secret: bytes) -> None:
    g.metrics_started = time.perf_counter()
    g.request_id = (request.headers.get(H_REQUEST_ID) or "")[:200]
    g.set_cookies = []
    if request.path in OPEN_PATHS:
        g.identity = Identity(request_id=g.request_id)
        return
    # Raises NotAuthenticated (an error page) for anything that did not come through the gateway.
    g.identity = verify_headers(secret, request.headers, request.method, request.path, service="web",
                                query=request.query_string.decode("latin-1"), nonces=_nonces())
    guard_body(request.environ, request.headers)
    if request.endpoint == "static":
        return
    g.browser = Browser(cookie_header=request.headers.get("Cookie", ""),
                        scheme="https" if request.headers.get("X-Forwarded-Proto") == "https" else "http")
    nonce = request.cookies.get(form_cookie_name())
    if not nonce or len(nonce) > 64:
        nonce = secrets.token_urlsafe(24)
        g.new_form_nonce = nonce
    g.csrf_token = csrf.token(secret, session_id=g.identity.session_id, browser_nonce=nonce)
    if request.method not in csrf.SAFE_METHODS:
        if getattr(current_app.view_functions.get(request.endpoint or ""), "takes_uploads", False):
            # a file upload form (api/staff_editor.py): its own limit, set before the form is parsed
            request.max_content_length = current_app.extensions["container"].settings.max_upload_bytes
        offered = request.form.get(csrf.FIELD) or request.headers.get(csrf.HEADER)
        host = request.headers.get("X-Forwarded-Host") or request.host
        if not csrf.same_origin(origin=request.headers.get("Origin"),
                                fetch_site=request.headers.get("Sec-Fetch-Site"), host=host) \
                or not csrf.token_valid(g.csrf_token, offered):
            raise FormRejected()


def form_cookie_name() -> str:
    return "__Host-" + FORM_COOKIE if _https() else FORM_COOKIE


def _https() -> bool:
    return request.headers.get("X-Forwarded-Proto") == "https"


def _finish(resp: Response) -> Response:
    observe_response("web", resp)
    resp.headers[H_REQUEST_ID] = g.get("request_id", "")
    for name, value in SECURITY_HEADERS.items():
        resp.headers.setdefault(name, value)
    resp.headers.setdefault("Cache-Control", "no-store")
    for cookie in g.get("set_cookies", ()):  # what identity set (session, consent, analytics id)
        resp.headers.add("Set-Cookie", cookie)
    nonce = g.get("new_form_nonce")
    if nonce:
        resp.set_cookie(form_cookie_name(), nonce, path="/", secure=_https(), httponly=True, samesite="Lax")
    return resp


def _static(version: str, filename: str) -> Response:
    """Any version is served (a page cached from the last deployment still gets its files); the
    gateway neither records nor rate-limits these."""
    if len(version) > 64:
        abort(404)
    resp = send_from_directory(STATIC, filename, max_age=YEAR)
    resp.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    return resp


CONSENT_COOKIE = "portal_consent"  # identity's record of this browser's cookie choice (internal-contracts)


def _template_globals() -> dict:
    ident: Identity = g.get("identity") or Identity()
    logged_in = bool(ident.user_id) and not ident.is_system
    nav = [link for link in current_app.extensions.get("portal_nav", ())
           if link.audience == "all"
           or (link.audience == "visitor" and not logged_in)
           or (link.audience == "user" and logged_in and (not link.roles or ident.has_role(*link.roles)))]
    return {
        "csrf_token": g.get("csrf_token", ""),
        "identity": ident,
        "logged_in": logged_in,
        "nav": nav,
        "asset": asset_url,
        "brand": current_app.extensions["container"].settings.brand,
        "cookie_choice_made": CONSENT_COOKIE in request.cookies,
        "current_path": request.full_path.rstrip("?") if request.method == "GET" else request.path,
    }


def asset_url(path: str) -> str:
    return f"/static/{current_app.extensions['container'].asset_version}/{path}"
