"""identity's HTTP edge: blueprints and marshmallow schemas."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from services.identity.api import admin, consent, email, internal, me, policy, privacy, sessions, users

    for module in (users, sessions, me, email, consent, policy, privacy, internal, admin):
        api.register_blueprint(module.blp)
