"""Administrators and compliance: staff roles, legal holds, publishing a version of the privacy policy.

Roles and policy versions are for ``admin``; legal holds for ``compliance`` (identity's rule: a hold
withholds a person's erasure, a compliance decision)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, request

from services.web.adapters.services import ApiFailure
from services.web.api import NavLink
from services.web.api.deps import api, done, form_failure, form_values, render, require_role

blp = Blueprint("staff_admin", __name__)
NAV = [
    NavLink("/staff/roles", "Staff roles", roles=("admin",), order=62),
    NavLink("/staff/policy", "Publish policy", roles=("admin",), order=63),
    NavLink("/staff/holds", "Legal holds", roles=("compliance",), order=64),
]
ROLES = ("admin", "compliance", "support", "editor")


def _roles_page(errors: dict | None = None, values: dict | None = None, status: int = 200):
    require_role("admin")
    staff = api("identity", "GET", "/staff")["items"]
    return render("staff/roles.html", status, staff=staff, roles=ROLES, errors=errors or {}, values=values or {})


@blp.route("/staff/roles", methods=["GET", "POST"])
def roles():
    require_role("admin")
    if request.method == "GET":
        return _roles_page()
    try:
        api("identity", "POST", "/staff/roles", json={"email": request.form.get("email", ""),
                                                     "role": request.form.get("role", "")})
    except ApiFailure as exc:
        return _roles_page(form_failure(exc), form_values(), status=400)
    return done(f"{request.form.get('email', '').strip()} now has the {request.form.get('role')} role. "
                "Their open sessions ended: the role applies from their next login.", "/staff/roles")


@blp.post("/staff/roles/<user_id>/<role>/revoke")
def revoke(user_id: str, role: str):
    require_role("admin")
    api("identity", "DELETE", f"/users/{user_id}/roles/{role}")
    return done(f"The {role} role is taken away; it applies at once.", "/staff/roles")


def _holds_page(errors: dict | None = None, values: dict | None = None, status: int = 200):
    require_role("compliance")
    holds = api("identity", "GET", "/privacy/holds")["items"]
    return render("staff/holds.html", status, holds=holds, errors=errors or {}, values=values or {})


@blp.route("/staff/holds", methods=["GET", "POST"])
def holds():
    require_role("compliance")
    if request.method == "GET":
        return _holds_page()
    body: dict = {"user_id": request.form.get("user_id", "").strip(), "reason": request.form.get("reason", "")}
    if until := request.form.get("until", "").strip():
        try:
            body["until"] = f"{date.fromisoformat(until).isoformat()}T23:59:59+00:00"
        except ValueError:
            return _holds_page({"_form": ["Please check the hold."], "until": ["Enter a date such as 2030-01-31."]},
                               form_values(), status=400)
    try:
        api("identity", "POST", "/privacy/holds", json=body)
    except ApiFailure as exc:
        return _holds_page(form_failure(exc), form_values(), status=400)
    return done("The legal hold is placed: this person's erasure is withheld while it stands.", "/staff/holds")


@blp.post("/staff/holds/<hold_id>/lift")
def lift(hold_id: str):
    require_role("compliance")
    api("identity", "DELETE", f"/privacy/holds/{hold_id}")
    return done("The legal hold is lifted.", "/staff/holds")


@blp.route("/staff/policy", methods=["GET", "POST"])
def policy():
    require_role("admin")
    errors: dict = {}
    if request.method == "POST":
        body = {"version": request.form.get("version", "").strip(), "text": request.form.get("text", ""),
                "reduces_rights": request.form.get("reduces_rights") == "yes"}
        try:
            api("identity", "POST", "/policy/versions", json=body)
            return done(f"Version {body['version']} is in force. Every account is told by email"
                        + ("; everyone must accept it before going on." if body["reduces_rights"] else "."),
                        "/staff/policy")
        except ApiFailure as exc:
            errors = form_failure(exc)
    versions = api("identity", "GET", "/policy/versions")["items"]
    return render("staff/policy.html", 400 if errors else 200, versions=versions, errors=errors,
                  values=form_values() if errors else {})
