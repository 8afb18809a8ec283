"""What a person sees when a page cannot be shown: never JSON, never a stack trace.

401 (or a page that needs a login) -> the login page, then back; 428 ``reauth_required`` -> confirm
the password, then back; 428 ``policy_acceptance_required`` -> the policy review, then back; 429 ->
"slow down" with Retry-After; 403, 404, 503 and anything else -> their pages.
"""

from __future__ import annotations

import logging

from flask import Flask, flash, g, redirect, render_template
from werkzeug.exceptions import HTTPException

from services.web.adapters.services import ApiFailure
from services.web.api.context import FormRejected
from services.web.api.deps import LoginRequired, here, with_next
from shared.web.errors import ApiError

log = logging.getLogger("portal.web")

_PAGES = {403: "errors/403.html", 404: "errors/404.html", 429: "errors/429.html"}


def install(app: Flask) -> None:
    app.register_error_handler(ApiFailure, _api_failure)
    app.register_error_handler(LoginRequired, lambda _exc: _to_login())
    app.register_error_handler(FormRejected, _form_rejected)
    app.register_error_handler(ApiError, _own_error)  # e.g. a request that did not come through the gateway
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _to_login():
    flash("Please log in to continue.", "info")
    return redirect(with_next("/login", here()), code=303)


def _api_failure(exc: ApiFailure):
    if exc.status == 401:
        return _to_login()
    if exc.status == 428 and exc.code == "policy_acceptance_required":
        return redirect(with_next("/policy/accept", here()), code=303)
    if exc.status == 428:
        return redirect(with_next("/reauth", here()), code=303)
    if exc.status == 429:
        headers = {"Retry-After": exc.retry_after} if exc.retry_after else {}
        return render_template("errors/429.html", retry_after=exc.retry_after), 429, headers
    if exc.status >= 500:
        log.warning("service answered %s %s (request %s)", exc.status, exc.code, g.get("request_id"))
        return render_template("errors/503.html"), 503
    return _page(exc.status, exc.message)


def _form_rejected(_exc: FormRejected):
    return render_template("errors/403.html", message=(
        "This form has expired or was not sent from this site. Go back, reload the page and try again.")), 403


def _own_error(exc: ApiError):
    return _page(exc.status, exc.message)


def _http_error(exc: HTTPException):
    return _page(exc.code or 500, exc.description or "")


def _unexpected(exc: Exception):
    log.exception("unhandled error (request %s)", g.get("request_id"))
    return render_template("errors/503.html", unexpected=True), 500


def _page(status: int, message: str):
    template = _PAGES.get(status, "errors/error.html")
    return render_template(template, status=status, message=message), status
