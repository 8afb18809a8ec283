"""``portal_queue_depth`` reads the broker a service consumes from: Celery's list on Redis, and on RabbitMQ
the message count of a passive declare. Real brokers: the test's Redis and the machine's RabbitMQ (a
virtual host of its own)."""

from __future__ import annotations

import os
import time

import redis
from kombu import Connection

from shared.bus.topology import queue_for, queue_name
from shared.store_metrics import queue_depth_reader
from tests.support.rabbitmq import private_vhost

RABBITMQ = os.environ.get("PORTAL_TEST_BROKER_URL") or "amqp://guest:guest@127.0.0.1:5672//"


def depth(reader) -> float:
    (family,) = list(reader())
    (sample,) = family.samples
    assert family.name == "portal_queue_depth" and sample.labels == {"queue": queue_name("audit")}
    return sample.value


def settled_depth(reader, expected: float, within: float = 5.0) -> float:
    """The queue's count once the broker has routed what was published: a passive declare counts what the
    queue process holds, which trails a publish by the time the message takes to get there."""
    deadline = time.monotonic() + within
    while (value := depth(reader)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_queue_depth_on_rabbitmq_counts_the_waiting_messages():
    with private_vhost(RABBITMQ) as url:
        reader = queue_depth_reader("audit", url)
        with Connection(url, transport_options={"confirm_publish": True}) as conn:
            queue = queue_for("audit")(conn.default_channel)
            queue.declare()
            assert depth(reader) == 0
            producer = conn.Producer()
            for n in range(3):
                producer.publish({"n": n}, exchange="", routing_key=queue.name, delivery_mode=2)
            assert settled_depth(reader, 3) == 3
            assert queue.get(no_ack=True) is not None
            assert settled_depth(reader, 2) == 2


def test_queue_depth_on_redis_is_the_length_of_celerys_list(redis_url: str):
    client = redis.Redis.from_url(redis_url)
    client.delete(queue_name("audit"))
    reader = queue_depth_reader("audit", redis_url)
    assert depth(reader) == 0
    client.lpush(queue_name("audit"), b"a", b"b")
    assert depth(reader) == 2
