"""A portal published over HTTPS refuses to start until it knows where TLS ends (a trusted proxy, or TLS at
the gateway): otherwise its cookies would lack ``__Host-``/``Secure`` and every client would share the proxy's
address."""

from __future__ import annotations

import pytest

from tests.integration.gateway.conftest import gunicorn, wait_healthy
from tests.support.net import free_port
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration


def test_https_without_trusted_proxies_does_not_start(stack):
    env = {**stack.env, "PORTAL_PUBLIC_URL": "https://portal.example.com", "GATEWAY_TRUSTED_PROXIES": ""}
    proc = gunicorn("gateway-https-alone", "services.gateway.wsgi:app", free_port(), env, stack.log_dir,
                    "-c", "python:services.gateway.gunicorn_conf").start()
    try:
        wait_until(lambda: not proc.alive(), timeout=60, message="the gateway gave up")
        assert "PORTAL_PUBLIC_URL is https: set GATEWAY_TRUSTED_PROXIES" in proc.output()
    finally:
        proc.stop()


def test_https_behind_a_trusted_proxy_starts(stack):
    port = free_port()
    env = {**stack.env, "PORTAL_PUBLIC_URL": "https://portal.example.com", "GATEWAY_TRUSTED_PROXIES": "127.0.0.1"}
    proc = gunicorn("gateway-https-proxied", "services.gateway.wsgi:app", port, env, stack.log_dir,
                    "-c", "python:services.gateway.gunicorn_conf").start()
    try:
        wait_healthy(proc, f"http://127.0.0.1:{port}")
    finally:
        proc.stop()
