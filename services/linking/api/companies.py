"""Companies, their members and their pending link requests."""

from __future__ import annotations

from typing import Any

from services.linking.api import deps
from services.linking.api.schemas import (
    CompanyIn,
    CompanyOut,
    CompanyPageOut,
    CompanyPublicOut,
    LinkRequestIn,
    LinkRequestOut,
    MemberPageOut,
    MemberRoleOut,
    PageArgs,
    PendingPageOut,
    RoleIn,
    SearchArgs,
    TransferIn,
)
from services.linking.handlers import companies, link_requests, members

blp = deps.logged_in_blueprint("companies", __name__, "Companies, members and link requests to them.")


@blp.route("/companies", methods=["POST"])
@blp.arguments(CompanyIn)
@blp.response(201, CompanyOut)
def create_company(data: dict[str, Any]):
    """Create a company (admin); its primary contact becomes its first manager."""
    return companies.create_company(companies.CreateCompany(**data), deps.caller(), deps.uow(), deps.directory())


@blp.route("/companies", methods=["GET"])
@blp.arguments(SearchArgs, location="query")
@blp.response(200, CompanyPageOut)
def search_companies(args: dict[str, Any]):
    """Find a company to ask to join (any logged-in user), by name."""
    return companies.search_companies(args["q"], args["limit"], args["offset"], deps.read_uow())


@blp.route("/companies/<company_id>", methods=["GET"])
@blp.response(200, CompanyPublicOut)
def get_company(company_id: str):
    return companies.get_company_details(company_id, deps.read_uow())


@blp.route("/companies/<company_id>/primary-contact", methods=["PUT"])
@blp.arguments(TransferIn)
@blp.response(200, CompanyOut)
def transfer_primary_contact(data: dict[str, Any], company_id: str):
    """Hand the primary contact role to another member (the primary contact or an admin)."""
    return companies.transfer_primary_contact(company_id, data["user_id"], deps.caller(), deps.uow())


@blp.route("/companies/<company_id>/members", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, MemberPageOut)
def list_members(args: dict[str, Any], company_id: str):
    # not deps.read_uow(): an admin's read is itself recorded (linking.pii.accessed)
    return members.list_members(company_id, args["limit"], args["offset"], deps.caller(), deps.uow())


@blp.route("/companies/<company_id>/members/<user_id>", methods=["PATCH"])
@blp.arguments(RoleIn)
@blp.response(200, MemberRoleOut)
def change_role(data: dict[str, Any], company_id: str, user_id: str):
    """Promote a member to manager or demote a manager (a company keeps at least one)."""
    return companies.change_role(company_id, user_id, data["role"], deps.caller(), deps.uow())


@blp.route("/companies/<company_id>/members/<user_id>", methods=["DELETE"])
@blp.response(204)
def remove_member(company_id: str, user_id: str):
    """Remove a member (managers), or leave (the member themself)."""
    members.remove_member(company_id, user_id, deps.caller(), deps.uow())


@blp.route("/companies/<company_id>/link-requests", methods=["POST"])
@blp.arguments(LinkRequestIn)
@blp.response(201, LinkRequestOut)
def request_link(data: dict[str, Any], company_id: str):
    """Ask to be linked to the company; the managers see your name, email and phone."""
    cmd = link_requests.RequestLink(company_id=company_id, **data)
    return link_requests.request_link(cmd, deps.caller(), deps.uow(), deps.directory())


@blp.route("/companies/<company_id>/link-requests", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, PendingPageOut)
def list_pending_requests(args: dict[str, Any], company_id: str):
    """Pending link requests with the contact details each requester shared (managers)."""
    return link_requests.list_pending_requests(company_id, args["limit"], args["offset"], deps.caller(),
                                               deps.uow())  # an admin's read is recorded: needs writing
