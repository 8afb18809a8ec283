"""Mailed single-use tokens: email verification (at registration and on change) and password reset."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from services.identity.config import Settings
from services.identity.domain import mails
from services.identity.domain.errors import AlreadyVerified, EmailTaken, NotFound, TokenInvalid
from services.identity.domain.model import EmailToken, User
from services.identity.domain.rules import check_password, new_token, normalize_email, token_hash
from services.identity.handlers.mail import queue_mails
from services.identity.handlers.ports import Counters, IdentityUow, PasswordHasher
from services.identity.handlers.sessions import end_user_sessions, throttle_key
from shared import clock

log = logging.getLogger("portal.identity")


def issue_token(uow: IdentityUow, settings: Settings, user: User, purpose: str, address: str) -> str:
    """Create a token (older unused ones of the same purpose stop working) and queue its mail."""
    now = clock.now()
    seconds = settings.reset_token_seconds if purpose == "reset_password" else settings.verify_token_seconds
    token = new_token()
    uow.tokens.supersede(user.id, purpose, now)
    uow.tokens.add(EmailToken(id=str(uuid.uuid4()), user_id=user.id, purpose=purpose, token_hash=token_hash(token),
                              created_at=now, expires_at=now + timedelta(seconds=seconds), new_email=address))
    if purpose == "reset_password":
        draft = mails.password_reset(settings.public_url, user.name, token, seconds // 60)
        uow.emit("identity.password.reset_requested", subject=user.id,
                 payload={"user_id": user.id, "expires_at": clock.isoformat(now + timedelta(seconds=seconds))})
    else:
        build = mails.verify_email if purpose == "verify_email" else mails.change_email
        draft = build(settings.public_url, user.name, token, seconds // 3600)
        uow.emit("identity.email.verification_requested", subject=user.id,
                 payload={"user_id": user.id, "purpose": purpose,
                          "expires_at": clock.isoformat(now + timedelta(seconds=seconds))})
    queue_mails(uow, [(user.id, address, draft)], subject=user.id)
    return token


def _take(uow: IdentityUow, token: str, purposes: tuple[str, ...]) -> EmailToken:
    """The token if it is known, of the right kind, unused and unexpired — marked used (single use)."""
    found = uow.tokens.by_hash(token_hash(token))
    if (found is None or found.purpose not in purposes or found.used_at is not None
            or found.expires_at <= clock.now() or not uow.tokens.use(found.id, clock.now())):
        raise TokenInvalid("This link is invalid, used or expired. Ask for a new one.")
    return found


def verify_email(uow: IdentityUow, token: str) -> dict[str, Any]:
    """Confirm an address: the registered one, or a new one that then replaces the old."""
    with uow:
        found = _take(uow, token, ("verify_email", "change_email"))
        user = uow.users.get(found.user_id)
        if user is None or user.erased_at is not None:
            raise TokenInvalid("This link is invalid, used or expired. Ask for a new one.")
        now = clock.now()
        profile = {**user.profile(), "email_verified": True}
        if found.purpose == "verify_email":
            if found.new_email != user.email:  # the address changed since this mail was sent
                raise TokenInvalid("This link is invalid, used or expired. Ask for a new one.")
            uow.users.update(user.id, email_verified=True, updated_at=now)
            uow.emit("identity.email.verified", subject=user.id, payload={"user_id": user.id, "email": user.email})
        else:
            new_email = found.new_email or ""
            other = uow.users.by_email(new_email)
            if other is not None and other.id != user.id:
                raise EmailTaken("Another account uses this address now.", fields={"email": ["Already registered."]})
            uow.users.update(user.id, email=new_email, email_verified=True, updated_at=now)
            profile["email"] = new_email
            uow.emit("identity.email.verified", subject=user.id,
                     payload={"user_id": user.id, "email": new_email, "previous_email": user.email})
            uow.emit("identity.user.updated", subject=user.id,
                     payload={"user_id": user.id, "changed": ["email"], "name": user.name, "email": new_email,
                              "phone": user.phone})
        uow.commit()
    return profile


def resend_verification(uow: IdentityUow, settings: Settings, user_id: str) -> None:
    with uow:
        user = uow.users.get(user_id)
        if user is None:
            raise NotFound("No such account.")
        if user.email_verified:
            raise AlreadyVerified("Your address is already confirmed.")
        issue_token(uow, settings, user, "verify_email", user.email)
        uow.commit()


def request_password_reset(uow: IdentityUow, counters: Counters, settings: Settings, email: str) -> None:
    """Mail a reset link if the address has an account, at most ``reset_limit`` times per address per window
    (counted for every address, known or not); the caller answers the same either way."""
    address = normalize_email(email)
    if counters.count_address_mail(throttle_key(address), settings.reset_window) > settings.reset_limit:
        log.info("password reset for %s not mailed: over the per-address limit", throttle_key(address)[:12])
        return
    with uow:
        user = uow.users.by_email(address)
        if user is not None and user.erased_at is None:
            issue_token(uow, settings, user, "reset_password", user.email)
            uow.commit()


def confirm_password_reset(uow: IdentityUow, hasher: PasswordHasher, counters: Counters, *, token: str, password: str,
                           keep_session_id: str | None = None) -> int:
    """Set a new password with a mailed token. Every other session ends (whoever stole one loses it),
    the guessing counter is cleared (this is how a locked account is unlocked), and the address counts
    as confirmed (the token came through it). Returns how many sessions ended."""
    check_password(password)
    with uow:  # refuse a bad token before spending a hash on it
        found = uow.tokens.by_hash(token_hash(token))
        if found is None or found.purpose != "reset_password" or found.used_at or found.expires_at <= clock.now():
            raise TokenInvalid("This link is invalid, used or expired. Ask for a new one.")
    new_hash = hasher.hash(password)
    with uow:
        found = _take(uow, token, ("reset_password",))
        user = uow.users.get(found.user_id)
        if user is None or user.erased_at is not None:
            raise TokenInvalid("This link is invalid, used or expired. Ask for a new one.")
        now = clock.now()
        uow.users.update(user.id, password_hash=new_hash, password_changed_at=now, updated_at=now,
                         email_verified=True)
        keep = keep_session_id if keep_session_id and _owned(uow, keep_session_id, user.id) else None
        ended = end_user_sessions(uow, user.id, "password_reset", keep=keep)
        uow.throttle.clear((throttle_key(user.email),), now)
        uow.emit("identity.password.reset", subject=user.id, actor=user.id,
                 payload={"user_id": user.id, "sessions_ended": ended})
        uow.commit()
    if ended:
        counters.bump_epoch()
    return ended


def _owned(uow: IdentityUow, session_id: str, user_id: str) -> bool:
    session = uow.sessions.get(session_id)
    return session is not None and session.user_id == user_id and session.ended_at is None
