"""Administrators' routes for the portal's staff pages: staff roles by email, publishing a policy
version (the same use case as ``portal policy publish``), and the list of versions (open to anyone)."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from services.identity.api import schemas
from services.identity.api.admin_schemas import GrantByEmailIn, PolicyVersionsOut, PublishPolicyIn, StaffListOut
from services.identity.api.deps import container, read_uow, uow
from services.identity.handlers import admin, get_profile, publish_policy
from services.identity.handlers.reauth import require_recent_auth
from shared.web.identity import require_role

blp = Blueprint("admin", __name__, description="Staff roles and policy versions (administrators)")

_OPEN = {"admin.policy_versions"}


@blp.before_request
def _authorize() -> None:
    """The role is checked before the body is read: a caller who may not do this never gets a
    validation report."""
    if request.endpoint not in _OPEN:
        require_role("admin")


@blp.get("/staff")
@blp.response(200, StaffListOut)
def staff():
    ident = require_role("admin")
    return {"items": admin.list_staff(uow(), accessor_id=ident.user_id or "")}


@blp.post("/staff/roles")
@blp.arguments(GrantByEmailIn)
@blp.response(200, schemas.RolesOut)
def grant_by_email(body):
    ident = require_role("admin")
    require_recent_auth(read_uow(), container().settings, user_id=ident.user_id or "", session_id=ident.session_id)
    user_id, _ = admin.grant_role_by_email(uow(), container().counters, email=body["email"], role=body["role"],
                                           granted_by=ident.user_id or "")
    return {"user_id": user_id, "roles": get_profile(read_uow(), user_id)["roles"]}


@blp.get("/policy/versions")
@blp.response(200, PolicyVersionsOut)
def policy_versions():
    return {"items": admin.list_policy_versions(read_uow())}


@blp.post("/policy/versions")
@blp.arguments(PublishPolicyIn)
@blp.response(201, schemas.PolicyTextOut)
def publish(body):
    ident = require_role("admin")
    c = container()
    return publish_policy(uow(), c.settings, c.counters, version=body["version"], text=body["text"],
                          reduces_rights=body["reduces_rights"], actor=ident.user_id or "")
