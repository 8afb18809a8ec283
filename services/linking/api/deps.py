"""What every linking view needs: the container, the caller, and a unit of work bound to the request."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from services.linking.adapters.identity_client import UserDirectory
from services.linking.adapters.uow import LinkingUnitOfWork
from services.linking.bootstrap import Container
from services.linking.domain.model import Caller
from shared.web.identity import current_identity, require_user


def logged_in_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    """Every linking route needs a logged-in user: refuse anonymous callers (401) before reading input."""
    blp = Blueprint(name, import_name, description=description)
    blp.before_request(_require_login)
    return blp


def _require_login() -> None:
    require_user()


def container() -> Container:
    return current_app.extensions["container"]


def caller() -> Caller:
    ident = require_user()
    assert ident.user_id is not None  # require_user guarantees it
    return Caller(user_id=ident.user_id, is_admin=ident.has_role("admin"))


def uow() -> LinkingUnitOfWork:
    return container().uow(current_identity())


def read_uow() -> LinkingUnitOfWork:
    return container().read_uow(current_identity())


def directory() -> UserDirectory:
    return container().directory
