"""Registration and the owner's profile."""

from __future__ import annotations

import uuid
from typing import Any

from services.identity.config import Settings
from services.identity.domain.errors import EmailTaken, NotFound
from services.identity.domain.model import User
from services.identity.domain.rules import check_password, normalize_email
from services.identity.handlers.email import issue_token
from services.identity.handlers.ports import PasswordHasher
from shared import clock
from shared.uow import RecordConflict


def register(uow: Any, hasher: PasswordHasher, settings: Settings, *, name: str, email: str,
             phone: str | None, password: str) -> User:
    """Create an account and mail a link to confirm its address; registering accepts the policy in force."""
    check_password(password)
    email = normalize_email(email)
    with uow:  # a cheap early answer for a taken address, before the costly hash
        if uow.users.by_email(email) is not None:
            raise EmailTaken("An account with this email already exists.", fields={"email": ["Already registered."]})
    password_hash = hasher.hash(password)
    now = clock.now()
    user = User(id=str(uuid.uuid4()), name=name.strip(), email=email, phone=phone or None,
                password_hash=password_hash, email_verified=False, created_at=now, updated_at=now,
                password_changed_at=now)
    try:
        with uow:
            if uow.users.by_email(email) is not None:
                raise EmailTaken("An account with this email already exists.",
                                 fields={"email": ["Already registered."]})
            uow.users.add(user)
            uow.emit("identity.user.registered", subject=user.id, actor=user.id,
                     payload={"user_id": user.id, "name": user.name, "email": user.email, "phone": user.phone})
            policy = uow.policies.current()
            if policy is not None:
                uow.policies.accept(user.id, policy.version, now)
                uow.emit("identity.policy.accepted", subject=user.id, actor=user.id,
                         payload={"user_id": user.id, "version": policy.version, "source": "registration"})
            issue_token(uow, settings, user, "verify_email", user.email)
            uow.commit()
    except RecordConflict as exc:  # two registrations of one address raced; the loser gets the same 409
        raise EmailTaken("An account with this email already exists.",
                         fields={"email": ["Already registered."]}) from exc
    return user


def get_profile(uow: Any, user_id: str) -> dict[str, Any]:
    with uow:
        user = uow.users.get(user_id)
        if user is None or user.erased_at is not None:
            raise NotFound("No such account.")
        profile = user.profile()
        profile["roles"] = sorted(user.roles)
        profile["created_at"] = user.created_at
        profile["pending_email"] = uow.tokens.pending_email(user_id, clock.now())
        return profile
