"""The pages the platform's mails link to: confirm an email address, forgotten password, reset.

A mailed token arrives in the URL fragment (``/verify-email#token=...``), which the browser keeps to
itself; static/js/fragment-token.js puts it into the form, which POSTs it. Without JavaScript the
form asks the person to paste the token. Either way no token is ever in a URL the server sees.
"""

from __future__ import annotations

from flask import Blueprint, request

from services.web.adapters.services import ApiFailure
from services.web.api.deps import api, done, form_failure, form_values, identity, render

blp = Blueprint("mailed", __name__)


@blp.route("/verify-email", methods=["GET", "POST"])
def verify_email():
    errors: dict = {}
    if request.method == "POST":
        try:
            api("identity", "POST", "/email/verify", json={"token": request.form.get("token", "").strip()})
            return done("Thank you: your email address is confirmed.", "/account" if identity().user_id else "/login")
        except ApiFailure as exc:
            errors = _token_errors(exc)
    return render("public/verify_email.html", 200 if not errors else 400, errors=errors)


@blp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    errors: dict = {}
    if request.method == "POST":
        try:
            reply = api("identity", "POST", "/password-resets", json={"email": request.form.get("email", "")})
            return done((reply or {}).get("message") or "If an account uses this address, a link is on its way.",
                        "/login")
        except ApiFailure as exc:
            errors = form_failure(exc)
    return render("public/forgot_password.html", 200 if not errors else 400, errors=errors, values=form_values())


@blp.route("/reset-password", methods=["GET", "POST"])
def reset_password():
    errors: dict = {}
    if request.method == "POST":
        try:
            api("identity", "POST", "/password-resets/confirm",
                json={"token": request.form.get("token", "").strip(), "password": request.form.get("password", "")})
            return done("Your password is changed. Please log in with it.", "/login")
        except ApiFailure as exc:
            errors = _token_errors(exc)
    # The token is kept in the form (a hidden field once the script filled it), never echoed in a URL.
    return render("public/reset_password.html", 200 if not errors else 400, errors=errors,
                  token=request.form.get("token", ""))


def _token_errors(exc: ApiFailure) -> dict:
    if exc.status in (404, 410) or exc.code == "token_invalid":
        return {"token": [exc.message or "This link is invalid, used or expired. Ask for a new one."],
                "_form": ["The code from the mail does not work."]}
    return form_failure(exc)
