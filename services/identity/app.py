"""identity's WSGI application factory."""

from __future__ import annotations

from flask import Flask

from services.identity.api import register_blueprints
from services.identity.api.errors import register_domain_errors
from services.identity.bootstrap import Container, bootstrap
from shared.web.app import create_base_app


def create_app(container: Container | None = None) -> Flask:
    container = container or bootstrap()
    common = container.settings.common
    app, api = create_base_app(
        "identity",
        secret=common.internal_secret,
        max_content_length=common.max_content_length,
        readiness=container.runtime.readiness(),
        metrics_state=container.runtime.metrics_state(),
    )
    app.extensions["container"] = container
    register_domain_errors(app)
    register_blueprints(api)
    return app
