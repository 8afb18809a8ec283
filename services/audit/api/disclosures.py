"""The disclosure register (compliance)."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.audit.api import schemas
from services.audit.api.deps import container, units
from services.audit.handlers import compliance
from shared.web.identity import require_role

blp = Blueprint("disclosures", __name__, description="Disclosure register (compliance)")


@blp.post("/disclosures")
@blp.arguments(schemas.DisclosureIn)
@blp.response(201, schemas.DisclosureOut)
def record_disclosure(body):
    require_role("compliance")
    return compliance.record_disclosure(units(), body)


@blp.get("/disclosures")
@blp.arguments(schemas.DisclosureListArgs, location="query")
@blp.response(200, schemas.DisclosurePage)
def list_disclosures(args):
    require_role("compliance")
    return compliance.list_disclosures(units(), container().settings.cursor_key,
                                       subject_user_id=args.get("subject_user_id"), limit=args["limit"],
                                       cursor=args.get("cursor")).to_dict()
