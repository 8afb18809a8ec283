"""``/internal/privacy``: identity collects what content holds about a person (privacy export).

Only another service may call it (``require_system``); the gateway never routes ``/internal``.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from services.content.api.context import uow
from services.content.api.schemas import PersonalExportSchema
from services.content.domain.privacy import MAX_ID
from services.content.handlers import privacy
from shared.web.errors import Invalid
from shared.web.identity import require_system

blp = Blueprint("privacy", __name__, description="Privacy requests (internal)")


@blp.get("/internal/privacy/users/<user_id>/export")
@blp.response(200, PersonalExportSchema)
def export_person(user_id: str):
    require_system()
    if len(user_id) > MAX_ID or "\x00" in user_id:  # no stored id looks like that; keep it off the database
        raise Invalid("Not a user id.", fields={"user_id": [f"At most {MAX_ID} characters, no NUL."]})
    return {"data": privacy.export_person(uow(read_only=True), user_id)}
