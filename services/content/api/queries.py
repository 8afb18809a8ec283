"""``/queries``: people ask and complain; support staff answer and run the complaint cases."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from services.content.api.deps import container, requires, uow
from services.content.api.pagination import encode_cursor
from services.content.api.schemas import (
    CaseUpdateSchema,
    EntrySchema,
    QueryCreateSchema,
    QueryDetailSchema,
    QueryListArgs,
    QueryPageSchema,
    QuerySchema,
    ReplyCreateSchema,
)
from services.content.domain.viewer import ADMIN, SUPPORT
from services.content.handlers import queries

blp = Blueprint("queries", __name__, description="Queries and complaints")


@blp.post("/queries")
@requires()
@blp.arguments(QueryCreateSchema)
@blp.response(201, QuerySchema)
def post_query(data: dict[str, Any]):
    return queries.post_query(uow(), data, container().settings.complaint_due_days)


@blp.get("/queries")
@requires()
@blp.arguments(QueryListArgs, location="query")
@blp.response(200, QueryPageSchema)
def list_queries(args: dict[str, Any]):
    limit, cursor = args.pop("limit"), args.pop("cursor")
    page = queries.list_queries(uow(), args, limit, cursor)
    return {"items": page.items, "next_cursor": encode_cursor(page.next_cursor)}


@blp.get("/queries/<query_id>")
@requires()
@blp.response(200, QueryDetailSchema)
def get_query(query_id: str):
    return queries.get_query(uow(), query_id)


@blp.post("/queries/<query_id>/replies")
@requires()
@blp.arguments(ReplyCreateSchema)
@blp.response(201, EntrySchema)
def reply(data: dict[str, Any], query_id: str):
    return queries.reply_to_query(uow(), query_id, data["body"])


@blp.patch("/queries/<query_id>")
@requires(SUPPORT, ADMIN)
@blp.arguments(CaseUpdateSchema)
@blp.response(200, QueryDetailSchema)
def update_case(changes: dict[str, Any], query_id: str):
    return queries.update_case(uow(), query_id, changes)

