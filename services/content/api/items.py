"""``/items``: anyone lists and reads what they may see; editors create, update and unpublish."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import request
from flask_smorest import Blueprint

from services.content.api.deps import read_uow, requires, uow
from services.content.api.pagination import encode_cursor
from services.content.api.schemas import (
    ItemCreateSchema,
    ItemDetailSchema,
    ItemListArgs,
    ItemPageSchema,
    ItemSchema,
    ItemUpdateSchema,
)
from services.content.domain.viewer import EDITOR
from services.content.handlers import items

blp = Blueprint("items", __name__, description="Content items")


def _detail(found: items.ItemDetail) -> dict[str, Any]:
    return {**asdict(found.item), "collaterals": [asdict(c) for c in found.collaterals]}


@blp.get("/items")
@blp.arguments(ItemListArgs, location="query")
@blp.response(200, ItemPageSchema)
def list_items(args: dict[str, Any]):
    limit, cursor = args.pop("limit"), args.pop("cursor")
    page = items.list_items(read_uow(), args, limit, cursor)
    return {"items": page.items, "next_cursor": encode_cursor(page.next_cursor)}


@blp.get("/items/<item_id>")
@blp.response(200, ItemDetailSchema)
def get_item(item_id: str):
    return _detail(items.view_item(uow(), item_id, record=request.method != "HEAD"))


@blp.post("/items")
@requires(EDITOR)
@blp.arguments(ItemCreateSchema)
@blp.response(201, ItemSchema)
def create_item(data: dict[str, Any]):
    return items.create_item(uow(), data)


@blp.patch("/items/<item_id>")
@requires(EDITOR)
@blp.arguments(ItemUpdateSchema)
@blp.response(200, ItemDetailSchema)
def update_item(changes: dict[str, Any], item_id: str):
    return _detail(items.update_item(uow(), item_id, changes))
