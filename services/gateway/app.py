"""gateway's WSGI application factory."""

from __future__ import annotations

from flask import Flask

from services.gateway.api import context, health, reference
from services.gateway.api.proxy import Proxy
from services.gateway.bootstrap import Container, bootstrap
from shared import tracing
from shared.web.errors import register_error_handlers


def create_app(container: Container | None = None) -> Flask:
    container = container or bootstrap()
    tracing.configure("gateway")
    app = Flask("gateway")
    app.config.update(JSON_SORT_KEYS=False)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["container"] = container
    register_error_handlers(app)
    app.before_request(lambda: context.begin(container))
    app.after_request(lambda resp: context.finish(container, resp))
    app.register_blueprint(health.blp)
    app.register_blueprint(reference.blp)
    # /api/... is proxied by a plain WSGI handler in front of Flask (see api/proxy.py).
    app.wsgi_app = Proxy(container, app.wsgi_app)  # type: ignore[method-assign]
    return app
