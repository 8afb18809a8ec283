"""Use cases end to end through the app: what is stored, what is emitted, and the identity fallback."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest

from services.linking.app import create_app
from services.linking.bootstrap import bootstrap
from shared import clock
from shared.events import new_event
from tests.integration.linking.conftest import Api, World, linking_settings, registered
from tests.support.net import free_port

pytestmark = pytest.mark.integration


def types(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def test_link_lifecycle_emits_its_events(api: Api, world: World):
    a = world.a["id"]
    created = api.outbox(company_id=a)
    assert types(created)[:3] == ["linking.company.created", "linking.member.added", "linking.manager.added"]
    assert created[0]["payload"]["primary_contact_user_id"] == world.manager

    requested = api.outbox(request_id=world.request["id"])
    assert types(requested) == ["linking.link.requested"]
    (shared,) = api.outbox(link_request_id=world.request["id"])
    assert shared["type"] == "linking.contact.shared" and shared["subject"] == world.user
    assert shared["payload"]["company_id"] == a and shared["payload"]["user_id"] == world.user
    assert shared["payload"]["recipient_manager_ids"] == [world.manager]
    assert shared["payload"]["data_categories"] == ["name", "email", "phone"]
    assert shared["actor"] == world.user

    resp = api.call("POST", f"/link-requests/{world.request['id']}/approve", world.manager,
                    request_id="corr-approve-1")
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved"
    approved = [e for e in api.outbox(user_id=world.user) if e["correlation_id"] == "corr-approve-1"]
    assert types(approved) == ["linking.link.approved", "linking.member.added"]
    assert approved[0]["payload"]["company_name"] == world.a["name"]
    assert approved[1]["payload"].items() >= {"company_id": a, "user_id": world.user, "role": "member"}.items()
    assert all(e["actor"] == world.manager for e in approved)

    members = api.ok("GET", f"/companies/{a}/members", world.manager)["items"]
    assert {m["user_id"]: m["role"] for m in members} == {world.manager: "manager", world.member: "member",
                                                          world.user: "member"}
    mine = api.ok("GET", "/me/companies", world.user)["items"]
    assert [(m["company"]["id"], m["role"], m["primary_contact"]) for m in mine] == [(a, "member", False)]

    api.ok("DELETE", f"/companies/{a}/members/{world.user}", world.user, 204)  # leaves
    (left,) = [e for e in api.outbox(user_id=world.user) if e["type"] == "linking.member.removed"]
    assert left["payload"]["company_id"] == a and left["payload"]["reason"] == "left"
    assert api.ok("GET", "/me/companies", world.user)["items"] == []


def test_rejection_reason_reaches_the_requester_and_they_may_ask_again(api: Api, world: World):
    rid = world.request["id"]
    api.ok("POST", f"/link-requests/{rid}/reject", world.manager, json={"reason": "Unknown to us"})
    (event,) = api.outbox(request_id=rid, user_id=world.user, reason="Unknown to us")
    assert event["type"] == "linking.link.rejected"
    mine = api.ok("GET", "/me/link-requests", world.user)["items"]
    assert [(r["id"], r["status"], r["reason"]) for r in mine] == [(rid, "rejected", "Unknown to us")]
    again = api.ok("POST", f"/companies/{world.a['id']}/link-requests", world.user, 201, json={"share_contact": True})
    api.ok("POST", f"/link-requests/{again['id']}/withdraw", world.user)
    assert types(api.outbox(request_id=again["id"]))[-1] == "linking.link.withdrawn"
    assert api.ok("GET", f"/companies/{world.a['id']}/link-requests", world.manager)["items"] == []


def test_manager_roles_and_primary_contact(api: Api, world: World):
    a = world.a["id"]
    api.ok("PATCH", f"/companies/{a}/members/{world.member}", world.manager, json={"role": "manager"})
    # the new manager now sees the pending request: that is a disclosure too
    shared = [e for e in api.outbox(link_request_id=world.request["id"]) if e["payload"]["trigger"] == "manager_added"]
    assert [e["payload"]["recipient_manager_ids"] for e in shared] == [[world.member]]
    api.ok("PUT", f"/companies/{a}/primary-contact", world.manager, json={"user_id": world.member})
    assert api.ok("GET", "/me/companies", world.member)["items"][0]["primary_contact"] is True
    # the old primary contact may now be demoted and leave; the new one may not
    api.ok("PATCH", f"/companies/{a}/members/{world.manager}", world.member, json={"role": "member"})
    resp = api.call("PATCH", f"/companies/{a}/members/{world.member}", world.member, json={"role": "member"})
    assert resp.status_code == 409
    resp = api.call("DELETE", f"/companies/{a}/members/{world.member}", world.member)
    assert resp.status_code == 409
    api.ok("DELETE", f"/companies/{a}/members/{world.manager}", world.manager, 204)
    assert [m["user_id"] for m in api.ok("GET", f"/companies/{a}/members", world.member)["items"]] == [world.member]
    moved = [e for e in api.outbox(company_id=a) if e["type"] == "linking.primary_contact.transferred"]
    assert [(e["payload"]["from_user_id"], e["payload"]["to_user_id"]) for e in moved] == [
        (world.manager, world.member)]


def test_contact_details_fall_back_to_identity_over_http(api: Api, world: World, identity_stub):
    newcomer = f"new-{uuid.uuid4().hex[:8]}"
    identity_stub.users[newcomer] = {"id": newcomer, "name": "New Comer", "email": "new@example.test",
                                     "phone": None, "email_verified": True}
    api.ok("POST", f"/companies/{world.a['id']}/link-requests", newcomer, 201, json={"share_contact": True})
    api.ok("POST", f"/companies/{world.b['id']}/link-requests", newcomer, 201, json={"share_contact": True})
    assert identity_stub.calls.count(newcomer) == 2  # asked at every request: is the address confirmed now?
    listed = api.ok("GET", f"/companies/{world.a['id']}/link-requests", world.manager)["items"]
    assert {"name": "New Comer", "email": "new@example.test", "phone": None} in [i["contact"] for i in listed]
    shared = [e for e in api.outbox(subject_user_id=newcomer)]
    assert shared[0]["payload"]["data_categories"] == ["name", "email"]


def test_an_unconfirmed_address_cannot_ask_to_join(api: Api, world: World, identity_stub):
    """Asking to join shares the address with the company's managers: only a confirmed one may, and
    confirming counts at once (identity is asked, not the projection fed by events)."""
    (newcomer,) = api.register("unconfirmed")
    identity_stub.users[newcomer]["email_verified"] = False
    path = f"/companies/{world.a['id']}/link-requests"
    resp = api.call("POST", path, newcomer, json={"share_contact": True})
    assert resp.status_code == 403, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "email_unverified" and "Confirm your email address" in error["message"]
    assert api.outbox(user_id=newcomer) == [] and api.outbox(subject_user_id=newcomer) == []
    del identity_stub.users[newcomer]["email_verified"]  # an answer without the flag is no confirmation
    assert api.call("POST", path, newcomer, json={"share_contact": True}).status_code == 403
    identity_stub.users[newcomer]["email_verified"] = True
    api.ok("POST", path, newcomer, 201, json={"share_contact": True})


def test_unknown_to_identity_gives_503(api: Api, world: World):
    resp = api.call("POST", f"/companies/{world.a['id']}/link-requests", f"ghost-{uuid.uuid4().hex[:6]}",
                    json={"share_contact": True})
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "identity_unavailable"


def test_identity_down_gives_503_to_link_requests_only(api: Api, world: World, linking_db, redis_url, secret):
    down = bootstrap(linking_settings(linking_db, redis_url, secret, f"http://127.0.0.1:{free_port()}"),
                     run_migrations=False)
    try:
        other = Api(client=create_app(down).test_client(), secret=secret, container=down)
        resp = other.call("POST", f"/companies/{world.a['id']}/link-requests", f"ghost-{uuid.uuid4().hex[:6]}",
                          json={"share_contact": True})
        assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "identity_unavailable"
        assert "Traceback" not in resp.get_data(as_text=True)
        # a person linking knows is refused too: only identity can say their address is confirmed now
        known = other.call("POST", f"/companies/{world.b['id']}/link-requests", world.member,
                           json={"share_contact": True})
        assert known.status_code == 503 and known.get_json()["error"]["code"] == "identity_unavailable"
        other.ok("GET", f"/companies/{world.a['id']}/link-requests", world.manager)  # what needs no identity works
    finally:
        down.runtime.engine.dispose()


def test_profile_correction_reaches_the_managers_view(api: Api, world: World):
    api.deliver([new_event("identity.user.updated", producer="identity", actor=world.user,
                           subject=world.user,
                           payload={"user_id": world.user, "changed": ["email"], "name": f"Person {world.user}",
                                    "email": "corrected@example.test", "phone": "+32 2 555 00 00"})])
    (item,) = api.ok("GET", f"/companies/{world.a['id']}/link-requests", world.manager)["items"]
    assert item["contact"]["email"] == "corrected@example.test"
    # the registration, delivered again late (at least once), does not undo the correction
    api.deliver([registered(world.user, occurred_at=clock.now() - timedelta(minutes=5))])
    (item,) = api.ok("GET", f"/companies/{world.a['id']}/link-requests", world.manager)["items"]
    assert item["contact"]["email"] == "corrected@example.test"


def race(n: int, call) -> list[int]:
    """Run ``call`` from n threads at once; their statuses."""
    barrier, statuses = threading.Barrier(n), []

    def run() -> None:
        barrier.wait()
        statuses.append(call())

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(statuses)


def test_concurrent_duplicate_requests_make_one(api: Api, world: World):
    (asker,) = api.register("asker")
    app = api.client.application

    def ask() -> int:
        client = Api(client=app.test_client(), secret=api.secret, container=api.container)
        return client.call("POST", f"/companies/{world.b['id']}/link-requests", asker,
                           json={"share_contact": True}).status_code

    assert race(4, ask) == [201, 409, 409, 409]
    assert types(api.outbox(user_id=asker, company_id=world.b["id"])) == ["linking.link.requested",
                                                                         "linking.contact.shared"]


def test_concurrent_decisions_decide_once(api: Api, world: World):
    api.ok("PATCH", f"/companies/{world.a['id']}/members/{world.member}", world.manager, json={"role": "manager"})
    app = api.client.application
    deciders = iter([(world.manager, "approve"), (world.member, "reject"), (world.admin, "approve")])
    lock = threading.Lock()

    def decide() -> int:
        with lock:
            who, action = next(deciders)
        client = Api(client=app.test_client(), secret=api.secret, container=api.container, admins=api.admins)
        return client.call("POST", f"/link-requests/{world.request['id']}/{action}", who).status_code

    assert race(3, decide) == [200, 409, 409]
    decided = [e for e in api.outbox(request_id=world.request["id"]) if e["type"] != "linking.link.requested"]
    assert len(decided) == 1


def test_health_and_readiness(api: Api):
    assert api.client.get("/healthz").status_code == 200
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == ["broker", "database"]


def test_admin_reads_are_recorded_for_each_person(api: Api, world: World):
    api.ok("GET", f"/companies/{world.a['id']}/link-requests", world.manager)
    assert [e for e in api.outbox(subject_user_id=world.user) if e["type"] == "linking.pii.accessed"] == []
    api.ok("GET", f"/companies/{world.a['id']}/link-requests", world.admin)
    api.ok("GET", f"/companies/{world.a['id']}/members", world.admin)
    reads = [e for e in api.outbox(company_id=world.a["id"]) if e["type"] == "linking.pii.accessed"]
    assert sorted((e["subject"], e["payload"]["reason"]) for e in reads) == sorted([
        (world.user, "link_requests_listed"), (world.manager, "members_listed"), (world.member, "members_listed")])
    assert {e["actor"] for e in reads} == {world.admin}


def test_search_treats_wildcards_literally(api: Api, world: World):
    tag = uuid.uuid4().hex[:6]
    pure = api.ok("POST", "/companies", world.admin, 201,
                  json={"name": f"100%_Pure {tag}", "primary_contact_user_id": world.user})
    found = api.ok("GET", "/companies?q=%25_&limit=50", world.user)["items"]
    assert [c["id"] for c in found] == [pure["id"]]
    paged = api.ok("GET", "/companies?limit=1", world.user)
    assert len(paged["items"]) == 1 and paged["next_offset"] == 1
