"""gunicorn settings for the gateway: ``gunicorn -c python:services.gateway.gunicorn_conf ...``.

The shared settings (``shared/web/gunicorn_conf.py``: JSON error pages, longest request line), and: the
gateway mostly waits on services, so more threads; keep-alive so clients and load balancers reuse
connections. Each worker process has its own connection pools and session cache. Command-line flags
(``--bind``, ``-w``) override these.
"""

import os

from shared.web.gunicorn_conf import *  # noqa: F403 - the shared settings, overridden below

workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
threads = int(os.environ.get("GATEWAY_THREADS", "8"))
keepalive = int(os.environ.get("GATEWAY_KEEPALIVE", "5"))
timeout = int(os.environ.get("GATEWAY_WORKER_TIMEOUT", "60"))
bind = [os.environ.get("GATEWAY_BIND", f"127.0.0.1:{os.environ.get('PORT', '8080')}")]
if os.environ.get("GATEWAY_METRICS_PORT", "0") != "0":  # the internal listener that alone answers /metrics
    bind.append(f"{os.environ.get('GATEWAY_METRICS_ADDR', '127.0.0.1')}:{os.environ['GATEWAY_METRICS_PORT']}")
accesslog = None  # the access log is the gateway.request.completed event, not a text line
control_socket_disable = True  # many gunicorns share a machine (tests, make run); none needs it
# TLS ending at the gateway itself (no proxy in front): both files, or neither.
certfile = os.environ.get("GATEWAY_TLS_CERTFILE") or None
keyfile = os.environ.get("GATEWAY_TLS_KEYFILE") or None
