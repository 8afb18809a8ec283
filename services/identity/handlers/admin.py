"""What administrators do through the web: see who holds staff roles, grant one by email, see the
policy's versions (publishing is ``policy.publish_policy``, shared with ``portal policy publish``)."""

from __future__ import annotations

from typing import Any

from services.identity.domain.errors import Invalid, NotFound
from services.identity.domain.model import PolicyVersion
from services.identity.handlers.ports import Counters, IdentityUow
from services.identity.handlers.staff import grant_role

STAFF_FIELDS = ("name", "email")


def list_staff(uow: IdentityUow, *, accessor_id: str) -> list[dict[str, Any]]:
    """Everyone holding a staff role, with name, email and roles.

    Staff are people too: an administrator reading a colleague's name and email is a staff read of
    personal data, recorded as ``identity.pii.accessed`` about each person shown (the reader's own row
    excepted), so it shows in that person's access history like any other."""
    with uow:
        people = uow.users.with_roles()
        for user in people:
            if user.id != accessor_id:
                uow.emit("identity.pii.accessed", subject=user.id, actor=accessor_id,
                         payload={"accessor_id": accessor_id, "subject_user_id": user.id, "reason": "staff_roles",
                                  "fields": list(STAFF_FIELDS)})
        uow.commit()
    return [{"user_id": u.id, "name": u.name, "email": u.email, "roles": sorted(u.roles)} for u in people]


def grant_role_by_email(uow: IdentityUow, counters: Counters, *, email: str, role: str,
                        granted_by: str) -> tuple[str, bool]:
    """``grant_role`` for a form: an unknown address is a field error on ``email`` (422), not a 404,
    so the page can show it next to the field."""
    try:
        return grant_role(uow, counters, role=role, granted_by=granted_by, email=email)
    except NotFound:
        raise Invalid("No account has this email address.",
                      fields={"email": ["No account has this email address."]}) from None


def list_policy_versions(uow: IdentityUow) -> list[PolicyVersion]:
    """Every published version, newest first (the history a visitor and an administrator see)."""
    with uow:
        return uow.policies.all()
