"""Content items and who may read them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.content.domain.errors import InvalidInput
from services.content.domain.viewer import Viewer


class Visibility(StrEnum):
    PUBLIC = "public"  # anyone, logged in or not
    USERS = "users"  # any logged-in person
    COMPANY = "company"  # members of ``company_id`` only


class ItemStatus(StrEnum):
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"


EDITABLE = ("title", "body", "visibility", "company_id", "status")


@dataclass(frozen=True)
class Item:
    id: str
    title: str
    body: str
    visibility: str
    company_id: str | None
    status: str
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


def check_audience(visibility: str, company_id: str | None) -> None:
    """``company_id`` is required for company visibility and meaningless otherwise."""
    if visibility == Visibility.COMPANY and not company_id:
        raise InvalidInput("A company item needs its company.",
                           {"company_id": ["Required when visibility is company."]})
    if visibility != Visibility.COMPANY and company_id:
        raise InvalidInput("Only company items belong to a company.",
                           {"company_id": ["Only allowed when visibility is company."]})


def can_read(item: Item, viewer: Viewer) -> bool:
    """The one visibility rule; ``ItemRepository.list_visible`` says the same thing in SQL."""
    if viewer.is_editor:
        return True  # editors manage every item, published or not
    if item.status != ItemStatus.PUBLISHED:
        return False
    if item.visibility == Visibility.PUBLIC:
        return True
    if item.visibility == Visibility.USERS:
        return viewer.logged_in
    return viewer.logged_in and item.company_id in viewer.company_ids


def new_item(item_id: str, data: dict[str, Any], actor: str, now: datetime) -> Item:
    visibility = data["visibility"]
    company_id = data.get("company_id")
    check_audience(visibility, company_id)
    return Item(id=item_id, title=data["title"], body=data.get("body", ""), visibility=visibility,
                company_id=company_id if visibility == Visibility.COMPANY else None,
                status=data.get("status", ItemStatus.PUBLISHED), created_by=actor, created_at=now,
                updated_by=actor, updated_at=now)


def apply_changes(item: Item, changes: dict[str, Any], actor: str, now: datetime) -> tuple[Item, list[str]]:
    """The item after a partial update, and the names of the fields that really changed.

    Moving an item away from company visibility drops its company, so an editor need not send
    ``company_id: null`` alongside ``visibility: users``.
    """
    merged = {name: getattr(item, name) for name in EDITABLE}
    merged.update({k: v for k, v in changes.items() if k in EDITABLE})
    if "visibility" in changes and changes["visibility"] != Visibility.COMPANY and "company_id" not in changes:
        merged["company_id"] = None
    check_audience(merged["visibility"], merged["company_id"])
    changed = [name for name in EDITABLE if merged[name] != getattr(item, name)]
    if not changed:
        return item, []
    return replace(item, **merged, updated_by=actor, updated_at=now), changed
