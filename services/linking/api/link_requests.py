"""Deciding and withdrawing link requests."""

from __future__ import annotations

from typing import Any

from services.linking.api import deps
from services.linking.api.schemas import EmptyIn, LinkRequestOut, RejectIn
from services.linking.handlers import link_requests

blp = deps.logged_in_blueprint("link_requests", __name__, "Approve, reject or withdraw a link request.")


@blp.route("/link-requests/<request_id>/approve", methods=["POST"])
@blp.arguments(EmptyIn)
@blp.response(200, LinkRequestOut)
def approve(_data: dict[str, Any], request_id: str):
    """Approve (a manager of the company): the requester becomes a member and is told by mail."""
    return link_requests.approve_link_request(request_id, deps.caller(), deps.uow())


@blp.route("/link-requests/<request_id>/reject", methods=["POST"])
@blp.arguments(RejectIn)
@blp.response(200, LinkRequestOut)
def reject(data: dict[str, Any], request_id: str):
    """Reject with an optional reason (a manager of the company); the requester is told by mail."""
    return link_requests.reject_link_request(request_id, data["reason"], deps.caller(), deps.uow())


@blp.route("/link-requests/<request_id>/withdraw", methods=["POST"])
@blp.arguments(EmptyIn)
@blp.response(200, LinkRequestOut)
def withdraw(_data: dict[str, Any], request_id: str):
    """Withdraw your own pending request."""
    return link_requests.withdraw_link_request(request_id, deps.caller(), deps.uow())
