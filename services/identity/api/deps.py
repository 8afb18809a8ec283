"""What views need from the request: the container, units of work bound to the caller."""

from __future__ import annotations

from flask import current_app, request

from services.identity.adapters.uow import IdentityUnitOfWork
from services.identity.bootstrap import Container
from shared.web.identity import current_identity


def container() -> Container:
    return current_app.extensions["container"]


def uow() -> IdentityUnitOfWork:
    return container().uow(current_identity())


def read_uow() -> IdentityUnitOfWork:
    return container().read_uow(current_identity())


def user_agent() -> str:
    return (request.headers.get("User-Agent") or "")[:512]
