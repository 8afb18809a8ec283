"""A customer and companies: find one, ask to be linked (sharing contact details only with explicit
consent), follow the request, withdraw it, leave a company."""

from __future__ import annotations

from flask import Blueprint, request

from services.web.adapters.services import ApiFailure
from services.web.api import NavLink
from services.web.api.deps import api, done, form_failure, form_values, render, require_login

blp = Blueprint("companies", __name__)
NAV = [NavLink("/companies", "Companies", order=40)]


@blp.get("/companies")
def companies():
    require_login()
    q = request.args.get("q", "").strip()[:200]
    found = (api("linking", "GET", "/companies", params={"q": q, "limit": 20}) or {}).get("items", []) if q else None
    mine = (api("linking", "GET", "/me/companies") or {}).get("items", [])
    asked = (api("linking", "GET", "/me/link-requests", params={"limit": 50}) or {}).get("items", [])
    return render("companies/index.html", q=q, found=found, mine=mine, requests=asked)


@blp.route("/companies/<company_id>/join", methods=["GET", "POST"])
def join(company_id: str):
    require_login()
    errors: dict = {}
    company = api("linking", "GET", f"/companies/{company_id}")
    if request.method == "POST":
        share = request.form.get("share_contact") == "yes"
        if not share:
            errors = {"share_contact": ["Tick the box to let the managers see your contact details; they need "
                                        "them to decide."], "_form": ["Your consent is needed to send the request."]}
        else:
            try:
                api("linking", "POST", f"/companies/{company_id}/link-requests",
                    json={"share_contact": True, "message": request.form.get("message") or None})
                return done(f"Your request to join {company['name']} is sent. Its managers will decide.",
                            "/companies")
            except ApiFailure as exc:
                # a 403 the form can explain: confirm the address first
                errors = {"_form": [exc.message]} if exc.code == "email_unverified" else form_failure(exc)
    return render("companies/join.html", 200 if not errors else 400, company=company, errors=errors,
                  values=form_values())


@blp.post("/companies/requests/<request_id>/withdraw")
def withdraw(request_id: str):
    require_login()
    api("linking", "POST", f"/link-requests/{request_id}/withdraw", json={})
    return done("Your request is withdrawn.", "/companies")


@blp.post("/companies/<company_id>/leave")
def leave(company_id: str):
    ident = require_login()
    api("linking", "DELETE", f"/companies/{company_id}/members/{ident.user_id}")
    return done("You left the company.", "/companies")
