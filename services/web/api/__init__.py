"""The pages' blueprints, one module per audience. Every module here with a ``blp`` (a Flask
Blueprint) is registered by ``register_blueprints``; a module may also list ``NAV`` links for the
header (see docs/web.md, "Adding a page")."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

from flask import Blueprint, Flask

_NOT_PAGES = frozenset({"context", "errors", "pages", "forms"})


@dataclass(frozen=True)
class NavLink:
    href: str
    label: str
    roles: tuple[str, ...] = ()  # shown to a person with any of these roles; () = anyone logged in
    order: int = 50
    audience: str = "user"  # "user": logged in (with ``roles``), "visitor": logged out, "all": everyone


def register_blueprints(app: Flask) -> list[NavLink]:
    nav: list[NavLink] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _NOT_PAGES or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        blp = getattr(module, "blp", None)
        if isinstance(blp, Blueprint):
            app.register_blueprint(blp)
            nav.extend(getattr(module, "NAV", ()))
    nav.sort(key=lambda link: (link.order, link.label))
    app.extensions["portal_nav"] = nav
    return nav
