"""Mailed links: confirming an address, resetting a password."""

from __future__ import annotations

import time

from flask_smorest import Blueprint

from services.identity.api import schemas
from services.identity.api.deps import container, uow
from services.identity.handlers import email
from shared.web.identity import current_identity, require_user

blp = Blueprint("email", __name__, description="Email verification and password reset")

RESET_ANSWER = {"status": "accepted",
                "message": "If an account uses this address, a link to reset its password is on its way."}


@blp.post("/email/verify")
@blp.arguments(schemas.TokenIn)
@blp.response(200, schemas.UserOut)
def verify(body):
    return email.verify_email(uow(), body["token"])


@blp.post("/email/verification")
@blp.response(202, schemas.AcceptedOut)
def resend():
    ident = require_user()
    email.resend_verification(uow(), container().settings, ident.user_id or "")
    return {"status": "accepted", "message": "A new confirmation link is on its way."}


@blp.post("/password-resets")
@blp.arguments(schemas.ResetRequestIn)
@blp.response(202, schemas.AcceptedOut)
def request_reset(body):
    c, started = container(), time.monotonic()
    email.request_password_reset(uow(), c.counters, c.settings, body["email"])
    # The same answer, and no sooner for an unknown address: a mailed token costs writes a stranger could time.
    time.sleep(max(0.0, c.settings.reset_min_seconds - (time.monotonic() - started)))
    return RESET_ANSWER


@blp.post("/password-resets/confirm")
@blp.arguments(schemas.ResetConfirmIn)
@blp.response(200, schemas.ResetDoneOut)
def confirm_reset(body):
    c = container()
    ended = email.confirm_password_reset(uow(), c.hasher, c.counters, token=body["token"],
                                         password=body["password"], keep_session_id=current_identity().session_id)
    return {"sessions_ended": ended}
