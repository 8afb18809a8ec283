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
    """Stand-ins answering as identity, linking, content and the pages (web), each checking that calls were signed
    for it; audit is left down."""
    urls, servers = {}, []
    for name in ("identity", "linking", "content", "web"):
        app = create(name=name, secret=SECRET.encode(), sessions_url=redis_url)
        server = make_server("127.0.0.1", free_port(), app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        urls[name] = f"http://127.0.0.1:{server.server_port}"
    yield urls
    for server, thread in servers:
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
            "IDENTITY_URL": upstream["identity"], "LINKING_URL": upstream["linking"],
            "CONTENT_URL": upstream["content"], "WEB_URL": upstream["web"],
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
