"""What views need from the request: the container, and units of work bound to the caller."""

from __future__ import annotations

from flask import current_app

from services.audit.adapters.uow import AuditUnitOfWork
from services.audit.bootstrap import Container
from shared.web.identity import current_identity


def container() -> Container:
    return current_app.extensions["container"]


def uow_factory():
    """``uow_factory(write=..., snapshot=...)``: units of work acting as the current caller."""
    c, ident = container(), current_identity()

    def make(write: bool = True, snapshot: bool = False) -> AuditUnitOfWork:
        return c.uow(ident, write=write, snapshot=snapshot)

    return make
