"""content's WSGI application factory."""

from __future__ import annotations

from flask import Flask

from services.content.api import collaterals, items, privacy, queries
from services.content.api.errors import register_domain_errors
from services.content.bootstrap import Container, bootstrap
from shared.web.app import create_base_app


def create_app(container: Container | None = None) -> Flask:
    container = container or bootstrap()
    common = container.settings.common
    # The common body limit stays for every JSON view; the upload view raises its own limit to
    # CONTENT_MAX_UPLOAD_BYTES for that one request (see api/collaterals.py).
    app, api = create_base_app(
        "content",
        secret=common.internal_secret,
        max_content_length=common.max_content_length,
        readiness=container.runtime.readiness(),
        metrics_state=container.runtime.metrics_state(),
    )
    app.extensions["container"] = container
    register_domain_errors(app)
    for blueprint in (items.blp, collaterals.blp, queries.blp, privacy.blp):
        api.register_blueprint(blueprint)
    return app
