"""Keeping the users projection from identity's events (run by the worker, in the inbox transaction)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.linking.domain.users import CONTACT_FIELDS, merge
from services.linking.handlers.ports import LinkingUow, Users
from shared.events import Event


def registered_changes(payload: Mapping[str, Any]) -> dict[str, str | None]:
    """A registration carries the whole profile: a missing phone means there is none."""
    return {f: payload.get(f) for f in CONTACT_FIELDS}


def updated_changes(payload: Mapping[str, Any]) -> dict[str, str | None]:
    """A correction names what ``changed`` (a phone changed to null was removed); the other values it
    carries are the profile as it stood, so they are applied when present, never as removals."""
    changed = set(payload.get("changed") or ())
    return {f: payload.get(f) for f in CONTACT_FIELDS if f in changed or payload.get(f) is not None}


def record_contact_details(users: Users, event: Event, changes: Mapping[str, str | None]) -> None:
    """Apply contact fields as known when the event occurred, unless the projection already holds
    something newer (events can arrive out of order)."""
    user_id = str(event.payload["user_id"])
    if users.erased(user_id):  # a late or replayed event must not bring an erased person back
        return
    as_of = datetime.fromisoformat(event.occurred_at)
    merged = merge(users.get(user_id), user_id, changes, as_of)
    if merged is not None:
        users.put(merged)


def user_registered(uow: LinkingUow, event: Event) -> None:
    with uow:
        record_contact_details(uow.users, event, registered_changes(event.payload))
        uow.commit()


def user_updated(uow: LinkingUow, event: Event) -> None:
    with uow:
        record_contact_details(uow.users, event, updated_changes(event.payload))
        uow.commit()
