"""The gateway's pooled connections to the services, with every process real (``portal run``).

A service may answer before it has read a request's body (content refuses a non-editor's item with 403
before reading it); gunicorn then drains at most 64 KiB of what is left and closes the connection. Such a
connection must never go back to the gateway's pool, or the next request on it — anybody's — fails."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.people import T, assert_error, person
from tests.support.platform import Platform

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_refused_large_body_never_leaves_a_stale_connection_behind(platform: Platform):
    reader = person(platform, "Nora")
    url = f"{platform.url}/api/content/items"
    big = json.dumps({"title": "x", "body": "y" * 100_000, "visibility": "public"})

    def big_then_small(_: int) -> list[int]:
        statuses = []
        for _ in range(8):
            statuses.append(reader.http.post(url, data=big, timeout=T,
                                             headers={"Content-Type": "application/json"}).status_code)
            # The next request to content at once, on whatever connection the gateway's pool hands out.
            statuses.append(reader.http.post(url, json={"title": "x", "body": "y", "visibility": "public"},
                                             timeout=T).status_code)
        return statuses

    with ThreadPoolExecutor(3) as pool:
        statuses = [s for batch in pool.map(big_then_small, range(3)) for s in batch]
    assert statuses == [403] * len(statuses), statuses
    assert_error(reader.http.post(url, data=big, timeout=T, headers={"Content-Type": "application/json"}), 403)


def test_while_a_service_restarts_the_gateway_answers_503_with_retry_after_never_hangs(platform: Platform):
    """kill -9 of content's whole process group (its master and its workers: nothing left to hand over, unlike
    a master killed alone, tests/integration/shared/test_gunicorn_handover.py): the supervisor of ``portal run``
    starts it again; meanwhile every request is answered 200 or 503 with ``Retry-After``, and none waits: the
    new master imports the service before its workers listen (shared/web/gunicorn_conf.py), so a request is
    either refused (503 at once) or served by a worker that is ready. The bound leaves room for a loaded
    machine."""
    url = f"{platform.url}/api/content/items"
    assert requests.get(url, timeout=T).status_code == 200
    master = platform.pids()["content-web"]
    os.killpg(master, signal.SIGKILL)
    answers: list[tuple[int, str | None, float]] = []
    deadline = time.monotonic() + 60
    back = 0
    while time.monotonic() < deadline and back < 5:
        started = time.monotonic()
        resp = requests.get(url, timeout=T)
        answers.append((resp.status_code, resp.headers.get("Retry-After"), time.monotonic() - started))
        back = back + 1 if resp.status_code == 200 and platform.pids().get("content-web") != master else 0
        time.sleep(0.05)
    assert back == 5, answers[-20:]
    assert {status for status, _, _ in answers} <= {200, 503}, answers
    assert all(retry == "1" for status, retry, _ in answers if status == 503), answers
    assert max(took for _, _, took in answers) < 5, answers
