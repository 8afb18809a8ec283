"""The privacy centre: take a copy of my data, erase my account, who accessed my data, disclosures
about me. Reachable even while a new policy version waits to be accepted (the gateway lets it through)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, request

from services.web.adapters.services import ApiFailure
from services.web.api import NavLink
from services.web.api.deps import api, container, done, identity, pass_on, render, require_login

blp = Blueprint("privacy", __name__)
NAV = [NavLink("/privacy", "Privacy centre", order=50)]


@blp.get("/privacy")
def centre():
    require_login()
    exports = (api("identity", "GET", "/privacy/exports") or {}).get("items", [])
    return render("privacy/centre.html", exports=exports)


@blp.post("/privacy/exports")
def request_export():
    require_login()
    export = api("identity", "POST", "/privacy/exports", json={})
    return done("We are putting your data together. This page shows how far it got.",
                f"/privacy/exports/{export['id']}")


@blp.get("/privacy/exports/<export_id>")
def export(export_id: str):
    require_login()
    found = api("identity", "GET", f"/privacy/exports/{export_id}")
    sections = found.get("sections") or {}
    ready = sum(1 for s in sections.values() if s.get("status") == "completed")
    return render("privacy/export.html", export=found, ready=ready, total=len(sections))


@blp.get("/privacy/exports/<export_id>/download")
def download_export(export_id: str):
    """The bundle, through the pages: the signed link identity gives is used here, server side, so it
    never appears in the browser's address bar or the access log."""
    require_login()
    found = api("identity", "GET", f"/privacy/exports/{export_id}")
    link = found.get("download_url")
    if not link:
        raise ApiFailure(409, "export_not_ready", "Your data is not ready yet; this page will say when it is.")
    query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items() if k in ("expires", "signature")}
    upstream = container().apis.stream("identity", "GET", f"/privacy/exports/{export_id}/download", identity(),
                                       params=query)
    return pass_on(upstream)


@blp.route("/privacy/erase", methods=["GET", "POST"])
def erase():
    require_login()
    errors: dict = {}
    if request.method == "POST":
        if request.form.get("confirm") != "yes":
            errors = {"confirm": ["Tick the box to confirm that you want your account erased."],
                      "_form": ["Please confirm first: an erasure cannot be undone."]}
        else:
            erasure = api("identity", "POST", "/privacy/erasures", json={})  # 428 -> confirm the password first
            if erasure.get("status") == "withheld":
                return done("We cannot erase your account now: " + (erasure.get("reason") or "a legal hold applies."),
                            f"/privacy/erasures/{erasure['id']}")
            return done("Your account is erased and you are logged out. This page shows each service's answer.",
                        f"/privacy/erasures/{erasure['id']}")
    return render("privacy/erase.html", 200 if not errors else 400, errors=errors)


@blp.get("/privacy/erasures/<request_id>")
def erasure(request_id: str):
    """Open to whoever holds the id once the account is gone (identity decides), as after erasing
    there is no session any more."""
    return render("privacy/erasure.html", erasure=api("identity", "GET", f"/privacy/erasures/{request_id}"))


@blp.get("/privacy/access")
def access_log():
    require_login()
    params: dict = {"limit": 50}
    if request.args.get("cursor"):
        params["cursor"] = request.args["cursor"][:500]
    page = api("audit", "GET", "/me/events", params=params) or {}
    return render("privacy/access.html", items=page.get("items", []), next_cursor=page.get("next_cursor"))


@blp.get("/privacy/disclosures")
def disclosures():
    require_login()
    params: dict = {"limit": 50}
    if request.args.get("cursor"):
        params["cursor"] = request.args["cursor"][:500]
    page = api("audit", "GET", "/me/disclosures", params=params) or {}
    return render("privacy/disclosures.html", items=page.get("items", []), next_cursor=page.get("next_cursor"))
