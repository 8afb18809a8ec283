"""Visitors' pages: home, sign up, log in and out, cookie choices, the privacy policy."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, request

from services.web.adapters.services import ApiFailure
from services.web.api import NavLink
from services.web.api.deps import (
    api,
    done,
    form_failure,
    form_values,
    identity,
    next_path,
    render,
    require_login,
)

blp = Blueprint("public", __name__)
NAV = [
    NavLink("/", "Home", audience="all", order=0),
    NavLink("/catalogue", "Catalogue", audience="all", order=10),
    NavLink("/login", "Log in", audience="visitor", order=90),
    NavLink("/signup", "Sign up", audience="visitor", order=91),
]


@blp.get("/")
def home():
    return render("public/home.html")


@blp.route("/login", methods=["GET", "POST"])
def login():
    errors: dict = {}
    if request.method == "POST":
        try:
            api("identity", "POST", "/sessions",
                json={"email": request.form.get("email", ""), "password": request.form.get("password", "")})
            return done("You are logged in.", next_path("/account"))
        except ApiFailure as exc:
            if exc.status != 401:
                errors = form_failure(exc)
            else:
                errors = {"_form": [exc.message or "The email or password is not right."]}
    return render("public/login.html", 200 if not errors else 400, errors=errors, values=form_values(),
                  next=next_path(""))


@blp.post("/logout")
def logout():
    if identity().user_id:
        try:
            api("identity", "DELETE", "/sessions/current")
        except ApiFailure as exc:
            if exc.status != 401:  # already gone: logged out all the same
                raise
    return done("You are logged out.", "/")


@blp.route("/signup", methods=["GET", "POST"])
def signup():
    errors: dict = {}
    if request.method == "POST":
        body = {"name": request.form.get("name", ""), "email": request.form.get("email", ""),
                "password": request.form.get("password", "")}
        if request.form.get("phone"):
            body["phone"] = request.form["phone"]
        try:
            api("identity", "POST", "/users", json=body)
            # The same words whether or not the address already had an account (the owner is mailed instead).
            return done("Thank you. We sent an email to that address: open its link to confirm it, then log in.",
                        "/login")
        except ApiFailure as exc:
            errors = form_failure(exc)
    return render("public/signup.html", 200 if not errors else 400, errors=errors, values=form_values())


@blp.route("/cookies", methods=["GET", "POST"])
def cookies():
    """The cookie choices, per purpose. The banner on every page posts here too (no script needed)."""
    if request.method == "POST":
        analytics = request.form.get("analytics") in ("yes", "on", "true")
        api("identity", "PUT", "/consent", json={"analytics": analytics})
        return done("Your cookie choices are saved." if analytics else
                    "Your cookie choices are saved: only the cookies the portal needs to work.",
                    next_path("/cookies"))
    choice = api("identity", "GET", "/consent")
    return render("public/cookies.html", choice=choice or {}, next=next_path(""))


@blp.get("/policy")
def policy():
    return render("public/policy.html", policy=_current_policy(), history=_policy_history())


@blp.get("/policy/versions/<version>")
def policy_version(version: str):
    return render("public/policy.html", policy=api("identity", "GET", f"/policy/versions/{quote(version, safe='')}"),
                  history=_policy_history(), archived=True)


def _current_policy() -> dict:
    """The version in force with its text (``GET /policy`` gives the version, the text is per version)."""
    current = api("identity", "GET", "/policy") or {}
    return api("identity", "GET", f"/policy/versions/{current.get('version', '')}")


def _policy_history() -> list[dict]:
    return (api("identity", "GET", "/policy/versions") or {}).get("items", [])


@blp.route("/policy/accept", methods=["GET", "POST"])
def policy_accept():
    """The re-consent interstitial: the gateway sends a session here when a new policy version
    reduces rights, and back to ``next`` once accepted."""
    require_login()
    current = _current_policy()
    if request.method == "POST":
        api("identity", "POST", "/policy/acceptances", json={"version": current.get("version")})
        return done("Thank you: you accepted the current privacy policy.", next_path("/account"))
    return render("public/policy_accept.html", policy=current, next=next_path(""))


@blp.route("/reauth", methods=["GET", "POST"])
def reauth():
    """Confirm the password before a sensitive step (the API answered 428 ``reauth_required``)."""
    require_login()
    errors: dict = {}
    if request.method == "POST":
        try:
            api("identity", "POST", "/reauth", json={"password": request.form.get("password", "")})
            return done("Thank you: your password is confirmed.", next_path("/account"))
        except ApiFailure as exc:
            if exc.status == 401:
                errors = {"password": [exc.message or "That is not your password."],
                          "_form": ["That is not your password."]}
            else:
                errors = form_failure(exc)
    return render("public/reauth.html", 200 if not errors else 400, errors=errors, next=next_path(""))
