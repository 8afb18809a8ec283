"""A customer's questions and complaints: ask, see the answers, follow a complaint's case."""

from __future__ import annotations

from flask import Blueprint, request

from services.web.adapters.services import ApiFailure
from services.web.api import NavLink
from services.web.api.deps import api, done, form_failure, form_values, render, require_login

blp = Blueprint("queries", __name__)
NAV = [NavLink("/queries", "Questions", order=30)]


@blp.route("/queries", methods=["GET", "POST"])
def queries():
    require_login()
    errors: dict = {}
    if request.method == "POST":
        body = {k: request.form.get(k, "") for k in ("kind", "subject", "body")}
        try:
            created = api("content", "POST", "/queries", json=body)
            return done("Thank you: we received it. You can follow it here.", f"/queries/{created['id']}")
        except ApiFailure as exc:
            errors = form_failure(exc)
    page = api("content", "GET", "/queries", params={"limit": 50}) or {}
    return render("queries/list.html", 200 if not errors else 400, items=page.get("items", []), errors=errors,
                  values=form_values() if errors else {"kind": request.args.get("kind", "question")})


@blp.route("/queries/<query_id>", methods=["GET", "POST"])
def query(query_id: str):
    require_login()
    errors: dict = {}
    if request.method == "POST":
        try:
            api("content", "POST", f"/queries/{query_id}/replies", json={"body": request.form.get("body", "")})
            return done("Your message is added.", f"/queries/{query_id}")
        except ApiFailure as exc:
            errors = form_failure(exc)
    found = api("content", "GET", f"/queries/{query_id}")
    return render("queries/detail.html", 200 if not errors else 400, query=found, errors=errors, values=form_values())
