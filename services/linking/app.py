"""linking's WSGI application factory."""

from __future__ import annotations

from flask import Flask

from services.linking.api import companies, link_requests, me, privacy
from services.linking.api.errors import register_domain_errors
from services.linking.bootstrap import Container, bootstrap
from shared.web.app import create_base_app


def create_app(container: Container | None = None) -> Flask:
    container = container or bootstrap()
    common = container.settings.common
    app, api = create_base_app(
        "linking",
        secret=common.internal_secret,
        max_content_length=common.max_content_length,
        readiness=container.runtime.readiness(),
        metrics_state=container.runtime.metrics_state(),
    )
    app.extensions["container"] = container
    register_domain_errors(app)
    for blueprint in (companies.blp, link_requests.blp, me.blp, privacy.blp):
        api.register_blueprint(blueprint)
    return app
