"""Verifying the chain over HTTP (compliance)."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.audit.api import schemas
from services.audit.api.deps import units
from services.audit.handlers import integrity
from shared.web.identity import require_role

blp = Blueprint("integrity", __name__, description="Tamper evidence: chain, key and anchor (compliance)")


@blp.get("/integrity")
@blp.response(200, schemas.IntegrityOut)
def verify_chain():
    require_role("compliance")
    acting = units()
    return {**integrity.check(acting).to_dict(), **integrity.describe(acting)}
