"""``/internal/privacy``: identity collects what audit holds about a person (privacy export).

Only another service may call it (``require_system``); the gateway never routes ``/internal``.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from services.audit.api import schemas
from services.audit.api.deps import container, uow_factory
from services.audit.handlers import privacy
from shared.web.errors import Invalid
from shared.web.identity import require_system

blp = Blueprint("privacy", __name__, description="Privacy requests (internal)")


@blp.get("/internal/privacy/users/<user_id>/export")
@blp.response(200, schemas.PersonalExport)
def export_person(user_id: str):
    require_system()
    if len(user_id) > privacy.MAX_ID or "\x00" in user_id:  # no stored id looks like that
        raise Invalid("Not a user id.", fields={"user_id": [f"At most {privacy.MAX_ID} characters, no NUL."]})
    data = privacy.export_person(uow_factory(), user_id, container().settings.export_limit)
    return {"service": "audit", "data": data}
