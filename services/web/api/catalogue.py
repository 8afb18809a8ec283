"""The content catalogue: the items a person may see (public ones for visitors; also members' and
their companies' once logged in), an item's page, and its files to download."""

from __future__ import annotations

from flask import Blueprint, request

from services.web.api.deps import api, container, identity, pass_on, render

blp = Blueprint("catalogue", __name__)


@blp.get("/catalogue")
def catalogue():
    params: dict = {"limit": 24}
    if request.args.get("cursor"):
        params["cursor"] = request.args["cursor"][:500]
    page = api("content", "GET", "/items", params=params) or {}
    return render("catalogue/list.html", items=page.get("items", []), next_cursor=page.get("next_cursor"))


@blp.get("/catalogue/<item_id>")
def item(item_id: str):
    return render("catalogue/item.html", item=api("content", "GET", f"/items/{item_id}"))


@blp.get("/catalogue/files/<collateral_id>")
def download(collateral_id: str):
    """The file, streamed from content as it comes; content decides who may have it (403/404 pages)."""
    upstream = container().apis.stream("content", "GET", f"/collaterals/{collateral_id}/download", identity())
    return pass_on(upstream)
