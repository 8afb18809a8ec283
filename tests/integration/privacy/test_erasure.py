"""Erasure end to end between identity and linking through real workers and a real broker: identity
erases itself at once, linking erases on identity.privacy.erasure_requested and answers, identity
completes once linking, content and audit answered (the last two simulated by the test until those
services implement it). A legal hold withholds everything."""

from __future__ import annotations

import pytest
from sqlalchemy import or_, select

from services.linking.adapters import tables as linking_tables
from services.linking.domain.users import erased_key
from tests.integration.privacy.conftest import PASSWORD, text_of
from tests.support.processes import wait_until

pytestmark = pytest.mark.integration


def linked_person(platform):
    """A person who is a member of one company and waits for an answer from another."""
    user, caller = platform.person("erase")
    admin = platform.api.admin()
    manager_a, manager_b = platform.api.register("manager-a", "manager-b")
    tag = user["id"][:8]
    a = platform.api.ok("POST", "/companies", admin, 201, json={"name": f"Alpha {tag}",
                                                                "primary_contact_user_id": manager_a})
    b = platform.api.ok("POST", "/companies", admin, 201, json={"name": f"Beta {tag}",
                                                                "primary_contact_user_id": manager_b})
    joined = platform.api.ok("POST", f"/companies/{a['id']}/link-requests", user["id"], 201,
                             json={"share_contact": True, "message": f"Secret note {tag}"})
    platform.api.ok("POST", f"/link-requests/{joined['id']}/approve", manager_a)
    platform.api.ok("POST", f"/companies/{b['id']}/link-requests", user["id"], 201,
                    json={"share_contact": True, "message": f"Another note {tag}"})
    return user, caller, (a, manager_a), (b, manager_b)


def test_erasure_end_to_end(platform):
    user, caller, (a, manager_a), (b, manager_b) = linked_person(platform)
    identifying = [user["name"], user["email"], user["phone"], f"note {user['id'][:8]}"]
    assert all(value in text_of(platform.linking_db) for value in identifying)

    resp = platform.http.call("POST", "/privacy/erasures", caller)
    assert resp.status_code == 202, resp.get_json()
    request_id = resp.get_json()["id"]

    # identity: at once (every session ended)
    assert platform.http.resolve(caller.token).status_code == 404

    # linking: through its worker, then its answer through identity's worker
    wait_until(lambda: "linking" in platform.erasure(request_id)["results"], timeout=60,
               message="linking erased and answered")
    status = platform.erasure(request_id)
    assert status["status"] == "pending" and status["waiting_for"] == ["content", "audit"]
    assert any("membership" in item for item in status["results"]["linking"]["erased"])
    assert all(k["reason"] for k in status["results"]["linking"]["kept"])
    linking_text = text_of(platform.linking_db)  # every table, its outbox and inbox included
    for value in identifying:
        assert value not in linking_text, value
    t = linking_tables
    with platform.linking.runtime.engine.connect() as conn:
        assert conn.execute(select(t.users).where(t.users.c.user_id == user["id"])).first() is None
        assert conn.execute(select(t.members).where(t.members.c.user_id == user["id"])).first() is None
        theirs = or_(t.link_requests.c.user_id == user["id"], t.link_requests.c.decided_by == user["id"])
        assert conn.execute(select(t.link_requests).where(theirs)).first() is None
        assert conn.execute(select(t.erased_users.c.request_id)
                            .where(t.erased_users.c.user_key == erased_key(user["id"]))).scalar_one() == request_id
    removed = [e for e in platform.outbox(platform.linking, "linking.member.removed")
               if e["payload"]["user_id"] == user["id"]]
    assert [(e["payload"]["company_id"], e["payload"]["reason"]) for e in removed] == [(a["id"], "erased")]
    assert platform.api.ok("GET", f"/companies/{b['id']}/link-requests", manager_b)["items"] == []
    assert user["id"] not in [m["user_id"] for m in
                              platform.api.ok("GET", f"/companies/{a['id']}/members", manager_a)["items"]]

    # identity keeps nothing identifying either (its events about the person that were sent are gone too)
    wait_until(lambda: not platform.identity.runtime.relay().pending(), timeout=30, message="identity relayed")
    identity_text = text_of(platform.identity_db)
    for value in identifying[:3]:
        assert value not in identity_text, value
    login = platform.http.call("POST", "/sessions", json={"email": user["email"], "password": PASSWORD})
    assert login.status_code == 401

    # content and audit answer (simulated): the request completes
    platform.publish_answer("content", request_id, user["id"])
    platform.publish_answer("audit", request_id, user["id"])
    wait_until(lambda: platform.erasure(request_id)["status"] == "completed", timeout=60,
               message="identity completed the erasure")
    final = platform.erasure(request_id)
    assert set(final["results"]) == {"identity", "linking", "content", "audit"} and final["waiting_for"] == []
    assert final["results"]["audit"]["kept"] == [{"data": "audit records", "reason": "legal period",
                                                  "until": "2031-01-01"}]
    [completed] = platform.outbox(platform.identity, "identity.privacy.erasure_completed")
    assert completed["payload"]["request_id"] == request_id
    assert platform.dead_letters(platform.linking) == []
    assert user["email"] not in platform.http.call("GET", f"/privacy/erasures/{request_id}").get_data(as_text=True)


def test_erasure_is_withheld_under_a_legal_hold(platform):
    user, caller = platform.person("held")
    staff, _ = platform.person("compliance")
    from services.identity.handlers import grant_role

    grant_role(platform.identity.uow(), platform.identity.counters, role="compliance", granted_by="test",
               user_id=staff["id"], confirmed_only=False)
    compliance = platform.http.login(staff["email"])
    hold = platform.http.call("POST", "/privacy/holds", compliance,
                              json={"user_id": user["id"], "reason": "Litigation hold 7"})
    assert hold.status_code == 201

    resp = platform.http.call("POST", "/privacy/erasures", caller)
    assert resp.status_code == 202
    body = resp.get_json()
    assert body["status"] == "withheld" and "Litigation hold 7" in body["reason"] and body["results"] == {}
    [withheld] = [e for e in platform.outbox(platform.identity, "identity.privacy.erasure_withheld")
                  if e["payload"]["request_id"] == body["id"]]
    # linking receives the withheld notice (it is bound to identity.privacy.*) and changes nothing
    wait_until(lambda: platform.processed(platform.linking, withheld["event_id"]), timeout=60,
               message="linking consumed the withheld event")
    assert platform.projected(user["id"]).email == user["email"]
    assert platform.http.resolve(caller.token).status_code == 200
    assert not [e for e in platform.outbox(platform.identity, "identity.privacy.erasure_requested")
                if e["payload"]["user_id"] == user["id"]]
