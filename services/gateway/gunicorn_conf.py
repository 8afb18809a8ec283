"""gunicorn settings for the gateway: ``gunicorn -c python:services.gateway.gunicorn_conf ...``.

The shared settings (``shared/web/gunicorn_conf.py``: JSON error pages, longest request line), and: two
processes (one per core; each has its own GIL, connection pools and session cache) of 8 threads. A request
holds a gateway thread for its whole round trip (Redis, the service, the spool), and the gateway does its own
work before and after the service's, so to keep a service busy the gateway needs more requests in flight than
the service has threads (8 under ``portal run``): 2 x 4 capped them at the service's 8 and left it idle while the
gateway worked. Idle keep-alive connections hold no thread (gunicorn parks them on its poller), so the extra
threads cost only their stacks. Keep-alive so clients and load balancers reuse connections.
``bench/bench_gateway.py`` starts the gateway with this file, so its figures are of this process model.
Command-line flags (``--bind``, ``-w``) override these.
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
