"""The erasure with a real Celery worker and a real Redis broker: identity's event, published to the
``events`` exchange, reaches content's queue; content erases, answers through its outbox, drops a
second delivery of the same event, and handles a replay idempotently."""

from __future__ import annotations

import uuid

import pytest

from services.content.app import create_app
from services.content.bootstrap import bootstrap
from services.content.domain.privacy import pseudonym
from shared.identity import Identity
from tests.integration.content.conftest import (
    COMPANY_A,
    Content,
    dump_tables,
    erasure_event,
    fresh_publisher,
    make_settings,
    mark_outbox_sent,
    member_event,
    mentions,
)
from tests.support.processes import base_env, celery_worker, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

COMPLETED = "content.privacy.erasure_completed"
ALICE = Identity(user_id=str(uuid.uuid4()))
AGENT = Identity(user_id=str(uuid.uuid4()), roles=frozenset({"support"}))


@pytest.fixture
def stack(tmp_path, database_url, redis_url, internal_secret):
    settings = make_settings(database_url, redis_url, internal_secret, tmp_path / "files")
    container = bootstrap(settings)
    content = Content(client=create_app(container).test_client(), container=container,
                      secret=internal_secret.encode())
    env = base_env({"CONTENT_DATABASE_URL": database_url, "REDIS_URL": redis_url,
                    "PORTAL_INTERNAL_SECRET": internal_secret, "PORTAL_VAR_DIR": str(tmp_path / "var"),
                    "CONTENT_COMPLAINT_RETENTION_DAYS": "1095"})
    identity = fresh_publisher("portal.identity-test", redis_url)
    worker = celery_worker("content", env, tmp_path, name=f"content-privacy-{uuid.uuid4().hex[:6]}").start()
    yield content, identity
    worker.stop()
    assert "Traceback" not in worker.output(), worker.output()[-3000:]
    container.runtime.engine.dispose()


def answers(content: Content) -> list[dict]:
    return content.outbox(COMPLETED)


def test_erasure_through_the_broker_is_complete_answered_once_and_replayable(stack):
    content, identity = stack
    content.deliver(member_event(True, COMPANY_A, ALICE.user_id))
    for kind, subject in (("question", "Invoice?"), ("complaint", "Rude call")):
        resp = content.call("POST", "/queries", ALICE, json={"subject": subject, "body": "Phone 555-0100",
                                                              "kind": kind})
        assert resp.status_code == 201
    complaint = resp.get_json()["id"]
    assert content.call("PATCH", f"/queries/{complaint}", AGENT, json={"status": "acknowledged"}).status_code == 200
    mark_outbox_sent(content.container)  # the relay published content's own events earlier
    request_id = str(uuid.uuid4())

    requested = erasure_event(ALICE.user_id, request_id)
    identity.publish([requested])
    wait_until(lambda: answers(content), timeout=60, message="content answers the erasure request")
    left = mentions(content.container, ALICE.user_id)
    assert list(left) == ["outbox"] and [r["type"] for r in left["outbox"]] == [COMPLETED]
    [answer] = answers(content)
    assert answer["payload"]["request_id"] == request_id and answer["correlation_id"] == requested["correlation_id"]
    assert "questions with their replies and history: 1" in answer["payload"]["erased"]
    assert "company memberships (content's copy of linking's): 1" in answer["payload"]["erased"]
    [kept] = [k for k in answer["payload"]["kept"] if k["data"].startswith("complaint ")]
    assert kept["data"].startswith(f"complaint {complaint}:") and kept["until"]
    erased_state = dump_tables(content.container)

    # The broker delivers the same event again, then identity replays its ledger (a new event):
    # the duplicate is dropped, the replay answers again and changes nothing. With one worker process
    # the queue is handled in order, so the replay's answer means the duplicate was handled too.
    identity.publish([requested])
    identity.publish([erasure_event(ALICE.user_id, request_id, replayed=True)])
    wait_until(lambda: len(answers(content)) >= 2, timeout=60, message="content answers the replay")
    assert [a["payload"]["replayed"] for a in answers(content)] == [False, True]
    assert answers(content)[1]["payload"]["kept"] == answer["payload"]["kept"]
    now = dump_tables(content.container)
    for name in ("queries", "query_entries", "memberships", "erasures"):
        assert now[name] == erased_state[name], name
    assert [r["user_id"] for r in now["queries"]] == [pseudonym(request_id)]
    assert mentions(content.container, ALICE.user_id).keys() == {"outbox"}
