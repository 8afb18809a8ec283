"""What views take from the application: the container, a unit of work for this request."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app

from services.content.adapters.uow import ContentUnitOfWork
from services.content.bootstrap import Container
from shared.web.identity import current_identity, require_role, require_user

View = TypeVar("View", bound=Callable[..., Any])


def container() -> Container:
    return current_app.extensions["container"]


def uow() -> ContentUnitOfWork:
    """Acting for the signed caller: their id is the events' actor, the request id their correlation id."""
    return container().uow(current_identity())


def read_uow() -> ContentUnitOfWork:
    return container().read_uow(current_identity())


def requires(*roles: str) -> Callable[[View], View]:
    """Authorize before flask-smorest parses the body: a caller who may not do this gets 401/403,
    never a validation report. With no roles, any logged-in person."""

    def decorate(view: View) -> View:
        @functools.wraps(view)  # keeps flask-smorest's _apidoc and our media-type marks
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if roles:
                require_role(*roles)
            else:
                require_user()
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate
