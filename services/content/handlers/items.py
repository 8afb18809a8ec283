"""Items: list what the caller may read, read one, create, update and unpublish."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from services.content.domain.collaterals import Collateral
from services.content.domain.errors import NotFound
from services.content.domain.items import Item, apply_changes, can_read, new_item
from services.content.handlers.common import Page, paginate, viewer_for
from services.content.handlers.ports import ContentUow, Cursor
from shared import clock


@dataclass(frozen=True)
class ItemDetail:
    item: Item
    collaterals: list[Collateral]


def _audience(item: Item) -> dict[str, Any]:
    return {"item_id": item.id, "visibility": item.visibility, "company_id": item.company_id}


def list_items(uow: ContentUow, filters: dict[str, Any], limit: int, cursor: Cursor | None) -> Page[Item]:
    with uow:
        viewer = viewer_for(uow)
        return paginate(uow.items.list_visible(viewer, filters, limit + 1, cursor), limit)


def view_item(uow: ContentUow, item_id: str, record: bool = True) -> ItemDetail:
    """One read of an item, recorded as ``content.item.viewed`` in the same transaction (``record``
    is false for a HEAD request, which shows nothing)."""
    with uow:
        item = uow.items.get(item_id)
        if item is None or not can_read(item, viewer_for(uow)):
            raise NotFound("No such item.")
        collaterals = uow.collaterals.for_item(item.id)
        if record:
            uow.emit("content.item.viewed", subject=f"item:{item.id}",
                     payload={**_audience(item), "title": item.title})
            uow.commit()
    return ItemDetail(item, collaterals)


def create_item(uow: ContentUow, data: dict[str, Any]) -> Item:
    with uow:
        item = new_item(str(uuid.uuid4()), data, uow.context.actor, clock.now())
        uow.items.add(item)
        uow.emit("content.item.created", subject=f"item:{item.id}", payload={
            **_audience(item), "title": item.title, "status": item.status})
        uow.commit()
    return item


def update_item(uow: ContentUow, item_id: str, changes: dict[str, Any]) -> ItemDetail:
    """Editors change any field, ``status: unpublished`` included; a no-op emits nothing."""
    with uow:
        item = uow.items.get(item_id)
        if item is None:
            raise NotFound("No such item.")
        updated, changed = apply_changes(item, changes, uow.context.actor, clock.now())
        if changed:
            uow.items.save(updated)
            uow.emit("content.item.updated", subject=f"item:{item.id}", payload={
                **_audience(updated), "status": updated.status, "changed": changed})
        collaterals = uow.collaterals.for_item(item.id)
        uow.commit()
    return ItemDetail(updated, collaterals)
