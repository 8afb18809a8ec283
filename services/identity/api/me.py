"""The owner's own account: read, correct, re-authenticate."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.identity import handlers
from services.identity.api import schemas
from services.identity.api.cookies import device_from_cookie
from services.identity.api.deps import container, read_uow, uow
from services.identity.handlers import profile
from shared.web.identity import require_user

blp = Blueprint("me", __name__, description="My account")


@blp.get("/me")
@blp.response(200, schemas.MeOut)
def me():
    ident = require_user()
    return handlers.get_profile(read_uow(), ident.user_id or "")


@blp.patch("/me")
@blp.arguments(schemas.ProfilePatchIn)
@blp.response(200, schemas.MeOut)
def correct(body):
    ident = require_user()
    return profile.update_profile(uow(), container().settings, user_id=ident.user_id or "",
                                  session_id=ident.session_id, **body)


@blp.post("/reauth")
@blp.arguments(schemas.ReauthIn)
@blp.response(200, schemas.ReauthOut)
def reauth(body):
    ident, c = require_user(), container()
    return profile.reauthenticate(uow(), c.hasher, c.counters, c.settings, user_id=ident.user_id or "",
                                  session_id=ident.session_id, password=body["password"],
                                  client_ip=ident.client_ip, device=device_from_cookie())


@blp.post("/password")
@blp.arguments(schemas.PasswordChangeIn)
@blp.response(200, schemas.PasswordChangedOut)
def change_password(body):
    ident, c = require_user(), container()
    ended = profile.change_password(uow(), c.hasher, c.counters, c.settings, user_id=ident.user_id or "",
                                    session_id=ident.session_id, current_password=body["current_password"],
                                    new_password=body["new_password"], client_ip=ident.client_ip,
                                    device=device_from_cookie())
    return {"sessions_ended": ended}
