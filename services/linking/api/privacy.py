"""The privacy participant's export route: identity collects what linking holds about a person."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.linking.api import deps
from services.linking.config import SERVICE
from services.linking.handlers import privacy
from shared.events.privacy import EXPORT_PATH
from shared.web.privacy import check_export_call

blp = Blueprint("privacy", __name__, description="Privacy requests (internal)")


@blp.get(EXPORT_PATH)
@blp.response(200)
def export_person(user_id: str):
    check_export_call(user_id)
    return {"service": SERVICE, "data": privacy.export_person(deps.read_uow(), user_id)}
