"""Company managers: pending link requests with the contact details people agreed to share, approve or
reject with a reason, members (remove, promote or demote, hand over the primary contact).

linking decides who may do what (a person who does not manage the company gets its 403 page); these
views only translate forms into its calls."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from services.web.adapters.services import ApiFailure
from services.web.api import NavLink
from services.web.api.deps import api, done, form_failure, render, require_login

blp = Blueprint("manager", __name__)
NAV = [NavLink("/manager", "Company management", order=45)]


def _company_page(company_id: str, errors: dict[str, Any] | None = None, values: dict[str, str] | None = None,
                  status: int = 200):
    """The company's page; ``errors`` may be keyed by form (``reject:<request id>``, ``transfer``)."""
    me = require_login()
    company = api("linking", "GET", f"/companies/{company_id}")
    pending = api("linking", "GET", f"/companies/{company_id}/link-requests", params={"limit": 50})["items"]
    members = api("linking", "GET", f"/companies/{company_id}/members", params={"limit": 50})["items"]
    primary = next((m for m in members if m.get("primary_contact")), None)
    return render("manager/company.html", status, company=company, pending=pending, members=members,
                  me=me.user_id, is_primary=bool(primary and primary["user_id"] == me.user_id),
                  errors=errors or {}, values=values or {})


@blp.get("/manager")
def companies():
    require_login()
    mine = api("linking", "GET", "/me/companies")["items"]
    managed = [m for m in mine if m.get("role") == "manager"]
    return render("manager/index.html", managed=managed)


@blp.get("/manager/companies/<company_id>")
def company(company_id: str):
    return _company_page(company_id)


@blp.post("/manager/companies/<company_id>/requests/<request_id>/approve")
def approve(company_id: str, request_id: str):
    require_login()
    try:
        api("linking", "POST", f"/link-requests/{request_id}/approve")
    except ApiFailure as exc:
        return _company_page(company_id, {f"request:{request_id}": form_failure(exc)}, status=400)
    return done("The request is approved: the person is now a member.", f"/manager/companies/{company_id}")


@blp.post("/manager/companies/<company_id>/requests/<request_id>/reject")
def reject(company_id: str, request_id: str):
    require_login()
    reason = request.form.get("reason", "").strip()
    try:
        api("linking", "POST", f"/link-requests/{request_id}/reject", json={"reason": reason} if reason else {})
    except ApiFailure as exc:
        return _company_page(company_id, {f"request:{request_id}": form_failure(exc)},
                             {f"reason:{request_id}": reason}, status=400)
    return done("The request is rejected; the person sees your reason.", f"/manager/companies/{company_id}")


@blp.post("/manager/companies/<company_id>/members/<user_id>/role")
def change_role(company_id: str, user_id: str):
    require_login()
    role = request.form.get("role", "")
    try:
        api("linking", "PATCH", f"/companies/{company_id}/members/{user_id}", json={"role": role})
    except ApiFailure as exc:
        return _company_page(company_id, {f"member:{user_id}": form_failure(exc)}, status=400)
    word = "now a manager" if role == "manager" else "now a member without management rights"
    return done(f"The person is {word}.", f"/manager/companies/{company_id}")


@blp.post("/manager/companies/<company_id>/members/<user_id>/remove")
def remove(company_id: str, user_id: str):
    require_login()
    try:
        api("linking", "DELETE", f"/companies/{company_id}/members/{user_id}")
    except ApiFailure as exc:
        return _company_page(company_id, {f"member:{user_id}": form_failure(exc)}, status=400)
    return done("The person is no longer a member of the company.", f"/manager/companies/{company_id}")


@blp.post("/manager/companies/<company_id>/primary-contact")
def hand_over(company_id: str):
    require_login()
    user_id = request.form.get("user_id", "")
    try:
        api("linking", "PUT", f"/companies/{company_id}/primary-contact", json={"user_id": user_id})
    except ApiFailure as exc:
        return _company_page(company_id, {"transfer": form_failure(exc)}, {"user_id": user_id}, status=400)
    return done("You handed over the primary contact. You stay a manager.", f"/manager/companies/{company_id}")
