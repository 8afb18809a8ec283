"""Login, logout and the owner's sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask_smorest import Blueprint

from services.identity.api import schemas
from services.identity.api.cookies import (
    clear_session_cookie,
    consent_browser_id,
    device_from_cookie,
    set_device_cookie,
    set_session_cookie,
)
from services.identity.api.deps import container, read_uow, uow, user_agent
from services.identity.domain.errors import InvalidCredentials, Throttled
from services.identity.handlers import sessions
from shared import metrics
from shared.web.identity import current_identity, require_user

blp = Blueprint("sessions", __name__, description="Login sessions")


@blp.post("/sessions")
@blp.arguments(schemas.LoginIn)
@blp.response(200, schemas.LoginOut)
def login(body):
    c, ident = container(), current_identity()
    req = sessions.LoginRequest(email=body["email"], password=body["password"], user_agent=user_agent(),
                                client_ip=ident.client_ip, previous_session_id=ident.session_id,
                                browser_id=consent_browser_id(), device=device_from_cookie())
    with counted_login():
        result = sessions.login(uow(), c.hasher, c.counters, c.settings, req)
    set_session_cookie(result.token, c.settings.session_absolute_seconds)
    set_device_cookie(result.device, c.settings.device_cookie_seconds)
    return {"csrf_token": result.csrf_token, "session_id": result.session.id,
            "expires_at": result.session.expires_at, "user": result.user.profile()}


@contextmanager
def counted_login() -> Iterator[None]:
    """``portal_identity_logins_total{outcome}``: ok, failed (wrong address or password) or throttled."""
    try:
        yield
    except Throttled:
        metrics.LOGINS.labels("throttled").inc()
        raise
    except InvalidCredentials:
        metrics.LOGINS.labels("failed").inc()
        raise
    metrics.LOGINS.labels("ok").inc()


@blp.delete("/sessions/current")
@blp.response(204)
def logout():
    ident = require_user()
    sessions.logout(uow(), container().counters, ident.session_id, ident.user_id or "")
    clear_session_cookie()


@blp.get("/sessions")
@blp.response(200, schemas.SessionListOut)
def list_sessions():
    ident = require_user()
    return {"items": sessions.list_sessions(read_uow(), ident.user_id or "", ident.session_id)}


@blp.delete("/sessions/others")
@blp.response(200, schemas.RevokedOut)
def revoke_others():
    ident = require_user()
    return {"revoked": sessions.revoke_other_sessions(uow(), container().counters, ident.user_id or "",
                                                      ident.session_id)}


@blp.delete("/sessions/<string:session_id>")
@blp.response(204)
def revoke(session_id):
    ident = require_user()
    sessions.revoke_session(uow(), container().counters, ident.user_id or "", session_id)
    if session_id == ident.session_id:
        clear_session_cookie()
