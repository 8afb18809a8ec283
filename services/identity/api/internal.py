"""Service-to-service routes (never routed by the gateway): session resolution, contact details."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.identity import handlers
from services.identity.api import schemas
from services.identity.api.deps import container, read_uow, uow
from services.identity.handlers import sessions
from shared.web.app import changes_nothing
from shared.web.identity import require_system

blp = Blueprint("internal", __name__, description="Internal (gateway only)")


@blp.post("/internal/sessions/resolve")
@changes_nothing  # a POST only so the session token stays out of URLs and logs
@blp.arguments(schemas.ResolveIn)
@blp.response(200, schemas.ResolveOut)
def resolve(body):
    require_system()
    c = container()
    return sessions.resolve_session(uow(), read_uow(), c.counters, c.settings, body["token"])


@blp.get("/internal/users/<string:user_id>")
@blp.response(200, schemas.UserOut)
def user_contact(user_id):
    """A person's contact details for another service's projection (linking, when its copy lacks
    someone); 404 for unknown or erased accounts."""
    require_system()
    return handlers.get_profile(read_uow(), user_id)
