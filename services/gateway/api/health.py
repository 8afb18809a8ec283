"""The gateway's own endpoints: alive, ready (with every service), the merged OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from services.gateway.handlers import readiness
from shared import metrics
from shared.web.errors import NotFound, Unavailable, error_response

blp = Blueprint("gateway_health", __name__)


def _container():
    return current_app.extensions["container"]


@blp.get("/healthz")
def healthz():
    return jsonify(status="ok", service="gateway")


@blp.get("/readyz")
def readyz():
    c = _container()
    checks = {"spool": c.runtime.check_database, "redis": c.counters.ping}
    for service in c.upstreams.urls:
        checks[service] = _service_ready(c.upstreams, service)
    failed = readiness(checks, c.checks_pool)
    if failed:
        return error_response(503, "not_ready", f"Not ready: {', '.join(sorted(failed))}.",
                              {name: [reason] for name, reason in sorted(failed.items())})
    return jsonify(status="ready", service="gateway", checks=sorted(checks))


def _service_ready(upstreams, service: str):
    def check() -> None:
        status, _body = upstreams.json(service, "GET", "/readyz", timeout=3.0)
        if status != 200:
            raise Unavailable(f"/readyz answered {status}")

    return check


@blp.get("/openapi.json")
def openapi():
    return jsonify(_container().openapi.document())


@blp.get("/metrics")
def prometheus_metrics():
    """Only on the internal listener (``GATEWAY_METRICS_PORT``, a second gunicorn bind): gunicorn reports
    the port a connection came in on as ``SERVER_PORT``, whatever Host the client sends."""
    c = _container()
    if not c.settings.metrics_port or request.environ.get("SERVER_PORT") != str(c.settings.metrics_port):
        raise NotFound("The requested URL was not found on the server.")
    return Response(metrics.exposition(c.runtime.metrics_state(consumes=False)), mimetype=metrics.CONTENT_TYPE)
