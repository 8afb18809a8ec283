"""Service-to-service routes (the gateway never routes ``/internal/...``)."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.linking.api import context as ctx
from services.linking.handlers import privacy
from shared.web.errors import Invalid
from shared.web.identity import require_system

blp = Blueprint("internal", __name__, description="Internal (other services only)")


@blp.route("/internal/privacy/users/<user_id>/export", methods=["GET"])
@blp.response(200)
def export_person(user_id: str):
    """identity's pull of linking's section of a person's export; any id answers (linking may know
    nothing about someone: an empty section, never a 404 that would look like linking being down)."""
    require_system()
    if len(user_id) > 64 or "\x00" in user_id:
        raise Invalid("Some fields are invalid.", fields={"user_id": ["Not a user id."]})
    return {"service": "linking", "data": privacy.export_person(user_id, ctx.reader())}
