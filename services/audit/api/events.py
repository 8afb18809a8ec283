"""Compliance search and streamed export of the server log store."""

from __future__ import annotations

from flask import Response, stream_with_context
from flask_smorest import Blueprint

from services.audit.api import schemas
from services.audit.api.deps import container, units
from services.audit.domain.search import EventFilter
from services.audit.handlers import search
from shared.web.identity import require_role

blp = Blueprint("events", __name__, description="Server log store: search and export (compliance)")
FILTERS = ("actor", "subject", "type", "correlation_id", "since", "until")
MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def event_filter(args: dict) -> EventFilter:
    return EventFilter(**{k: args.get(k) for k in FILTERS})


@blp.get("/events")
@blp.arguments(schemas.SearchArgs, location="query")
@blp.response(200, schemas.EventPage)
def search_events(args):
    require_role("compliance")
    page = search.search_events(units(), container().settings.cursor_key, event_filter(args),
                                limit=args["limit"], cursor=args.get("cursor"), order=args["order"])
    return page.to_dict()


@blp.get("/events/<int:seq>")
@blp.response(200, schemas.StoredEvent)
@blp.alt_response(404, description="No event has this seq (never stored, or removed by retention).")
def get_event(seq: int):
    require_role("compliance")
    return search.get_event(units(), seq)


@blp.get("/events/export")
@blp.arguments(schemas.ExportArgs, location="query")
@blp.response(200, description="The matching events, streamed (text/csv or application/x-ndjson).")
def export_events(args):
    require_role("compliance")
    fmt = args["format"]
    body = search.export_events(units(), event_filter(args), fmt)
    return Response(stream_with_context(body), mimetype=MEDIA[fmt].split(";")[0], headers={
        "Content-Type": MEDIA[fmt],
        "Content-Disposition": f'attachment; filename="audit-events.{fmt}"',
    })
