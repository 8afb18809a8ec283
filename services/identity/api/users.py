"""Registration, and need-to-know access to other people's accounts by staff."""

from __future__ import annotations

import time

from flask_smorest import Blueprint

from services.identity import handlers
from services.identity.api import schemas
from services.identity.api.deps import container, read_uow, uow
from services.identity.handlers import staff
from services.identity.handlers.reauth import require_recent_auth
from shared.web.identity import require_role

blp = Blueprint("users", __name__, description="Accounts")


@blp.post("/users")
@blp.arguments(schemas.RegisterIn)
@blp.response(201, schemas.UserOut)
def register(body):
    """201 and a profile for any valid request, whether or not the address already had an account."""
    c, started = container(), time.monotonic()
    user = handlers.register(uow(), c.hasher, c.settings, **body, counters=c.counters)
    # no sooner for one outcome than the other: the two write different rows
    time.sleep(max(0.0, c.settings.register_min_seconds - (time.monotonic() - started)))
    return user.profile()


@blp.get("/users/<string:user_id>")
@blp.arguments(schemas.StaffUserQuery, location="query")
@blp.response(200, schemas.StaffUserOut)
def read_user(query, user_id):
    ident = require_role("support", "admin")
    return staff.read_user_for_staff(uow(), accessor_id=ident.user_id or "", subject_user_id=user_id,
                                     reason=query["reason"])


@blp.get("/users/<string:user_id>/roles")
@blp.response(200, schemas.RolesOut)
def list_roles(user_id):
    require_role("admin")
    profile = handlers.get_profile(read_uow(), user_id)
    return {"user_id": user_id, "roles": profile["roles"]}


@blp.post("/users/<string:user_id>/roles")
@blp.arguments(schemas.RoleIn)
@blp.response(200, schemas.RolesOut)
def grant(body, user_id):
    ident = require_role("admin")
    require_recent_auth(read_uow(), container().settings, user_id=ident.user_id or "", session_id=ident.session_id)
    handlers.grant_role(uow(), container().counters, role=body["role"], granted_by=ident.user_id or "",
                        user_id=user_id)
    return {"user_id": user_id, "roles": handlers.get_profile(read_uow(), user_id)["roles"]}


@blp.delete("/users/<string:user_id>/roles/<string:role>")
@blp.response(200, schemas.RolesOut)
def revoke(user_id, role):
    ident = require_role("admin")
    require_recent_auth(read_uow(), container().settings, user_id=ident.user_id or "", session_id=ident.session_id)
    handlers.revoke_role(uow(), container().counters, role=role, revoked_by=ident.user_id or "", user_id=user_id)
    return {"user_id": user_id, "roles": handlers.get_profile(read_uow(), user_id)["roles"]}


@blp.delete("/users/<string:user_id>/sessions")
@blp.response(200, schemas.RevokedOut)
def revoke_all(user_id):
    require_role("admin")
    from services.identity.handlers.sessions import revoke_all_sessions

    return {"revoked": revoke_all_sessions(uow(), container().counters, user_id)}
