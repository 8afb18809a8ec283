"""The privacy participant's export route: identity collects what content holds about a person."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.content.api.deps import read_uow
from services.content.api.schemas import PersonalExportSchema
from services.content.config import SERVICE
from services.content.handlers import privacy
from shared.events.privacy import EXPORT_PATH
from shared.web.privacy import check_export_call

blp = Blueprint("privacy", __name__, description="Privacy requests (internal)")


@blp.get(EXPORT_PATH)
@blp.response(200, PersonalExportSchema)
def export_person(user_id: str):
    check_export_call(user_id)
    return {"service": SERVICE, "data": privacy.export_person(read_uow(), user_id)}
