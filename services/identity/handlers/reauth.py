"""Recent re-authentication: what the weightiest requests (erasure, an export of everything, an email
change, staff role changes) need — the caller's session proved the password within ``reauth_seconds``."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.identity.config import Settings
from services.identity.domain.errors import ReauthRequired
from services.identity.handlers.ports import IdentityUow
from shared import clock


def check_recent_auth(uow: IdentityUow, settings: Settings, *, user_id: str, session_id: str | None,
                      now: datetime | None = None) -> None:
    """Inside the caller's unit of work: raise 428 ``reauth_required`` unless the session is recent enough."""
    moment = now or clock.now()
    session = uow.sessions.get(session_id) if session_id else None
    if (session is None or session.user_id != user_id or session.ended_at is not None
            or moment - session.auth_time > timedelta(seconds=settings.reauth_seconds)):
        raise ReauthRequired("Confirm your password first (POST /api/identity/reauth).")


def require_recent_auth(uow: IdentityUow, settings: Settings, *, user_id: str, session_id: str | None) -> None:
    """``check_recent_auth`` in a unit of work of its own (before a use case that opens its own)."""
    with uow:
        check_recent_auth(uow, settings, user_id=user_id, session_id=session_id)
