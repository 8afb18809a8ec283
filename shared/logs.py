"""Log lines of every process: one JSON object per line when ``PORTAL_LOG_FORMAT=json`` (compose and the
Kubernetes manifests set it), readable text otherwise (``make run``).

Each JSON line has ``time`` (UTC, ISO 8601), ``level``, ``service``, ``process`` (web, worker, relay,
scheduler, cli), ``pid``, ``logger``, ``message``, ``correlation_id`` (the request id of the HTTP request,
or the event's correlation id in a consumer) and ``event_id`` when the line is about one event, and
``trace_id`` inside a trace; ``exception`` holds a traceback on one line. Nothing else of the request is
added: what a line says about a person is what its message says (docs/privacy.md names what may appear).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

LOG_FORMAT_ENV = "PORTAL_LOG_FORMAT"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"

# Set by the layer that knows them (the gateway's edge, a consumer); Flask's request id is read directly.
correlation_id: ContextVar[str | None] = ContextVar("portal_correlation_id", default=None)
event_id: ContextVar[str | None] = ContextVar("portal_event_id", default=None)
trace_id: ContextVar[str | None] = ContextVar("portal_trace_id", default=None)


def _request_id() -> str | None:
    flask = sys.modules.get("flask")  # a process that never imported Flask (a worker, the relay) has no request
    if flask is not None and flask.has_request_context():
        return flask.g.get("request_id")
    return None


def _current_trace_id() -> str | None:
    from shared.tracing import trace_id as current

    return current()


class ContextFilter(logging.Filter):
    """Puts the correlation id, event id and trace id of the current context on every record
    (a value passed with ``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "correlation_id", None) is None:
            record.correlation_id = _request_id() or correlation_id.get()
        if getattr(record, "event_id", None) is None:
            record.event_id = event_id.get()
        if getattr(record, "trace_id", None) is None:
            record.trace_id = trace_id.get() or _current_trace_id()
        parts = [f"{k}={v}" for k in ("correlation_id", "event_id") if (v := getattr(record, k, None))]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str, process: str) -> None:
        super().__init__()
        self.service = service
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": getattr(record, "service", None) or self.service,  # a worker of `portal workers` names its own
            "process": self.process,
            "pid": record.process,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", None),
        }
        for key in ("event_id", "trace_id"):
            value = getattr(record, key, None)
            if value:
                line[key] = value
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(line, ensure_ascii=False, default=str)


def json_format() -> bool:
    return os.environ.get(LOG_FORMAT_ENV, "text").strip().lower() == "json"


def formatter(service: str, process: str) -> logging.Formatter:
    return JsonFormatter(service, process) if json_format() else logging.Formatter(TEXT_FORMAT)


def configure(service: str, process: str, level: int = logging.INFO,
              also: tuple[str, ...] = ()) -> None:
    """The root logger writes to stderr in the chosen format; ``also`` names loggers that keep handlers of
    their own (gunicorn's) and get the same format and context."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(service, process))
    handler.addFilter(ContextFilter())
    handler.portal = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in list(root.handlers):  # configured again (after a fork): replace ours, keep anyone else's
        if getattr(old, "portal", False):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # a library's warning is a log line too, in the same format
    for name in also:
        for own in logging.getLogger(name).handlers:
            own.setFormatter(formatter(service, process))
            if not any(isinstance(f, ContextFilter) for f in own.filters):
                own.addFilter(ContextFilter())
