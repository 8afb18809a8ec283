"""Public, k-anonymous usage trends."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.audit.api import schemas
from services.audit.api.deps import container, units
from services.audit.handlers import compliance

blp = Blueprint("trends", __name__, description="Aggregated, k-anonymous usage trends (anyone)")


@blp.get("/trends")
@blp.arguments(schemas.TrendArgs, location="query")
@blp.response(200, schemas.TrendsOut)
def trends(args):
    # Open to anyone: only groups of at least k distinct people are ever shown.
    return compliance.usage_trends(units(), container().settings.trends_k, args.get("from_"), args.get("to"))
