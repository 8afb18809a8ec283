"""A customer's own account: profile (name, phone, email change), password, sessions."""

from __future__ import annotations

from flask import Blueprint, request

from services.web.adapters.services import ApiFailure
from services.web.api import NavLink
from services.web.api.deps import api, done, form_failure, form_values, render, require_login

blp = Blueprint("account", __name__)
NAV = [
    NavLink("/account", "My account", order=20),
    NavLink("/account/sessions", "Sessions", order=21),
]


@blp.route("/account", methods=["GET", "POST"])
def profile():
    require_login()
    errors: dict = {}
    if request.method == "POST":
        body = {"name": request.form.get("name", ""), "phone": request.form.get("phone") or None}
        try:
            api("identity", "PATCH", "/me", json=body)
            return done("Your details are saved.", "/account")
        except ApiFailure as exc:
            errors = form_failure(exc)
    me = api("identity", "GET", "/me")
    return render("account/profile.html", 200 if not errors else 400, me=me, errors=errors,
                  values=form_values() if errors else {"name": me.get("name", ""), "phone": me.get("phone") or ""})


@blp.route("/account/email", methods=["GET", "POST"])
def change_email():
    """A new address needs a recent password (the API's 428 leads to /reauth and back here) and is
    used only once confirmed from the new mailbox."""
    require_login()
    errors: dict = {}
    if request.method == "POST":
        try:
            api("identity", "PATCH", "/me", json={"email": request.form.get("email", "")})
            return done("We sent a link to your new address: your email changes once you open it. "
                        "Your old address was told about the request.", "/account")
        except ApiFailure as exc:
            errors = form_failure(exc)
    me = api("identity", "GET", "/me")
    return render("account/email.html", 200 if not errors else 400, me=me, errors=errors, values=form_values())


@blp.route("/account/password", methods=["GET", "POST"])
def change_password():
    require_login()
    errors: dict = {}
    if request.method == "POST":
        try:
            api("identity", "POST", "/password", json={"current_password": request.form.get("current_password", ""),
                                                       "new_password": request.form.get("new_password", "")})
            return done("Your password is changed. Your other sessions have ended.", "/account")
        except ApiFailure as exc:
            if exc.status == 401 and exc.code == "invalid_credentials":
                errors = {"current_password": ["This is not your current password."],
                          "_form": ["Your current password is not right."]}
            else:
                errors = form_failure(exc)
    return render("account/password.html", 200 if not errors else 400, errors=errors)


@blp.get("/account/sessions")
def sessions():
    require_login()
    items = (api("identity", "GET", "/sessions") or {}).get("items", [])
    return render("account/sessions.html", items=items)


@blp.post("/account/sessions/others/revoke")
def revoke_others():
    require_login()
    revoked = (api("identity", "DELETE", "/sessions/others") or {}).get("revoked", 0)
    return done(f"{revoked} other session(s) ended." if revoked else "There were no other sessions.",
                "/account/sessions")


@blp.post("/account/sessions/<session_id>/revoke")
def revoke(session_id: str):
    require_login()
    api("identity", "DELETE", f"/sessions/{session_id}")
    return done("The session has ended.", "/account/sessions")
