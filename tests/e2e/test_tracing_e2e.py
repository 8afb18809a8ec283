"""One access followed across processes: the client's ``traceparent`` reaches the gateway, the gateway's
span is the parent of the service's, the service's span is the parent of the event it emitted (through the
outbox, the relay and the broker): the relay's span publishing it and the audit worker's span consuming it
are its children; and the gateway's access event of the request is the gateway span's child in audit. Every process
exports over OTLP/HTTP (``OTEL_EXPORTER_OTLP_ENDPOINT``) to a receiver this test runs."""

from __future__ import annotations

import gzip
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.people import PASSWORD, T, unique_email
from tests.support.platform import Platform, running_platform
from tests.support.processes import wait_until


class Receiver:
    """A minimal OTLP/HTTP trace receiver: keeps (service, span name, trace id, span id, parent id)."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, str, str, str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    service = next((a.value.string_value for a in resource_spans.resource.attributes
                                    if a.key == "service.name"), "?")
                    for scope in resource_spans.scope_spans:
                        receiver.spans += [(service, s.name, s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex())
                                           for s in scope.spans]
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.thread.start()
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> Iterator[Platform]:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    with running_platform(tmp_path_factory.mktemp("portal-run"), env) as running:
        yield running


def test_one_trace_spans_gateway_service_outbox_and_audit_consumer(platform: Platform, receiver: Receiver):
    trace_id, client_span = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    resp = requests.post(f"{platform.url}/api/identity/users", timeout=T,
                         headers={"traceparent": f"00-{trace_id}-{client_span}-01"},
                         json={"name": "Tracy", "email": unique_email("tracy"), "password": PASSWORD})
    assert resp.status_code == 201, resp.text

    def spans() -> dict[str, list[tuple[str, str, str, str, str]]]:
        mine = [s for s in list(receiver.spans) if s[2] == trace_id]
        return {service: [s for s in mine if s[0] == service] for service in {s[0] for s in mine}}

    def complete() -> bool:
        found = spans()
        names = {s[1] for s in found.get("portal-audit", []) + found.get("portal-relay", [])}
        return all(found.get(f"portal-{s}") for s in ("gateway", "identity", "audit", "relay")) and {
            "audit consume identity.user.registered", "audit consume gateway.request.completed",
            "relay publish identity.user.registered", "relay publish gateway.request.completed"} <= names

    wait_until(complete, timeout=90, interval=0.5, message="spans of every hop exported")
    found = spans()
    gateway = found["portal-gateway"][0]
    assert gateway[4] == client_span  # the client's trace continued, not a new one
    identity = next(s for s in found["portal-identity"] if s[1] == "POST /users")
    assert identity[4] == gateway[3]  # the service's span is the gateway's child
    consumed = next(s for s in found["portal-audit"] if s[1] == "audit consume identity.user.registered")
    assert consumed[4] == identity[3]  # across the outbox and the broker: the event carried the context
    published = next(s for s in found["portal-relay"] if s[1] == "relay publish identity.user.registered")
    assert published[4] == identity[3]  # the relay's hop, in the same trace
    # The access event the gateway spooled for this request: relayed and stored as the gateway span's child.
    access = [s for s in found["portal-audit"] + found["portal-relay"] if "gateway.request.completed" in s[1]]
    assert {s[4] for s in access} == {gateway[3]}, access


def test_a_request_without_traceparent_starts_a_trace_at_the_gateway(platform: Platform, receiver: Receiver):
    before = {s[2] for s in receiver.spans}
    assert requests.get(f"{platform.url}/api/identity/policy", timeout=T).status_code == 200

    def new_gateway_trace() -> set[str]:
        return {s[2] for s in receiver.spans if s[0] == "portal-gateway" and s[4] == ""} - before

    def continued_by_identity() -> bool:
        roots = new_gateway_trace()
        return any(s[2] in roots for s in list(receiver.spans) if s[0] == "portal-identity")

    wait_until(continued_by_identity, timeout=30, message="a root span at the gateway, continued by identity")
