"""Linking and content end to end, every process real (``portal run``) and every call through the gateway: companies,
link requests approved by a company's manager, the authorization matrix over the main linking and content
routes, a member's removal taking their company access away within seconds (content's membership
projection, fed by linking's events), a collateral uploaded and downloaded with its hash intact, and bad
input answered with the contract's error shape, never a 5xx."""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass

import pytest
import requests

from tests.support.people import confirm_email, grant
from tests.support.platform import Platform
from tests.support.processes import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "correct horse battery staple"
TIMEOUT = 30
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@dataclass
class Actor:
    name: str
    http: requests.Session
    user_id: str | None = None
    email: str | None = None
    phone: str | None = None


def register(base: str, name: str, phone: str | None = None) -> tuple[dict, str]:
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    body = {"name": name, "email": email, "password": PASSWORD}
    if phone:
        body["phone"] = phone
    resp = requests.post(f"{base}/api/identity/users", json=body, timeout=TIMEOUT)
    assert resp.status_code == 201, resp.text
    return resp.json(), email


def person(platform: Platform, name: str, role: str | None = None, phone: str | None = None,
           confirmed: bool = False) -> Actor:
    """Register, confirm the address if asked (a link request needs it), grant a staff role (before logging
    in: a grant ends the person's sessions), log in."""
    user, email = register(platform.url, name, phone)
    if confirmed:
        confirm_email(platform, email)
    if role:
        grant(platform, email, role)
    http = requests.Session()
    resp = http.post(f"{platform.url}/api/identity/sessions", json={"email": email, "password": PASSWORD},
                     timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text
    http.headers["X-CSRF-Token"] = resp.json()["csrf_token"]
    return Actor(name, http, user["id"], email, phone)


def anonymous() -> Actor:
    return Actor("anonymous", requests.Session())


def assert_error(resp: requests.Response, status: int, code: str | None = None, field: str | None = None) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    body = resp.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str), body
    assert isinstance(error["fields"], dict), body
    assert "Traceback" not in resp.text
    if code:
        assert error["code"] == code, body
    if field:
        assert field in error["fields"], body
    return error


def join(base: str, manager: Actor, joiner: Actor, company_id: str) -> dict:
    """``joiner`` asks to join with their contact shared; ``manager`` sees the request and approves it."""
    asked = joiner.http.post(f"{base}/api/linking/companies/{company_id}/link-requests",
                             json={"share_contact": True, "message": "Let me in"}, timeout=TIMEOUT)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["status"] == "pending" and request["user_id"] == joiner.user_id
    pending = manager.http.get(f"{base}/api/linking/companies/{company_id}/link-requests", timeout=TIMEOUT)
    assert pending.status_code == 200, pending.text
    (shown,) = [r for r in pending.json()["items"] if r["id"] == request["id"]]
    approved = manager.http.post(f"{base}/api/linking/link-requests/{request['id']}/approve", timeout=TIMEOUT)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    return shown


def can_read(actor: Actor, base: str, item_id: str) -> int:
    return actor.http.get(f"{base}/api/content/items/{item_id}", timeout=TIMEOUT).status_code


@pytest.fixture(scope="module")
def world(platform: Platform) -> dict:
    base = platform.url
    actors = {
        "anonymous": anonymous(),
        "user": person(platform, "Ursula", confirmed=True),
        "admin": person(platform, "Adam", "admin"),
        "editor": person(platform, "Edna", "editor"),
        "support": person(platform, "Sam", "support"),
        "manager": person(platform, "Mona"),
        "member": person(platform, "Mel", phone="+44 20 7946 0001", confirmed=True),
        "b_manager": person(platform, "Bert"),
        "b_member": person(platform, "Bea", confirmed=True),
    }
    admin = actors["admin"].http
    companies = {}
    for key, manager in (("A", "manager"), ("B", "b_manager")):
        resp = admin.post(f"{base}/api/linking/companies", timeout=TIMEOUT, json={
            "name": f"Company {key} {uuid.uuid4().hex[:6]}", "domain": f"{key.lower()}.example.com",
            "primary_contact_user_id": actors[manager].user_id})
        assert resp.status_code == 201, resp.text
        companies[key] = resp.json()["id"]

    shown = join(base, actors["manager"], actors["member"], companies["A"])
    join(base, actors["b_manager"], actors["b_member"], companies["B"])

    # A pending request nobody decides: the target of the approve/reject rows of the matrix.
    pending = actors["user"].http.post(f"{base}/api/linking/companies/{companies['A']}/link-requests",
                                       json={"share_contact": True}, timeout=TIMEOUT)
    assert pending.status_code == 201, pending.text

    editor = actors["editor"].http
    items = {}
    for key, visibility, company in (("company_a", "company", companies["A"]), ("users", "users", None),
                                     ("public", "public", None)):
        body = {"title": f"{key} item", "body": "text", "visibility": visibility, "status": "published"}
        if company:
            body["company_id"] = company
        resp = editor.post(f"{base}/api/content/items", json=body, timeout=TIMEOUT)
        assert resp.status_code == 201, resp.text
        items[key] = resp.json()["id"]

    query = actors["user"].http.post(f"{base}/api/content/queries", timeout=TIMEOUT, json={
        "subject": "Where is my invoice?", "body": "Private question", "kind": "question"})
    assert query.status_code == 201, query.text

    # content learns memberships from linking's events: wait until A's member reads A's item.
    wait_until(lambda: can_read(actors["member"], base, items["company_a"]) == 200, timeout=60, interval=0.5,
               message="content's projection of A's member")
    wait_until(lambda: can_read(actors["b_member"], base, items["company_a"]) == 404, timeout=5, interval=0.5,
               message="B's member")  # settled already; just the first read
    return {"actors": actors, "companies": companies, "items": items, "shown": shown,
            "pending_request": pending.json()["id"], "query": query.json()["id"]}


def test_manager_sees_exactly_the_shared_contact_details(world):
    shown = world["shown"]
    member = world["actors"]["member"]
    assert set(shown["contact"]) == {"name", "email", "phone"}, shown
    assert shown["contact"] == {"name": member.name, "email": member.email, "phone": member.phone}
    assert "user_id" not in shown, shown
    assert set(shown) == {"id", "company_id", "status", "message", "created_at", "contact"}, shown


# (who, method, path template, json body or None, expected status). Templates use the world's ids.
MATRIX = [
    # create company: admin only
    ("anonymous", "POST", "/api/linking/companies", "new_company", 401),
    ("user", "POST", "/api/linking/companies", "new_company", 403),
    ("editor", "POST", "/api/linking/companies", "new_company", 403),
    ("manager", "POST", "/api/linking/companies", "new_company", 403),
    ("admin", "POST", "/api/linking/companies", "new_company", 201),
    # pending link requests of A: A's managers (and admins)
    ("anonymous", "GET", "/api/linking/companies/{A}/link-requests", None, 401),
    ("user", "GET", "/api/linking/companies/{A}/link-requests", None, 403),
    ("editor", "GET", "/api/linking/companies/{A}/link-requests", None, 403),
    ("support", "GET", "/api/linking/companies/{A}/link-requests", None, 403),
    ("member", "GET", "/api/linking/companies/{A}/link-requests", None, 403),
    ("b_member", "GET", "/api/linking/companies/{A}/link-requests", None, 403),
    ("b_manager", "GET", "/api/linking/companies/{A}/link-requests", None, 403),
    ("manager", "GET", "/api/linking/companies/{A}/link-requests", None, 200),
    # deciding someone else's request: A's managers only
    ("anonymous", "POST", "/api/linking/link-requests/{pending}/approve", None, 401),
    ("user", "POST", "/api/linking/link-requests/{pending}/approve", None, 403),
    ("member", "POST", "/api/linking/link-requests/{pending}/approve", None, 403),
    ("b_manager", "POST", "/api/linking/link-requests/{pending}/approve", None, 403),
    ("editor", "POST", "/api/linking/link-requests/{pending}/approve", None, 403),
    ("member", "POST", "/api/linking/link-requests/{pending}/reject", {"reason": "no"}, 403),
    ("b_member", "POST", "/api/linking/link-requests/{pending}/reject", {"reason": "no"}, 403),
    ("support", "POST", "/api/linking/link-requests/{pending}/reject", {"reason": "no"}, 403),
    # members of A
    ("anonymous", "GET", "/api/linking/companies/{A}/members", None, 401),
    ("user", "GET", "/api/linking/companies/{A}/members", None, 403),
    ("member", "GET", "/api/linking/companies/{A}/members", None, 403),
    ("b_member", "GET", "/api/linking/companies/{A}/members", None, 403),
    ("b_manager", "GET", "/api/linking/companies/{A}/members", None, 403),
    ("manager", "GET", "/api/linking/companies/{A}/members", None, 200),
    ("admin", "GET", "/api/linking/companies/{A}/members", None, 200),
    # removing someone from A: not for other people
    ("b_manager", "DELETE", "/api/linking/companies/{A}/members/{member_id}", None, 403),
    ("user", "DELETE", "/api/linking/companies/{A}/members/{member_id}", None, 403),
    # create item: editors only
    ("anonymous", "POST", "/api/content/items", "new_item", 401),
    ("user", "POST", "/api/content/items", "new_item", 403),
    ("admin", "POST", "/api/content/items", "new_item", 403),
    ("support", "POST", "/api/content/items", "new_item", 403),
    ("manager", "POST", "/api/content/items", "new_item", 403),
    ("editor", "POST", "/api/content/items", "new_item", 201),
    # a company-A item: A's people and editors; 404 (not 403) for everyone else
    ("member", "GET", "/api/content/items/{company_a}", None, 200),
    ("manager", "GET", "/api/content/items/{company_a}", None, 200),
    ("editor", "GET", "/api/content/items/{company_a}", None, 200),
    ("b_member", "GET", "/api/content/items/{company_a}", None, 404),
    ("b_manager", "GET", "/api/content/items/{company_a}", None, 404),
    ("user", "GET", "/api/content/items/{company_a}", None, 404),
    ("admin", "GET", "/api/content/items/{company_a}", None, 404),
    ("support", "GET", "/api/content/items/{company_a}", None, 404),
    ("anonymous", "GET", "/api/content/items/{company_a}", None, 404),
    # a `users` item: any logged-in person; not anonymous
    ("anonymous", "GET", "/api/content/items/{users}", None, 404),
    ("user", "GET", "/api/content/items/{users}", None, 200),
    ("b_member", "GET", "/api/content/items/{users}", None, 200),
    ("anonymous", "GET", "/api/content/items/{public}", None, 200),
    # a user's query: the author and support (unassigned); nobody else
    ("user", "GET", "/api/content/queries/{query}", None, 200),
    ("support", "GET", "/api/content/queries/{query}", None, 200),
    ("member", "GET", "/api/content/queries/{query}", None, 404),
    ("b_member", "GET", "/api/content/queries/{query}", None, 404),
    ("editor", "GET", "/api/content/queries/{query}", None, 404),
    ("anonymous", "GET", "/api/content/queries/{query}", None, 401),
]


def _body(kind, world):
    if kind == "new_company":
        return {"name": f"Matrix Co {uuid.uuid4().hex[:8]}",
                "primary_contact_user_id": world["actors"]["user"].user_id}
    if kind == "new_item":
        return {"title": "Matrix item", "body": "x", "visibility": "public"}
    return kind


@pytest.mark.parametrize("who, method, template, body, expected", MATRIX,
                         ids=[f"{w}-{m}-{t.split('/api/')[1]}-{e}" for w, m, t, _, e in MATRIX])
def test_authorization_matrix(platform, world, who, method, template, body, expected):
    ids = {"A": world["companies"]["A"], "B": world["companies"]["B"], "pending": world["pending_request"],
           "member_id": world["actors"]["member"].user_id, "query": world["query"], **world["items"]}
    url = platform.url + template.format(**ids)
    payload = _body(body, world)
    kwargs = {"json": payload} if payload is not None else {}
    resp = world["actors"][who].http.request(method, url, timeout=TIMEOUT, **kwargs)
    assert resp.status_code == expected, (resp.status_code, resp.text[:500])
    if expected >= 400:
        assert_error(resp, expected)


def test_lists_hide_what_the_caller_may_not_read(platform, world):
    base, actors, items = platform.url, world["actors"], world["items"]

    def listed(who: str) -> set[str]:
        resp = actors[who].http.get(f"{base}/api/content/items", params={"limit": 100}, timeout=TIMEOUT)
        assert resp.status_code == 200, resp.text
        return {i["id"] for i in resp.json()["items"]}

    assert items["company_a"] in listed("member")
    b_sees = listed("b_member")
    assert items["company_a"] not in b_sees and items["users"] in b_sees
    anon_sees = listed("anonymous")
    assert items["public"] in anon_sees and not anon_sees & {items["users"], items["company_a"]}

    queries = actors["b_member"].http.get(f"{base}/api/content/queries", timeout=TIMEOUT)
    assert queries.status_code == 200 and world["query"] not in {q["id"] for q in queries.json()["items"]}
    own = actors["user"].http.get(f"{base}/api/content/queries", timeout=TIMEOUT)
    assert own.status_code == 200 and world["query"] in {q["id"] for q in own.json()["items"]}

    members = actors["manager"].http.get(f"{base}/api/linking/companies/{world['companies']['A']}/members",
                                         timeout=TIMEOUT)
    assert {m["user_id"] for m in members.json()["items"]} == {actors["manager"].user_id,
                                                                actors["member"].user_id}


def test_removed_member_loses_company_access_within_seconds(platform, world):
    base, actors = platform.url, world["actors"]
    company, item = world["companies"]["A"], world["items"]["company_a"]
    leaving = person(platform, "Lee", confirmed=True)
    join(base, actors["manager"], leaving, company)
    wait_until(lambda: can_read(leaving, base, item) == 200, timeout=60, interval=0.5,
               message="access after approval")

    removed = actors["manager"].http.delete(f"{base}/api/linking/companies/{company}/members/{leaving.user_id}",
                                            timeout=TIMEOUT)
    assert removed.status_code == 204, removed.text
    wait_until(lambda: can_read(leaving, base, item) == 404, timeout=30, interval=0.5,
               message="access gone after removal")
    assert can_read(actors["member"], base, item) == 200  # the other member keeps theirs


def test_an_unconfirmed_address_carries_no_privileges(platform, world):
    """Anyone can register someone else's address: until its owner opens the mailed link, it can neither
    ask to join a company (its details would go to the managers) nor be given a staff role."""
    base, actors = platform.url, world["actors"]
    company = world["companies"]["A"]
    squatter = person(platform, "Sly")
    ask = f"{base}/api/linking/companies/{company}/link-requests"
    error = assert_error(squatter.http.post(ask, json={"share_contact": True}, timeout=TIMEOUT), 403,
                         "email_unverified")
    assert "confirm" in error["message"].lower()
    admin = actors["admin"].http
    assert admin.post(f"{base}/api/identity/reauth", json={"password": PASSWORD}, timeout=TIMEOUT).status_code == 200
    for path, body in ((f"/users/{squatter.user_id}/roles", {"role": "editor"}),
                       ("/staff/roles", {"email": squatter.email, "role": "editor"})):
        assert_error(admin.post(f"{base}/api/identity{path}", json=body, timeout=TIMEOUT), 409, "email_unverified",
                     field="email")
    assert squatter.http.get(f"{base}/api/identity/me", timeout=TIMEOUT).json()["roles"] == []

    confirm_email(platform, squatter.email or "")  # the owner after all: both work at once
    assert squatter.http.post(ask, json={"share_contact": True}, timeout=TIMEOUT).status_code == 201
    granted = admin.post(f"{base}/api/identity/users/{squatter.user_id}/roles", json={"role": "editor"},
                         timeout=TIMEOUT)
    assert granted.status_code == 200 and granted.json()["roles"] == ["editor"], granted.text


def test_collateral_upload_and_download_through_the_gateway(platform, world):
    base, actors, item = platform.url, world["actors"], world["items"]["company_a"]
    data = os.urandom(3 * 1024 * 1024 + 17)
    digest = hashlib.sha256(data).hexdigest()

    refused = actors["manager"].http.post(f"{base}/api/content/items/{item}/collaterals", timeout=TIMEOUT,
                                          files={"file": ("x.pdf", b"%PDF-1.4", "application/pdf")})
    assert_error(refused, 403)

    up = actors["editor"].http.post(f"{base}/api/content/items/{item}/collaterals", timeout=120,
                                    files={"file": ("Brochure 2024.pdf", data, "application/pdf")})
    assert up.status_code == 201, up.text
    stored = up.json()
    assert stored["sha256"] == digest and stored["size"] == len(data), stored
    assert stored["filename"] == "Brochure 2024.pdf" and stored["content_type"] == "application/pdf"

    detail = actors["manager"].http.get(f"{base}/api/content/items/{item}", timeout=TIMEOUT)
    assert stored["id"] in {c["id"] for c in detail.json()["collaterals"]}

    url = f"{base}/api/content/collaterals/{stored['id']}/download"
    down = actors["manager"].http.get(url, timeout=120)
    assert down.status_code == 200, down.text[:300]
    assert hashlib.sha256(down.content).hexdigest() == digest
    assert down.headers["Content-Disposition"].startswith("attachment"), down.headers
    assert down.headers["Content-Type"].startswith("application/pdf")

    assert_error(actors["b_member"].http.get(url, timeout=TIMEOUT), 404)
    assert_error(actors["anonymous"].http.get(url, timeout=TIMEOUT), 404)

    wrong_type = actors["editor"].http.post(f"{base}/api/content/items/{item}/collaterals", timeout=TIMEOUT,
                                            files={"file": ("x.exe", b"MZ...", "application/x-msdownload")})
    assert_error(wrong_type, 415, "unsupported_media_type")


def test_bad_input_is_a_4xx_with_the_error_shape(platform, world):
    base, actors = platform.url, world["actors"]
    admin, user = actors["admin"].http, actors["support"].http
    company = world["companies"]["A"]

    assert_error(admin.post(f"{base}/api/linking/companies", data=b"{oops", timeout=TIMEOUT,
                            headers={"Content-Type": "application/json"}), 400, "malformed_json")
    assert_error(user.post(f"{base}/api/content/queries", data=b"{oops", timeout=TIMEOUT,
                           headers={"Content-Type": "application/json"}), 400, "malformed_json")
    assert_error(user.post(f"{base}/api/content/queries", data=b"subject=hi", timeout=TIMEOUT,
                           headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type")
    assert_error(user.post(f"{base}/api/linking/companies/{company}/link-requests", data=b"share_contact=true",
                           timeout=TIMEOUT, headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)

    for body in ({}, {"share_contact": "true"}, {"share_contact": False}, {"share_contact": 1}):
        resp = user.post(f"{base}/api/linking/companies/{company}/link-requests", json=body, timeout=TIMEOUT)
        assert_error(resp, 422, field="share_contact")
    assert_error(actors["editor"].http.post(f"{base}/api/content/items", timeout=TIMEOUT,
                                            json={"title": "x", "visibility": "company"}), 422, field="company_id")
    assert_error(user.post(f"{base}/api/content/queries", json={"subject": "x", "body": "y", "kind": "rant"},
                           timeout=TIMEOUT), 422, field="kind")

    for weird in (UNKNOWN, "nope"):
        assert_error(user.get(f"{base}/api/linking/companies/{weird}", timeout=TIMEOUT), 404)
        assert_error(user.post(f"{base}/api/linking/companies/{weird}/link-requests", json={"share_contact": True},
                               timeout=TIMEOUT), 404)
        assert_error(admin.post(f"{base}/api/linking/link-requests/{weird}/approve", timeout=TIMEOUT), 404)
        assert_error(user.get(f"{base}/api/content/items/{weird}", timeout=TIMEOUT), 404)
        assert_error(user.get(f"{base}/api/content/collaterals/{weird}/download", timeout=TIMEOUT), 404)
        assert_error(user.get(f"{base}/api/content/queries/{weird}", timeout=TIMEOUT), 404)
