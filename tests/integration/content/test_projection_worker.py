"""The membership projection with a real Celery worker and a real Redis broker: a removal takes access
away within seconds, and a worker that was stopped catches up on start from its durable queue."""

from __future__ import annotations

import time

import pytest
import redis

from services.content.app import create_app
from services.content.bootstrap import bootstrap
from shared.bus.topology import queue_name
from shared.identity import Identity
from tests.integration.content.conftest import (
    COMPANY_A,
    COMPANY_B,
    Content,
    fresh_publisher,
    make_settings,
    member_event,
)
from tests.support.processes import base_env, celery_worker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ALICE, BOB, CAROL = Identity(user_id="u-alice"), Identity(user_id="u-bob"), Identity(user_id="u-carol")


@pytest.fixture
def stack(tmp_path, database_url, redis_url, internal_secret):
    settings = make_settings(database_url, redis_url, internal_secret, tmp_path / "files")
    container = bootstrap(settings)
    content = Content(client=create_app(container).test_client(), container=container,
                      secret=internal_secret.encode())
    env = base_env({"CONTENT_DATABASE_URL": database_url, "REDIS_URL": redis_url,
                    "PORTAL_INTERNAL_SECRET": internal_secret, "PORTAL_VAR_DIR": str(tmp_path / "var")})
    linking = fresh_publisher("portal.linking-test", redis_url)
    workers = []

    def start_worker(name: str):
        worker = celery_worker("content", env, tmp_path, name=name).start()
        workers.append(worker)
        return worker

    yield content, linking, start_worker
    for worker in workers:
        worker.stop()
        assert "Traceback" not in worker.output(), worker.output()[-3000:]
    container.runtime.engine.dispose()


def status(content: Content, item_id: str, who: Identity) -> int:
    return content.call("GET", f"/items/{item_id}", who).status_code


def test_removal_within_seconds_and_catch_up_after_a_stopped_worker(stack, redis_url):
    content, linking, start_worker = stack
    item_a = content.item("company", COMPANY_A)["id"]
    item_b = content.item("company", COMPANY_B)["id"]
    worker = start_worker("content-worker-1")

    linking.publish([member_event(True, COMPANY_A, ALICE.user_id), member_event(True, COMPANY_A, BOB.user_id)])
    wait_until(lambda: status(content, item_a, ALICE) == 200 and status(content, item_a, BOB) == 200,
               timeout=60, message="the running worker applies the added members")
    assert status(content, item_b, ALICE) == 404

    started = time.monotonic()
    linking.publish([member_event(False, COMPANY_A, ALICE.user_id)])
    wait_until(lambda: status(content, item_a, ALICE) == 404, timeout=10, message="removal applied")
    assert time.monotonic() - started < 5, "a removed member kept access for more than a few seconds"
    assert status(content, item_a, BOB) == 200

    worker.stop()
    assert not worker.alive()
    # While no worker runs, linking goes on: the events wait in content's durable queue.
    linking.publish([member_event(False, COMPANY_A, BOB.user_id)])
    linking.publish([member_event(True, COMPANY_B, CAROL.user_id), member_event(True, COMPANY_A, ALICE.user_id)])
    broker = redis.Redis.from_url(redis_url)
    assert broker.llen(queue_name("content")) >= 2
    assert status(content, item_a, BOB) == 200  # nothing applied yet...
    assert status(content, item_b, CAROL) == 404

    start_worker("content-worker-2")
    wait_until(lambda: (status(content, item_a, BOB), status(content, item_b, CAROL), status(content, item_a, ALICE))
               == (404, 200, 200), timeout=60, message="the restarted worker catches up")
    wait_until(lambda: broker.llen(queue_name("content")) == 0, timeout=10, message="queue drained")
