"""audit's HTTP edge: blueprints and marshmallow schemas."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from services.audit.api import disclosures, events, integrity, me, trends

    for module in (events, integrity, me, trends, disclosures):
        api.register_blueprint(module.blp)
