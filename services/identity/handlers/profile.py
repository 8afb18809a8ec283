"""Re-authentication and the owner's corrections to their profile."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.identity.config import Settings
from services.identity.domain import mails
from services.identity.domain.errors import EmailTaken, NotAuthenticated, NotFound
from services.identity.domain.rules import check_password, normalize_email
from services.identity.handlers.accounts import get_profile
from services.identity.handlers.email import issue_token
from services.identity.handlers.mail import queue_mails
from services.identity.handlers.ports import Counters, IdentityUow, PasswordHasher
from services.identity.handlers.reauth import check_recent_auth
from services.identity.handlers.sessions import Device, check_password_guess, clear_guesses, end_user_sessions
from shared import clock

_UNSET: Any = object()


def reauthenticate(uow: IdentityUow, hasher: PasswordHasher, counters: Counters, settings: Settings, *,
                   user_id: str, session_id: str | None, password: str, client_ip: str,
                   device: Device | None = None) -> dict[str, Any]:
    """Prove the password again: the session counts as recently authenticated for a few minutes.
    Throttled like login (same per-account counter), so it is no side door for guessing."""
    if not session_id:
        raise NotAuthenticated("Log in to do this.")
    with uow:
        user = uow.users.get(user_id)
        session = uow.sessions.get(session_id)
    if user is None or session is None or session.user_id != user_id or session.ended_at is not None:
        raise NotAuthenticated("Log in to do this.")
    guess = check_password_guess(uow, hasher, counters, settings, user.email, password, client_ip, device)
    now = clock.now()
    with uow:
        clear_guesses(uow, guess.keys, now)
        uow.sessions.set_auth_time(session_id, now)
        uow.emit("identity.session.reauthenticated", subject=user_id,
                 payload={"user_id": user_id, "session_id": session_id})
        uow.commit()
    counters.bump_epoch()  # the gateway's cached auth_time is stale now
    return {"auth_time": now, "reauth_valid_until": now + timedelta(seconds=settings.reauth_seconds)}


def change_password(uow: IdentityUow, hasher: PasswordHasher, counters: Counters, settings: Settings, *, user_id: str,
                    session_id: str | None, current_password: str, new_password: str, client_ip: str,
                    device: Device | None = None) -> int:
    """The owner sets a new password by proving the current one (throttled like login). The session
    doing it stays and counts as freshly authenticated; every other session ends. Returns how many."""
    if not session_id:
        raise NotAuthenticated("Log in to do this.")
    check_password(new_password, "new_password")  # the same rules as at registration and reset
    with uow:
        user = uow.users.get(user_id)
        session = uow.sessions.get(session_id)
    if user is None or session is None or session.user_id != user_id or session.ended_at is not None:
        raise NotAuthenticated("Log in to do this.")
    guess = check_password_guess(uow, hasher, counters, settings, user.email, current_password, client_ip, device)
    new_hash = hasher.hash(new_password)
    now = clock.now()
    with uow:
        clear_guesses(uow, guess.keys, now)
        uow.users.update(user_id, password_hash=new_hash, password_changed_at=now, updated_at=now)
        uow.sessions.set_auth_time(session_id, now)
        ended = end_user_sessions(uow, user_id, "password_changed", keep=session_id)
        uow.emit("identity.password.changed", subject=user_id, actor=user_id,
                 payload={"user_id": user_id, "sessions_ended": ended})
        uow.commit()
    counters.bump_epoch()  # other sessions ended, and this one's auth_time moved
    return ended


def update_profile(uow: IdentityUow, settings: Settings, *, user_id: str, session_id: str | None,
                   name: Any = _UNSET, phone: Any = _UNSET, email: Any = _UNSET) -> dict[str, Any]:
    """Name and phone change at once. A new email needs a recent re-authentication (else 428
    ``reauth_required``, and nothing in the request is applied) and is only used once confirmed
    from the new mailbox; the old address is told about the request."""
    with uow:
        user = uow.users.get(user_id)
        if user is None or user.erased_at is not None:
            raise NotFound("No such account.")
        now = clock.now()
        new_email = None if email is _UNSET else normalize_email(email)
        if new_email == user.email:
            new_email = None
        if new_email is not None:
            check_recent_auth(uow, settings, user_id=user_id, session_id=session_id, now=now)
            other = uow.users.by_email(new_email)
            if other is not None:
                raise EmailTaken("An account with this email already exists.",
                                 fields={"email": ["Already registered."]})
        changes: dict[str, Any] = {}
        if name is not _UNSET and name.strip() != user.name:
            changes["name"] = name.strip()
        if phone is not _UNSET and (phone or None) != user.phone:
            changes["phone"] = phone or None
        if changes:
            uow.users.update(user_id, **changes, updated_at=now)
            after = {"name": user.name, "email": user.email, "phone": user.phone, **changes}
            uow.emit("identity.user.updated", subject=user_id,
                     payload={"user_id": user_id, "changed": sorted(changes), **after})
        if new_email is not None:
            issue_token(uow, settings, user, "change_email", new_email)
            queue_mails(uow, [(user_id, user.email, mails.email_change_notice(user.name, new_email))],
                        subject=user_id)
        uow.commit()
    return get_profile(uow, user_id)
