"""Cookie consent for the person, or for the anonymous browser (by its consent cookie)."""

from __future__ import annotations

import secrets

from flask_smorest import Blueprint

from services.identity.api import schemas
from services.identity.api.cookies import (
    consent_browser_id,
    delete_anonymous_cookie,
    set_anonymous_cookie,
    set_consent_cookie,
)
from services.identity.api.deps import container, read_uow, uow
from services.identity.handlers import consent
from shared.web.identity import current_identity, sign_anonymous_id

blp = Blueprint("consent", __name__, description="Cookie consent")


@blp.get("/consent")
@blp.response(200, schemas.ConsentOut)
def get_consent():
    ident = current_identity()
    user_id = None if ident.is_system else ident.user_id
    return consent.get_consent(read_uow(), user_id=user_id, browser_id=consent_browser_id())


@blp.put("/consent")
@blp.arguments(schemas.ConsentIn)
@blp.response(200, schemas.ConsentOut)
def put_consent(body):
    ident = current_identity()
    browser_id = consent_browser_id() or secrets.token_urlsafe(16)
    result = consent.set_consent(uow(), analytics=body["analytics"], browser_id=browser_id,
                                 user_id=None if ident.is_system else ident.user_id)
    set_consent_cookie(browser_id)
    if body["analytics"]:
        if not ident.anonymous_id:  # an analytics id exists only from now on, and only with consent
            secret = container().settings.common.internal_secret
            set_anonymous_cookie(sign_anonymous_id(secret, secrets.token_urlsafe(16)))
    else:
        delete_anonymous_cookie()
    return result
