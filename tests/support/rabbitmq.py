"""A RabbitMQ virtual host of its own for each platform a test starts (PORTAL_TEST_BROKER_URL names the
server, e.g. the machine's ``amqp://guest:guest@127.0.0.1:5672//``): queues left by another test or test
run never reach this one's workers. Made and removed with ``rabbitmqctl``."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit, urlunsplit


def _ctl(*args: str) -> None:
    result = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr.strip()[-500:]}")


@contextmanager
def private_vhost(server_url: str) -> Iterator[str]:
    """The broker URL of a new, empty virtual host on ``server_url``'s server (deleted afterwards)."""
    parts = urlsplit(server_url)
    user = unquote(parts.username or "guest")
    vhost = f"portal-test-{uuid.uuid4().hex[:10]}"
    _ctl("add_vhost", vhost)
    try:
        _ctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        yield urlunsplit((parts.scheme, parts.netloc, "/" + vhost, "", ""))
    finally:
        _ctl("delete_vhost", vhost)
