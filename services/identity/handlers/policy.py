"""Policy versions: the one in force, publication, acceptances."""

from __future__ import annotations

from typing import Any

from services.identity.config import Settings
from services.identity.domain import mails
from services.identity.domain.errors import Invalid, NotFound, PolicyVersionExists, PolicyVersionNotCurrent
from services.identity.domain.model import PolicyVersion
from services.identity.handlers.mail import queue_mails
from services.identity.handlers.ports import Counters, IdentityUow
from shared import clock


def current_policy(uow: IdentityUow) -> PolicyVersion:
    with uow:
        policy = uow.policies.current()
    if policy is None:  # only if someone deleted the seeded version by hand
        raise NotFound("No policy has been published.")
    return policy


def policy_version(uow: IdentityUow, version: str) -> PolicyVersion:
    with uow:
        policy = uow.policies.get(version)
    if policy is None:
        raise NotFound("No such policy version.")
    return policy


def publish_policy(uow: IdentityUow, settings: Settings, counters: Counters, *, version: str, text: str,
                   reduces_rights: bool, actor: str = "system") -> PolicyVersion:
    """Put a new version in force and queue a notice to every account, in one transaction.

    A version that reduces rights gates every open session from now on: the gateway's session cache is
    dropped (epoch) so that no cached "nothing to accept" lets a request past the gate."""
    version = version.strip()
    if not version or len(version) > 64:
        raise Invalid("A version is 1 to 64 characters.", fields={"version": ["1 to 64 characters."]})
    if not text.strip():
        raise Invalid("The policy text is empty.", fields={"text": ["Must not be empty."]})
    with uow:
        if uow.policies.get(version) is not None:
            raise PolicyVersionExists(f"Policy version {version!r} already exists.")
        policy = uow.policies.add(version, reduces_rights, text, clock.now())
        uow.emit("identity.policy.published", subject=f"policy:{version}", actor=actor,
                 payload={"version": version, "reduces_rights": reduces_rights, "seq": policy.seq})
        notices = [(user_id, email, mails.policy_notice(settings.public_url, name, version, reduces_rights))
                   for user_id, email, name in uow.users.active_recipients()]
        queue_mails(uow, notices, subject=f"policy:{version}", policy_version=version)
        uow.commit()
    if reduces_rights:
        counters.bump_epoch()
    return policy


def accept_policy(uow: IdentityUow, counters: Counters, user_id: str, version: str) -> dict[str, Any]:
    """Accept the version in force (only that one: accepting an old text says nothing about today's).
    The gateway's session cache is dropped so the 428 gate lifts on the very next request."""
    with uow:
        current = uow.policies.current()
        if current is None or current.version != version:
            in_force = current.version if current else "-"
            raise PolicyVersionNotCurrent("Only the current policy version can be accepted.",
                                          fields={"version": [f"The current version is {in_force}."]})
        now = clock.now()
        if uow.policies.accept(user_id, version, now):
            uow.emit("identity.policy.accepted", subject=user_id, actor=user_id,
                     payload={"user_id": user_id, "version": version, "source": "explicit"})
            accepted_at = now
            newly = True
        else:
            accepted_at = next(at for v, at in uow.policies.accepted(user_id) if v == version)
            newly = False
        uow.commit()
    if newly:
        counters.bump_epoch()
    return {"version": version, "accepted_at": accepted_at}
