"""audit's HTTP edge: blueprints and marshmallow schemas."""

from __future__ import annotations

from flask_smorest import Api


def register_blueprints(api: Api) -> None:
    from services.audit.api import disclosures, events, integrity, me, privacy, stream, trends

    for module in (events, stream, integrity, me, trends, disclosures, privacy):
        api.register_blueprint(module.blp)
