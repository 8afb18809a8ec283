"""The caller's own companies and link requests."""

from __future__ import annotations

from typing import Any

from services.linking.api import deps
from services.linking.api.schemas import MembershipListOut, OwnRequestPageOut, PageArgs
from services.linking.handlers import link_requests, members

blp = deps.logged_in_blueprint("me", __name__, "Your companies and link requests.")


@blp.route("/me/companies", methods=["GET"])
@blp.response(200, MembershipListOut)
def my_companies():
    return {"items": members.list_own_memberships(deps.caller(), deps.read_uow())}


@blp.route("/me/link-requests", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, OwnRequestPageOut)
def my_link_requests(args: dict[str, Any]):
    return link_requests.list_own_requests(args["limit"], args["offset"], deps.caller(), deps.read_uow())
