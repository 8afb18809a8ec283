"""The live audit stream (compliance): Server-Sent Events of stored events as they arrive."""

from __future__ import annotations

import threading

from flask import Response, current_app
from flask_smorest import Blueprint

from services.audit.api import schemas
from services.audit.api.deps import container, units
from services.audit.api.events import event_filter
from services.audit.domain.errors import TooManyStreams
from services.audit.handlers import stream
from shared.web.identity import require_role

blp = Blueprint("stream", __name__, description="Server log store: live stream (compliance)")
SLOT_WAIT = 2.0  # seconds a request waits for a free stream slot before 429


@blp.get("/events/stream")
@blp.arguments(schemas.StreamArgs, location="query")
@blp.response(200, description="Server-Sent Events: `id:` is the event's seq, `data:` the event as in "
              "search; comment lines are heartbeats. The stream ends after a few minutes and the browser "
              "reconnects with Last-Event-ID.", content_type="text/event-stream")
@blp.alt_response(429, description="This process already serves its most open streams; retry shortly.")
@blp.arguments(schemas.StreamHeaders, location="headers")
@blp.doc(responses={"200": {"content": {"text/event-stream": {"schema": {"type": "string"}}}}})
def stream_events(args, headers):
    require_role("compliance")
    after = headers.get("last_event_id", args.get("last_event_id"))
    settings = container().settings
    slots = _slots(settings.streams_per_process)
    # A stream whose client just left holds its slot until its next heartbeat finds the socket closed:
    # a reconnecting browser waits a moment for it rather than being refused at once.
    if not slots.acquire(timeout=SLOT_WAIT):
        raise TooManyStreams("Too many live streams are open; try again shortly.", retry_after=3)
    try:
        timing = stream.StreamTiming(poll=settings.stream_poll, heartbeat=settings.stream_heartbeat,
                                     lifetime=settings.stream_lifetime)
        frames = stream.open_stream(units(), event_filter(args), after, timing)
    except BaseException:
        slots.release()
        raise
    resp = Response(frames, mimetype="text/event-stream", headers={
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",  # a buffering reverse proxy (nginx) passes each event on at once
    })
    resp.call_on_close(slots.release)  # the client went away, or the stream ended
    return resp


def _slots(size: int) -> threading.BoundedSemaphore:
    """The process's open-stream slots: every open stream holds one of the WSGI server's threads."""
    return current_app.extensions.setdefault("audit_stream_slots", threading.BoundedSemaphore(size))
