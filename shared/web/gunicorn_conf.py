"""gunicorn settings every service's web tier shares: ``gunicorn -c python:shared.web.gunicorn_conf ...``.

- The threaded worker with JSON error pages (``shared/web/gunicorn_worker.py``), so even the errors gunicorn
  answers before the application (a too-long URI, oversized headers) come in the contract's shape.
- The longest request line gunicorn reads (8190 bytes, its maximum): the gateway forwards any path it
  accepted, so a service must never refuse a line the gateway took.
Command-line flags (``--workers``, ``--threads``, ``--bind``) override these; services/gateway/gunicorn_conf.py
builds on this file.
"""

import os

worker_class = "shared.web.gunicorn_worker.JsonErrorWorker"
workers = int(os.environ.get("PORTAL_WEB_WORKERS", "2"))
threads = int(os.environ.get("PORTAL_WEB_THREADS", "4"))
timeout = 60
limit_request_line = 8190
control_socket_disable = True  # many gunicorns share a machine (tests, make run); none needs it
