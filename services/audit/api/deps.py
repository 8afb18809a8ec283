"""What views need from the request: the container, and units of work bound to the caller."""

from __future__ import annotations

from flask import current_app

from services.audit.bootstrap import Acting, Container
from shared.web.identity import current_identity


def container() -> Container:
    return current_app.extensions["container"]


def units() -> Acting:
    """``units().uow()`` / ``units().read_uow(snapshot=...)``: units of work acting as the current caller
    (audit's use cases may open several: streams, batches)."""
    return container().acting_as(current_identity())
