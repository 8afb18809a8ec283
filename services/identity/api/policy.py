"""The privacy policy in force, its versions, and acceptances."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.identity import handlers
from services.identity.api import schemas
from services.identity.api.deps import container, read_uow, uow
from services.identity.handlers.policy import policy_version
from shared.web.identity import require_user

blp = Blueprint("policy", __name__, description="Privacy policy")


@blp.get("/policy")
@blp.response(200, schemas.PolicyOut)
def current():
    return handlers.current_policy(read_uow())


@blp.get("/policy/versions/<string:version>")
@blp.response(200, schemas.PolicyTextOut)
def version_text(version):
    return policy_version(read_uow(), version)


@blp.post("/policy/acceptances")
@blp.arguments(schemas.AcceptPolicyIn)
@blp.response(201, schemas.AcceptanceOut)
def accept(body):
    ident = require_user()
    return handlers.accept_policy(uow(), container().counters, ident.user_id or "", body["version"])
