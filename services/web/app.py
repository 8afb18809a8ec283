"""web's WSGI application factory: the portal's server-rendered pages."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from flask import Flask

from services.web.api import context, errors, register_blueprints
from services.web.bootstrap import Container, bootstrap


def create_app(container: Container | None = None) -> Flask:
    container = container or bootstrap()
    app = Flask("web", static_folder=None, template_folder="templates",
                root_path=str(Path(__file__).resolve().parent))
    secret = container.settings.internal_secret
    app.config.update(
        # Only the flash messages live in Flask's signed cookie; the key is derived, never shared.
        SECRET_KEY=hmac.new(secret, b"portal-web-flash", hashlib.sha256).hexdigest(),
        SESSION_COOKIE_NAME="portal_flash",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=container.settings.max_form_bytes,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.jinja_env.autoescape = True
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.extensions["container"] = container
    context.install(app, container)
    errors.install(app)
    register_blueprints(app)
    return app

