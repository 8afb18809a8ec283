"""Editors: the content items (every one, published or not), their collateral files, uploads.

An upload is a plain multipart form (works without JavaScript); ``static/js/upload.js`` sends the same
form with XMLHttpRequest to show its progress. Either way this view passes the file on to content as a
stream (adapters/uploads.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from services.web.adapters.services import ApiFailure
from services.web.adapters.uploads import MultipartFile, send_file
from services.web.api import NavLink
from services.web.api.deps import api, container, done, form_failure, form_values, render, require_role

blp = Blueprint("staff_editor", __name__)
NAV = [NavLink("/staff/items", "Content items", roles=("editor",), order=60)]
VISIBILITIES = (("public", "Everyone"), ("users", "Logged-in people"), ("company", "Members of one company"))


def _item_body(form: Any) -> dict[str, Any]:
    body = {"title": form.get("title", ""), "body": form.get("body", ""), "visibility": form.get("visibility", ""),
            "status": form.get("status", "published")}
    if body["visibility"] == "company":  # content wants a company exactly for company items
        body["company_id"] = form.get("company_id", "")
    return body


def _companies() -> list[dict[str, Any]]:
    return api("linking", "GET", "/companies", params={"limit": 50})["items"]


@blp.get("/staff/items")
def items():
    require_role("editor")
    params = {k: v for k in ("status", "visibility") if (v := request.args.get(k))}
    page = api("content", "GET", "/items", params={**params, "limit": 50, "cursor": request.args.get("cursor")})
    return render("staff/items.html", items=page["items"], next_cursor=page.get("next_cursor"), filters=params)


@blp.route("/staff/items/new", methods=["GET", "POST"])
def new_item():
    require_role("editor")
    errors: dict = {}
    if request.method == "POST":
        try:
            item = api("content", "POST", "/items", json=_item_body(request.form))
            return done("The item is saved. You can attach files to it now.", f"/staff/items/{item['id']}")
        except ApiFailure as exc:
            errors = form_failure(exc)
    values = form_values() if errors else {"visibility": "public", "status": "published"}
    return render("staff/item_form.html", 400 if errors else 200, item=None, errors=errors, values=values,
                  companies=_companies(), visibilities=VISIBILITIES)


def _edit_page(item_id: str, errors: dict | None = None, values: dict | None = None, upload_errors: dict | None = None,
               status: int = 200):
    item = api("content", "GET", f"/items/{item_id}")
    return render("staff/item_form.html", status, item=item, errors=errors or {}, values=values or item,
                  upload_errors=upload_errors or {}, companies=_companies(), visibilities=VISIBILITIES)


@blp.route("/staff/items/<item_id>", methods=["GET", "POST"])
def edit_item(item_id: str):
    require_role("editor")
    if request.method == "GET":
        return _edit_page(item_id)
    try:
        api("content", "PATCH", f"/items/{item_id}", json=_item_body(request.form))
    except ApiFailure as exc:
        return _edit_page(item_id, form_failure(exc), form_values(), status=400)
    return done("The item is saved.", f"/staff/items/{item_id}")


@blp.post("/staff/items/<item_id>/files")
def upload(item_id: str):
    """The body limit is WEB_MAX_UPLOAD_BYTES for this view only (``takes_uploads``, api/context.py)."""
    ident = require_role("editor")
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _edit_page(item_id, upload_errors={"_form": ["Choose a file to upload."],
                                                  "file": ["Choose a file to upload."]}, status=400)
    body = MultipartFile(sent.stream, sent.filename, sent.mimetype or "application/octet-stream")
    try:
        found = send_file(container().apis, f"/items/{item_id}/collaterals", ident, body)
    except ApiFailure as exc:
        if exc.status not in (400, 413, 415, 422):
            raise
        messages = exc.fields.get("file") or [exc.message]
        return _edit_page(item_id, upload_errors={"_form": messages, "file": messages}, status=exc.status)
    return done(f"{found['filename']} is uploaded ({found['size']} bytes).", f"/staff/items/{item_id}")


upload.takes_uploads = True  # type: ignore[attr-defined]  # api/context.py raises the body limit for it


@blp.post("/staff/items/<item_id>/files/<collateral_id>/remove")
def remove_file(item_id: str, collateral_id: str):
    require_role("editor")
    api("content", "DELETE", f"/collaterals/{collateral_id}")
    return done("The file is removed.", f"/staff/items/{item_id}")
