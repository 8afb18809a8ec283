"""A person's own history, every staff access to their personal data, and the disclosures about them."""

from __future__ import annotations

from flask_smorest import Blueprint

from services.audit.api import schemas
from services.audit.api.deps import container, units
from services.audit.handlers import compliance, search
from shared.web.identity import require_user

blp = Blueprint("me", __name__, description="Transparency: my access history")


@blp.get("/me/events")
@blp.arguments(schemas.PageArgs, location="query")
@blp.response(200, schemas.PersonalPage)
def my_events(args):
    ident = require_user()
    page = search.person_history(units(), container().settings.cursor_key, ident.user_id or "",
                                 limit=args["limit"], cursor=args.get("cursor"))
    return page.to_dict()


@blp.get("/me/disclosures")
@blp.arguments(schemas.PageArgs, location="query")
@blp.response(200, schemas.MyDisclosurePage)
def my_disclosures(args):
    """The disclosure register's entries about me: to whom, on what legal basis, which data."""
    ident = require_user()
    page = compliance.list_disclosures(units(), container().settings.cursor_key,
                                       subject_user_id=ident.user_id or "", limit=args["limit"],
                                       cursor=args.get("cursor"))
    return page.to_dict()
