"""W3C Trace Context across the platform, with OpenTelemetry.

The gateway continues a client's ``traceparent`` or starts a trace, and sends its own span's
``traceparent`` to the service; a service's span is the parent of the events its use case emits (the
envelope's optional ``traceparent``, so the context crosses the outbox and the broker); the relay's span
publishing an event and a consumer's span for each event are that event's children (the envelope is
signed, so the relay adds no context of its own to it). The gateway's access event carries the gateway's
span. Spans are exported over OTLP/HTTP when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (the SDK's standard variables tune it); otherwise they are made
(so the ids propagate) and dropped. tests/e2e/test_tracing_e2e.py follows one request across processes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

TRACEPARENT = "traceparent"
_VALID = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_IN_JSON = re.compile(r'"traceparent":\s*"([0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2})"')
SERVER, CONSUMER, PRODUCER = trace.SpanKind.SERVER, trace.SpanKind.CONSUMER, trace.SpanKind.PRODUCER
_exporting = False
_providers: dict[str, TracerProvider] = {}  # this process's own, by service


def configure(service: str) -> None:
    """An SDK tracer provider named ``portal-<service>``, exporting when an endpoint is set; the first one
    made in a process is its global provider. A process running several services' workers (``portal
    workers``) makes one per service, so each service's spans carry its own name (``tracer(service)``). A
    provider installed before any of ours (a test's in-memory one) is kept and used for every service."""
    global _exporting
    installed = isinstance(trace.get_tracer_provider(), TracerProvider)
    if installed and not _providers:
        _exporting = True
        return
    if service in _providers:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"portal-{service}"}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _exporting = True
    _providers[service] = provider
    if not installed:
        trace.set_tracer_provider(provider)


def exporting() -> bool:
    """Whether this process's spans go anywhere: spans that pass no context on are made only then."""
    return _exporting


def tracer(service: str | None = None) -> trace.Tracer:
    """The process's tracer, or ``service``'s own where this process made one for it."""
    provider = _providers.get(service) if service else None
    return provider.get_tracer("portal") if provider is not None else trace.get_tracer("portal")


def valid(traceparent: Any) -> str | None:
    return traceparent if isinstance(traceparent, str) and _VALID.match(traceparent) else None


def parent_from(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> context.Context:
    """The context a request or an event carries (an invalid ``traceparent`` starts a new trace)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    carrier = {k.lower(): v for k, v in pairs if k.lower() == TRACEPARENT and valid(v)}
    return propagate.extract(carrier)


def current_traceparent() -> str | None:
    """The ``traceparent`` of the current span, to put on an outgoing request or event."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


def traceparent_of(span: trace.Span) -> str | None:
    """The ``traceparent`` naming ``span`` (what ``current_traceparent`` gives while it is current), formatted
    directly: a caller that needs it several times per request (the gateway) skips the propagator."""
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}" if ctx.is_valid else None


def trace_id() -> str | None:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


def traceparent_in(envelope_json: str) -> str | None:
    """The ``traceparent`` of a stored envelope's JSON text, without decoding the whole of it."""
    match = _IN_JSON.search(envelope_json)
    return match.group(1) if match else None
