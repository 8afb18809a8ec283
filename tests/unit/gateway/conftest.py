"""The gateway app under the Flask test client, in front of an in-thread stand-in service."""

from __future__ import annotations

import threading

import pytest
import redis
from werkzeug.serving import make_server

from services.gateway.app import create_app
from services.gateway.bootstrap import bootstrap
from tests.integration.gateway.upstream_app import create
from tests.support.net import free_port

SECRET = "unit-gateway-secret-" + "a3f61c0e" * 2


@pytest.fixture(scope="module")
def upstream(redis_url):
    """One stand-in answering as identity, linking, content and the pages (web); audit is left down."""
    app = create(name="upstream", secret=SECRET.encode(), sessions_url=redis_url)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def store(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def gateway(tmp_path, monkeypatch, redis_url, upstream):
    """``gateway(**env) -> (test client, container)``."""
    built = []

    def build(**env: str):
        values = {
            "PORTAL_INTERNAL_SECRET": SECRET, "PORTAL_VAR_DIR": str(tmp_path), "REDIS_URL": redis_url,
            "IDENTITY_URL": upstream, "LINKING_URL": upstream, "CONTENT_URL": upstream, "WEB_URL": upstream,
            "AUDIT_URL": f"http://127.0.0.1:{free_port()}",
            "GATEWAY_RATE_LIMIT_IP": "off", "GATEWAY_RATE_LIMIT_USER": "off",
        }
        values.update(env)
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        container = bootstrap()
        built.append(container)
        return create_app(container).test_client(), container

    yield build
    for container in built:
        container.close()
