"""Verifying the chain over HTTP (compliance)."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.audit.api import schemas
from services.audit.api.deps import container, uow_factory
from services.audit.handlers import integrity
from shared.web.identity import require_role

blp = Blueprint("integrity", __name__, description="Tamper evidence: verify the chain (compliance)")


@blp.get("/integrity")
@blp.response(200, schemas.IntegrityOut)
def verify_chain():
    require_role("compliance")
    return integrity.check(uow_factory(), container().settings.signing_key).to_dict()
