"""What a page view uses: the caller, the API call helper, rendering, forms and redirects.

A view is thin: read the form, call one API (``api``), render or redirect. A failure it does not
handle itself (not logged in, 428, 429, 403, 404, 5xx) goes to api/errors.py, which shows the page
a person expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import requests
from flask import current_app, flash, g, redirect, render_template, request, stream_with_context
from werkzeug.wrappers import Response

from services.web.adapters.services import ApiFailure, ApiReply, Browser
from services.web.bootstrap import Container
from services.web.domain.navigation import safe_next
from shared.identity import Identity

FORM_STATUSES = frozenset({400, 409, 422})  # the answers a form shows next to its fields


class LoginRequired(Exception):
    """The page needs a logged-in person; errors.py sends them to log in and back here."""


def container() -> Container:
    return current_app.extensions["container"]


def identity() -> Identity:
    return g.get("identity") or Identity()


def require_login() -> Identity:
    ident = identity()
    if not ident.user_id or ident.is_system:
        raise LoginRequired()
    return ident


def require_role(*roles: str) -> Identity:
    """A logged-in person with one of ``roles``, else the 403 page."""
    ident = require_login()
    if not ident.has_role(*roles):
        raise ApiFailure(403, "forbidden", "Your account is not allowed to see this page.")
    return ident


def call(service: str, method: str, path: str, *, json: Any = None,
         params: Mapping[str, Any] | None = None) -> ApiReply:
    """Call an API service as the person behind this request; cookies it sets reach the browser."""
    reply = container().apis.call(service, method, path, identity(), browser=g.get("browser") or Browser(),
                                  json=json, params=dict(params) if params else None)
    g.set_cookies.extend(reply.set_cookies)
    return reply


def api(service: str, method: str, path: str, *, json: Any = None,
        params: Mapping[str, Any] | None = None) -> Any:
    """``call``'s data (the decoded JSON)."""
    return call(service, method, path, json=json, params=params).data


def render(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


def form_failure(exc: ApiFailure) -> dict[str, list[str]]:
    """The field errors of a failed form submission (``_form`` holds the message), or re-raise what a
    form cannot show (401, 428, 429, 403, 5xx) for errors.py."""
    if exc.status not in FORM_STATUSES:
        raise exc
    errors = dict(exc.fields)
    errors["_form"] = [exc.message or "Please check what you entered."]
    return errors


def form_values(*exclude: str) -> dict[str, str]:
    """What the person typed, to fill the form in again (never passwords or the form token)."""
    skip = {"csrf_token", "password", "current_password", "new_password", *exclude}
    return {k: v for k, v in request.form.items() if k not in skip}


def next_path(default: str = "/") -> str:
    return safe_next(request.values.get("next"), default)


def here() -> str:
    """This page's own path (with its query), to come back to; for a form post, the page it was on."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = request.referrer or ""
    path = referrer.split(request.headers.get("X-Forwarded-Host", request.host), 1)[-1] if referrer else ""
    return safe_next(path, "/")


def with_next(path: str, target: str) -> str:
    return f"{path}?{urlencode({'next': target})}"


def done(message: str, to: str) -> Response:
    """After a successful form: say what happened, and go where the person was going (POST-redirect-GET)."""
    flash(message, "success")
    return redirect(safe_next(to), code=303)


_FILE_HEADERS = ("Content-Type", "Content-Length", "Content-Disposition", "ETag", "Last-Modified")


def pass_on(upstream: requests.Response) -> Response:
    """A service's download, streamed to the browser as it comes (``container().apis.stream(...)``)."""
    headers = {name: upstream.headers[name] for name in _FILE_HEADERS if name in upstream.headers}
    headers["Cache-Control"] = "private, no-store"

    def chunks():
        try:
            yield from upstream.iter_content(64 * 1024)
        finally:
            upstream.close()

    return Response(stream_with_context(chunks()), status=200, headers=headers, direct_passthrough=True)
