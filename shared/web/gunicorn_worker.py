"""gunicorn's threaded worker, with the errors gunicorn answers itself in the contract's JSON shape.

A request line longer than ``limit_request_line`` (414), headers past their limits (431) or a request
gunicorn cannot parse (400) never reach the application: gunicorn writes an HTML page of its own
(``gunicorn.util.write_error``). This worker class writes ``{"error": {"code", "message", "fields"}}``
instead, so a client reads every error the same way. Run with
``--worker-class shared.web.gunicorn_worker.JsonErrorWorker`` (``shared/web/gunicorn_conf.py`` sets it).
tests/integration/shared/test_gunicorn_errors.py sends the long URI to a real gunicorn.

Handing over (``PORTAL_WEB_HANDOVER`` seconds, set by ``portal run`` for the services): a worker whose master
died keeps serving, for that long at most, instead of exiting at once as gunicorn's do; each worker has a
listening socket of its own on the shared port (``SO_REUSEPORT``), so the restarted master's workers bind
beside it and, once they serve, end it (``post_worker_init`` in shared/web/gunicorn_conf.py, told the old
process group by the supervisor). A killed master costs no refused request and no cut one. The worker
handing over takes what the kernel queued on its socket before closing it, so none of those is reset.
tests/integration/shared/test_gunicorn_handover.py kills a real master under requests.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker

from shared.web.errors import DEFAULT_CODES, error_body

_CODES = {**DEFAULT_CODES, 414: "uri_too_long", 417: "expectation_failed", 431: "headers_too_large",
          501: "not_implemented"}
_MESSAGES = {
    414: "The request line (method, path and query) is too long.",
    431: "The request headers are too large.",
    400: "The request could not be parsed as HTTP.",
}


def write_json_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """Same contract as ``gunicorn.util.write_error``; gunicorn's own detail (which may echo the client's
    bytes) stays in its log line, not in the answer."""
    message = _MESSAGES.get(status_int, reason)
    body = json.dumps(error_body(status_int, _CODES.get(status_int, "error"), message), separators=(",", ":"))
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n")
    util.write_nonblock(sock, (head + body).encode("latin-1"))


HANDOVER = "PORTAL_WEB_HANDOVER"


def handover_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get(HANDOVER) or 0))
    except ValueError:
        return 0.0


class JsonErrorWorker(ThreadWorker):
    """``gthread`` with JSON error pages (``handle_error`` calls ``util.write_error`` at its end), which
    hands over when its master dies (above)."""

    orphaned_at: float | None = None

    def is_parent_alive(self) -> bool:
        if self.ppid == os.getppid():
            return True
        limit = handover_seconds()
        if limit <= 0:
            return bool(super().is_parent_alive())
        now = time.monotonic()
        if self.orphaned_at is None:
            self.orphaned_at = now
            self.log.warning("master gone: serving until a new master's workers take over (%gs at most)", limit)
        return now - self.orphaned_at < limit

    def set_accept_enabled(self, enabled: bool) -> None:
        if enabled or self.orphaned_at is None or not self._accepting:
            super().set_accept_enabled(enabled)
            return
        # Handing over: what waits in this socket's accept queue is taken (closing the socket would reset
        # it), then the socket closes and the kernel sends every new connection to the new workers'.
        for listener in self.sockets:
            while True:
                taken = self.nr_conns
                self.accept(listener)
                if self.nr_conns == taken:
                    break
        super().set_accept_enabled(False)
        for listener in self.sockets:
            listener.close()

    def init_process(self) -> None:
        # One worker process runs only this worker class, so swapping the module function is confined to
        # the process whose errors it answers.
        util.write_error = write_json_error  # type: ignore[assignment]
        super().init_process()


def service_of(cfg: Any) -> str:
    """``services.identity.wsgi:app`` (the ``wsgi_app`` setting or the command line's app) -> ``identity``."""
    for spec in (cfg.wsgi_app or "", *sys.argv[1:]):
        parts = spec.split(".")
        if len(parts) > 2 and parts[0] == "services" and ".wsgi:" in spec:
            return parts[1]
    return "web"


class PortalLogger(Logger):
    """gunicorn's own lines (from its very first) in the platform's log format (``shared/logs.py``)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        from shared.logs import ContextFilter, formatter

        for handler in [*self.error_log.handlers, *self.access_log.handlers]:
            handler.setFormatter(formatter(service_of(cfg), "web"))
            if not any(isinstance(f, ContextFilter) for f in handler.filters):
                handler.addFilter(ContextFilter())
