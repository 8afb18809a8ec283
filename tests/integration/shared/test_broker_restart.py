"""Publishing through a Redis that restarted or lost its bindings, on a private redis-server (append-only, as
``portal run`` has it) that the test kills with ``kill -9`` and starts again on the same port and files.

A connection that failed while Redis was away comes back with a new channel that knows none of the
exchanges; the first publish after that must still reach the queues bound to ``events``, not be routed as
if ``events`` were a direct exchange and dropped (the relay then marks the rows sent and the accesses are
lost: the Redis kill -9 fault lost a batch that way).
"""

from __future__ import annotations

import pytest
import redis

from shared.bus.celery_app import make_celery
from shared.bus.publisher import CeleryPublisher
from shared.bus.topology import queue_name
from tests.support.redis_server import KillableRedis

pytestmark = pytest.mark.integration

ACCESS = "gateway.request.completed"


def audit_queue_length(srv: KillableRedis) -> int:
    return int(redis.Redis(port=srv.port).llen(queue_name("audit")))


def access(n: int) -> list[tuple[str, str]]:
    return [(ACCESS, f'{{"type":"{ACCESS}","event_id":"e{n}"}}')]


def test_the_first_publish_after_a_redis_restart_reaches_the_queues(killable_redis: KillableRedis):
    publisher = CeleryPublisher(make_celery("restart-test", killable_redis.url))
    publisher.publish_raw(access(1))
    assert audit_queue_length(killable_redis) == 1
    killable_redis.kill()
    # What the relay does next: it looks at the broker's run id, which fails while Redis is away; the
    # connection is then set up anew on its next use.
    with pytest.raises(Exception):  # noqa: B017, PT011 - kombu's and redis-py's connection errors alike
        publisher.broker_epoch()
    killable_redis.start()
    publisher.broker_epoch()
    kept = audit_queue_length(killable_redis)  # 0 or 1: the first may have missed the file
    publisher.publish_raw(access(2))  # within the second of the first publish's declarations
    assert audit_queue_length(killable_redis) == kept + 1


def test_a_publish_after_redis_lost_its_bindings_reaches_the_queues(killable_redis: KillableRedis):
    publisher = CeleryPublisher(make_celery("bindings-test", killable_redis.url))
    publisher.publish_raw(access(1))
    client = redis.Redis(port=killable_redis.port)
    client.delete(*client.keys("_kombu.binding*"))  # a Redis that came back without them
    publisher.publish_raw(access(2))
    assert audit_queue_length(killable_redis) == 2
