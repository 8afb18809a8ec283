"""Staff roles and the need-to-know read of someone else's personal data."""

from __future__ import annotations

from typing import Any

from services.identity.domain.errors import EmailUnverified, Invalid, NotFound
from services.identity.domain.rules import check_role, normalize_email
from services.identity.handlers.ports import Counters, IdentityUow
from services.identity.handlers.sessions import end_user_sessions
from shared import clock


def _find(uow: IdentityUow, *, user_id: str | None = None, email: str | None = None) -> Any:
    user = uow.users.get(user_id) if user_id else uow.users.by_email(normalize_email(email or ""))
    if user is None or user.erased_at is not None:
        raise NotFound(f"No account with {'id ' + user_id if user_id else 'email ' + repr(email)}.")
    return user


def grant_role(uow: IdentityUow, counters: Counters, *, role: str, granted_by: str, user_id: str | None = None,
               email: str | None = None, confirmed_only: bool = True) -> tuple[str, bool]:
    """Give a staff role. Gaining privileges ends the person's open sessions, so the privileges only
    ever belong to a session id issued after the change (no fixated session gains them).
    Only to a confirmed address (409 ``email_unverified``): anyone can register someone else's address,
    and a role granted to the address an administrator knows must reach its owner, not whoever typed it
    first. ``confirmed_only=False`` is the operator vouching for the person (``portal grant-role
    --unconfirmed``). Returns ``(user_id, changed)``."""
    check_role(role)
    with uow:
        user = _find(uow, user_id=user_id, email=email)
        if confirmed_only and not user.email_verified:
            raise EmailUnverified(
                "This person has not confirmed their email address yet; a role goes only to a confirmed one.",
                fields={"email": ["Not confirmed yet: they must open the link we mailed them first."]})
        changed = uow.users.add_role(user.id, role, clock.now(), granted_by)
        if changed:
            uow.emit("identity.role.granted", subject=user.id,
                     payload={"user_id": user.id, "role": role, "granted_by": granted_by})
            end_user_sessions(uow, user.id, "privilege_change")
        uow.commit()
    if changed:
        counters.bump_epoch()
    return user.id, changed


def revoke_role(uow: IdentityUow, counters: Counters, *, role: str, revoked_by: str, user_id: str | None = None,
                email: str | None = None) -> tuple[str, bool]:
    """Take a staff role away; sessions stay, but the gateway drops its cache so it applies at once."""
    check_role(role)
    with uow:
        user = _find(uow, user_id=user_id, email=email)
        changed = uow.users.remove_role(user.id, role)
        if changed:
            uow.emit("identity.role.revoked", subject=user.id,
                     payload={"user_id": user.id, "role": role, "revoked_by": revoked_by})
        uow.commit()
    if changed:
        counters.bump_epoch()
    return user.id, changed


PII_FIELDS = ("name", "email", "phone", "email_verified", "created_at")


def read_user_for_staff(uow: IdentityUow, *, accessor_id: str, subject_user_id: str, reason: str) -> dict[str, Any]:
    """Support or admin reads a person's data: only with a stated reason, and the read is recorded as
    an event about that person (subject = the person), so they can see it in their access history."""
    reason = reason.strip()
    if len(reason) < 3:
        raise Invalid("Say why you need this person's data.", fields={"reason": ["At least 3 characters."]})
    with uow:
        user = _find(uow, user_id=subject_user_id)
        uow.emit("identity.pii.accessed", subject=user.id, actor=accessor_id,
                 payload={"accessor_id": accessor_id, "subject_user_id": user.id, "reason": reason[:500],
                          "fields": list(PII_FIELDS)})
        uow.commit()
    data = user.profile()
    data["created_at"] = user.created_at
    data["roles"] = sorted(user.roles)
    return data
