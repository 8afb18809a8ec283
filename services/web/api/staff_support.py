"""Support: the queries and complaints they handle (unassigned ones and their own cases; admins see
all), replies and follow-ups, and the complaint case (owner, due date, status, with a note).

content decides who sees what and which status may follow which; the form offers only the next
statuses so that a person rarely meets its 409."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, request

from services.web.adapters.services import ApiFailure
from services.web.api import NavLink
from services.web.api.deps import api, done, form_failure, form_values, render, require_role

blp = Blueprint("staff_support", __name__)
NAV = [NavLink("/staff/queries", "Queries and complaints", roles=("support", "admin"), order=61)]
STAFF = ("support", "admin")
# What a complaint may move to next (content's rule, repeated here only to build the choice).
NEXT_STATUS = {"received": ("acknowledged",), "acknowledged": ("resolved", "escalated"),
               "escalated": ("resolved",), "resolved": ()}


@blp.get("/staff/queries")
def queries():
    require_role(*STAFF)
    filters = {k: v for k in ("kind", "status") if (v := request.args.get(k))}
    if request.args.get("unassigned") == "true":
        filters["unassigned"] = "true"
    page = api("content", "GET", "/queries", params={**filters, "limit": 50, "cursor": request.args.get("cursor")})
    return render("staff/queries.html", items=page["items"], next_cursor=page.get("next_cursor"), filters=filters)


def _query_page(query_id: str, errors: dict[str, Any] | None = None, values: dict[str, str] | None = None,
                status: int = 200):
    ident = require_role(*STAFF)
    query = api("content", "GET", f"/queries/{query_id}")
    owners: list[dict[str, Any]] = []
    if ident.has_role("admin") and query["kind"] == "complaint":
        owners = [p for p in api("identity", "GET", "/staff")["items"] if "support" in p["roles"]]
    return render("staff/query.html", status, query=query, me=ident.user_id, owners=owners,
                  next_statuses=NEXT_STATUS.get(query.get("status") or "", ()), errors=errors or {},
                  values=values or {})


@blp.get("/staff/queries/<query_id>")
def query(query_id: str):
    return _query_page(query_id)


@blp.post("/staff/queries/<query_id>/reply")
def reply(query_id: str):
    require_role(*STAFF)
    try:
        api("content", "POST", f"/queries/{query_id}/replies", json={"body": request.form.get("body", "")})
    except ApiFailure as exc:
        return _query_page(query_id, {"reply": form_failure(exc)}, form_values(), status=400)
    return done("Your reply is sent; the customer sees it with their query.", f"/staff/queries/{query_id}")


def case_changes(form: Any, me: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The PATCH body from the case form, and the errors found before asking content."""
    body: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if form.get("status"):
        body["status"] = form["status"]
    owner = form.get("owner_id", "")
    if owner == "me":
        body["owner_id"] = me
    elif owner:
        body["owner_id"] = owner
    if due := form.get("due_date", "").strip():
        try:
            body["due_at"] = f"{date.fromisoformat(due).isoformat()}T23:59:59+00:00"  # the end of that day
        except ValueError:
            errors["due_date"] = ["Enter a date such as 2030-01-31."]
    if form.get("note", "").strip():
        body["note"] = form["note"].strip()
    if not errors and not {"status", "owner_id", "due_at"} & set(body):
        errors["_form"] = ["Choose a new status, an owner or a due date."]
    if errors and "_form" not in errors:
        errors["_form"] = ["Please check the case details."]
    return body, errors


@blp.post("/staff/queries/<query_id>/case")
def update_case(query_id: str):
    ident = require_role(*STAFF)
    body, errors = case_changes(request.form, ident.user_id or "")
    if not errors:
        try:
            api("content", "PATCH", f"/queries/{query_id}", json=body)
            return done("The case is updated.", f"/staff/queries/{query_id}")
        except ApiFailure as exc:
            errors = form_failure(exc)
            if "due_at" in errors:
                errors["due_date"] = errors.pop("due_at")
    return _query_page(query_id, {"case": errors}, form_values(), status=400)
