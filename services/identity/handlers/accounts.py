"""Registration and the owner's profile."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from services.identity.config import Settings
from services.identity.domain import mails
from services.identity.domain.errors import NotFound
from services.identity.domain.model import User
from services.identity.domain.rules import check_password, normalize_email, token_hash
from services.identity.handlers.email import issue_token
from services.identity.handlers.mail import queue_mails
from services.identity.handlers.ports import Counters, IdentityUow, PasswordHasher
from shared import clock
from shared.uow import RecordConflict

log = logging.getLogger("portal.identity")


def register(uow: IdentityUow, hasher: PasswordHasher, settings: Settings, *, name: str, email: str,
             phone: str | None, password: str, counters: Counters | None = None) -> User:
    """Create an account and mail a link to confirm its address; registering accepts the policy in force.

    An address that already has an account gets the same answer (a profile with a fresh id that names no
    account) after the same work (the password is hashed either way), and its owner gets a mail saying
    someone tried — at most ``reset_limit`` per address per window when ``counters`` counts them — so a
    stranger cannot learn from registering whether an address is someone's account."""
    check_password(password)
    email = normalize_email(email)
    password_hash = hasher.hash(password)  # before looking: both answers cost this hash
    now = clock.now()
    user = User(id=str(uuid.uuid4()), name=name.strip(), email=email, phone=phone or None,
                password_hash=password_hash, email_verified=False, created_at=now, updated_at=now,
                password_changed_at=now)
    try:
        with uow:
            owner = uow.users.by_email(email)
            if owner is None:
                _create(uow, settings, user, now)
            elif owner.erased_at is None and _may_mail(counters, settings, email):
                queue_mails(uow, [(owner.id, owner.email, mails.registration_attempt(settings.public_url, owner.name))],
                            subject=owner.id)
            uow.commit()
    except RecordConflict:  # two registrations of one address raced: the loser is answered alike, unmailed
        log.info("registration raced another one for the same address")
    return user


def _create(uow: IdentityUow, settings: Settings, user: User, now: Any) -> None:
    uow.users.add(user)
    uow.emit("identity.user.registered", subject=user.id, actor=user.id,
             payload={"user_id": user.id, "name": user.name, "email": user.email, "phone": user.phone})
    policy = uow.policies.current()
    if policy is not None:
        uow.policies.accept(user.id, policy.version, now)
        uow.emit("identity.policy.accepted", subject=user.id, actor=user.id,
                 payload={"user_id": user.id, "version": policy.version, "source": "registration"})
    issue_token(uow, settings, user, "verify_email", user.email)


def _may_mail(counters: Counters | None, settings: Settings, email: str) -> bool:
    """Whether the owner of an address may get one more "someone tried to register" mail in this window."""
    if counters is None:
        return True
    key = token_hash("registration-attempt:" + email)
    return counters.count_address_mail(key, settings.reset_window) <= settings.reset_limit


def get_profile(uow: IdentityUow, user_id: str) -> dict[str, Any]:
    with uow:
        user = uow.users.get(user_id)
        if user is None or user.erased_at is not None:
            raise NotFound("No such account.")
        profile = user.profile()
        profile["roles"] = sorted(user.roles)
        profile["created_at"] = user.created_at
        profile["pending_email"] = uow.tokens.pending_email(user_id, clock.now())
        return profile
