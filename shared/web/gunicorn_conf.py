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
logger_class = "shared.web.gunicorn_worker.PortalLogger"
workers = int(os.environ.get("PORTAL_WEB_WORKERS", "2"))
threads = int(os.environ.get("PORTAL_WEB_THREADS", "4"))
timeout = 60
limit_request_line = 8190
control_socket_disable = True  # many gunicorns share a machine (tests, make run); none needs it
# Handing over to a restarted master (shared/web/gunicorn_worker.py): each worker listens on a socket of its
# own, so a dead master's workers and the new one's share the port for a moment.
reuse_port = float(os.environ.get("PORTAL_WEB_HANDOVER") or 0) > 0
_handover_from = os.environ.pop("PORTAL_HANDOVER_FROM", "")  # the dead master's group (the supervisor's)


def on_starting(server):
    """In the master, before it listens: the metrics directory and the log format, then the application
    itself (what gunicorn's ``preload_app`` does, but after these two, which must come first).

    - Every worker process of this master counts into one multiprocess directory, which ``/metrics`` reads
      whole; it must be set before prometheus-client is imported. ``portal run`` and the Kubernetes pods
      give one (emptied or fresh); otherwise a new temporary one.
    - The log format before the application is imported, so Flask adds no handler of its own.
    - The application is imported once, here, and the workers are forked from it: a restarted master
      serves as soon as it listens (a request never waits in the listen backlog for a worker's import,
      it is refused and the gateway answers 503 at once), a new worker is ready in milliseconds, and two
      workers do not each import the service at the same time. What is not safe to share after a fork
      is dropped in the child: database connections (``shared/db.py``), and Redis' pools check their pid.
    """
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        import tempfile

        directory = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="portal-metrics-")
    os.makedirs(directory, exist_ok=True)
    from shared.logs import configure
    from shared.web.gunicorn_worker import service_of

    configure(service_of(server.cfg), "web")
    if os.environ.get("PORTAL_WEB_PRELOAD", "1") not in ("0", "false", "no"):
        server.app.wsgi()
        from shared.db import release_connections

        release_connections()  # the master serves nothing: it keeps no database connection open
        import gc

        # What the import made moves to the collector's permanent generation: a worker's collections then never
        # walk (and so never write to) those objects, and the pages it shares with the master stay shared.
        gc.collect()
        gc.freeze()


def child_exit(server, worker):
    """A dead worker's live gauges leave the exposition (its counters stay: they were counted)."""
    from shared.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def worker_exit(server, worker):
    """A worker handing over (its master dead) takes its live gauges out itself: no master will."""
    if getattr(worker, "orphaned_at", None) is not None:
        from shared.metrics import mark_process_dead

        mark_process_dead(worker.pid)


def post_worker_init(worker):
    """After the fork: this worker's root handler, same format (shared/logs.py); the OpenAPI document
    built in the background (``shared/web/app.py`` ``warm_documents``)."""
    from shared.logs import configure
    from shared.web.gunicorn_worker import service_of

    configure(service_of(worker.cfg), "web")
    if _handover_from.isdigit():  # serving now: the dead master's workers stop (they finish what they hold)
        import signal

        from shared.process_groups import signal_leaderless_group

        signal_leaderless_group(int(_handover_from), signal.SIGTERM)
    app = getattr(worker, "wsgi", None)
    if hasattr(app, "extensions"):  # a service's Flask app: its OpenAPI document, built aside
        import threading

        from shared.web.app import warm_documents

        threading.Thread(target=warm_documents, args=(app,), name="openapi-warm", daemon=True).start()
