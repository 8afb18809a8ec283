"""The gateway with its access events switched off, for ``bench_gateway``'s figure of what recording each
request costs. Only the benchmark loads it (``gunicorn bench.gateway_unrecorded:app``); the platform has
no setting that stops the gateway recording, since an unrecorded access is what the audit log exists to rule out."""

from services.gateway.api import context

context.record_access = lambda _spool, _access: None  # type: ignore[assignment]

from services.gateway.app import create_app  # noqa: E402

app = create_app()
