"""The membership projection, kept from linking's events (content never reads linking's database)."""

from __future__ import annotations

from datetime import datetime

from services.content.domain.memberships import Membership, supersedes
from services.content.domain.privacy import erasure_key
from services.content.handlers.ports import ContentUow, Erasures, Memberships
from shared.events import Event


def _pair(event: Event) -> tuple[str, str, datetime]:
    try:
        company_id, user_id = str(event.payload["company_id"]), str(event.payload["user_id"])
    except KeyError as exc:  # a malformed event must fail loudly: retried, then dead-lettered
        raise ValueError(f"{event.type} {event.event_id} has no {exc.args[0]}") from exc
    return company_id, user_id, datetime.fromisoformat(event.occurred_at)


def _apply(memberships: Memberships, erasures: Erasures, event: Event, active: bool) -> None:
    company_id, user_id, occurred_at = _pair(event)
    if erasures.contains(erasure_key(user_id)):
        # The person was erased: a membership event that arrives later (a retry, linking's own
        # erasure removing them) must not write their id back into the projection.
        return
    if supersedes(memberships.get(company_id, user_id), occurred_at):
        memberships.save(Membership(company_id, user_id, active, occurred_at))


def member_added(uow: ContentUow, event: Event) -> None:
    with uow:
        _apply(uow.memberships, uow.erasures, event, active=True)
        uow.commit()


def member_removed(uow: ContentUow, event: Event) -> None:
    """Takes company content away at once: the next request reads the projection."""
    with uow:
        _apply(uow.memberships, uow.erasures, event, active=False)
        uow.commit()
