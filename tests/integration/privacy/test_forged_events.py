"""Someone who can write to the broker cannot make a service act: a forged
``identity.privacy.erasure_requested`` pushed straight into Redis (a raw kombu publish, no outbox, no
signing publisher) erases nothing and lands in linking's dead letters with the reason."""

from __future__ import annotations

import uuid

import pytest
from kombu import Connection

from shared import clock
from shared.bus.topology import DELIVER_TASK, EVENTS_EXCHANGE, QUEUE_BINDINGS, declare_all
from shared.events import signing
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration

TYPE = "identity.privacy.erasure_requested"


def forged_erasure(user_id: str) -> dict:
    return {"event_id": str(uuid.uuid4()), "type": TYPE, "version": 1, "occurred_at": clock.isoformat(clock.now()),
            "producer": "identity", "actor": "system:identity", "subject": user_id, "correlation_id": None,
            "payload": {"request_id": str(uuid.uuid4()), "user_id": user_id}}


def push_raw(redis_url: str, events: list[dict]) -> None:
    """A Celery protocol-2 message for ``portal.events.deliver``, written with kombu alone."""
    task_id = str(uuid.uuid4())
    headers = {"lang": "py", "task": DELIVER_TASK, "id": task_id, "root_id": task_id, "parent_id": None,
               "group": None, "retries": 0, "eta": None, "expires": None, "timelimit": [None, None],
               "argsrepr": "", "kwargsrepr": "{}", "origin": "intruder", "ignore_result": True}
    body = [[events], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    with Connection(redis_url) as conn:
        declare_all(conn)
        conn.Producer().publish(body, exchange=EVENTS_EXCHANGE, routing_key=TYPE, headers=headers,
                                serializer="json", delivery_mode=2)


def test_forged_erasure_requests_erase_nothing_and_are_dead_lettered(platform):
    user, _caller = platform.person("forged")
    unsigned = forged_erasure(user["id"])
    wrong_key = forged_erasure(user["id"])  # tags made with keys that are not identity's
    wrong_key["sig"] = signing.signatures(wrong_key, {c: b"guessed-key" for c in QUEUE_BINDINGS})
    claimed = forged_erasure(user["id"])  # signed with linking's own producer keys, claiming to be identity
    claimed["producer"] = "linking"
    signing.sign(claimed)
    claimed["producer"] = "identity"
    push_raw(platform.redis_url, [unsigned, wrong_key, claimed])

    ids = {e["event_id"] for e in (unsigned, wrong_key, claimed)}

    def dead() -> dict[str, str]:
        return {d["event_id"]: d["error"] for d in platform.dead_letters(platform.linking) if d["event_id"] in ids}

    reasons = wait_until(lambda: len(dead()) == 3 and dead(), timeout=60, message="forged events dead-lettered")
    assert reasons[unsigned["event_id"]] == "unsigned: no producer signature for linking"
    assert reasons[wrong_key["event_id"]] == "bad signature: not signed by producer 'identity' (forged or altered)"
    assert reasons[claimed["event_id"]] == "bad signature: not signed by producer 'identity' (forged or altered)"
    assert platform.projected(user["id"]) is not None  # linking still knows the person: nothing erased
    for event_id in ids:
        assert not platform.processed(platform.linking, event_id)
