"""The privacy participant's export route: identity collects what audit holds about a person."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.audit.api import schemas
from services.audit.api.deps import container, units
from services.audit.config import SERVICE
from services.audit.handlers import privacy
from shared.events.privacy import EXPORT_PATH
from shared.web.privacy import check_export_call

blp = Blueprint("privacy", __name__, description="Privacy requests (internal)")


@blp.get(EXPORT_PATH)
@blp.response(200, schemas.PersonalExport)
def export_person(user_id: str):
    check_export_call(user_id)
    data = privacy.export_person(units(), user_id, container().settings.export_limit)
    return {"service": SERVICE, "data": data}
