"""One process running several services' workers (``portal workers``): each service's spans carry its own
``service.name``, the first service's provider is the process's global one, and a provider installed before
any of ours (a test's in-memory one) serves every service."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.support.processes import REPO, base_env

SEVERAL = """
import json
from opentelemetry import trace
from shared import tracing
tracing.configure("identity")
tracing.configure("audit")
tracing.configure("audit")  # again: the same provider
names = {s: tracing.tracer(s).resource.attributes["service.name"] for s in ("identity", "audit")}
names["unnamed"] = tracing.tracer().resource.attributes["service.name"]
names["global"] = trace.get_tracer_provider().resource.attributes["service.name"]
names["same"] = tracing.tracer("audit").resource is tracing.tracer("audit").resource
print(json.dumps(names))
"""

INSTALLED = """
import json
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from shared import tracing
trace.set_tracer_provider(TracerProvider(resource=Resource.create({"service.name": "in-memory"})))
tracing.configure("identity")
tracing.configure("audit")
print(json.dumps({s: tracing.tracer(s).resource.attributes["service.name"] for s in ("identity", "audit")}))
"""


def _run(program: str) -> dict:
    done = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env=base_env({}), check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_each_service_of_a_process_names_its_own_spans():
    assert _run(SEVERAL) == {"identity": "portal-identity", "audit": "portal-audit", "unnamed": "portal-identity",
                             "global": "portal-identity", "same": True}


def test_a_provider_installed_first_serves_every_service():
    assert _run(INSTALLED) == {"identity": "in-memory", "audit": "in-memory"}
