"""Every content route against every kind of caller: who gets what, and that nobody ever reads another
company's items or another person's queries."""

from __future__ import annotations

import io

import pytest

from tests.integration.content.conftest import COMPANY_A, COMPANY_B, PERSONAS

pytestmark = pytest.mark.integration

CALLERS = ("anonymous", "user", "member", "manager", "other_member", "editor", "support", "admin")

# Which items each caller may read (keys of the ``world`` fixture's items).
READS = {
    "anonymous": {"public"},
    "user": {"public", "users"},
    "member": {"public", "users", "company_a"},
    "manager": {"public", "users", "company_a"},
    "other_member": {"public", "users", "company_b"},
    "editor": {"public", "users", "company_a", "company_b", "draft"},
    "support": {"public", "users"},
    "admin": {"public", "users"},
}


@pytest.fixture
def world(content, memberships):
    made = {
        "public": content.item("public"),
        "users": content.item("users"),
        "company_a": content.item("company", COMPANY_A),
        "company_b": content.item("company", COMPANY_B),
        "draft": content.item("public", status="unpublished"),
    }
    files = {key: content.attach(item["id"], data=f"file of {key}".encode()) for key, item in made.items()}
    queries = {
        "user_question": content.query("user"),
        "member_complaint": content.query("member", "complaint"),
        "other_question": content.query("other_member"),
        "editor_question": content.query("editor"),
    }
    taken = content.call("PATCH", f"/queries/{queries['other_question']['id']}", "support2",
                         json={"owner_id": "u-support2"})
    assert taken.status_code == 200
    return {"items": made, "files": files, "queries": queries}


def error_code(resp) -> str:
    body = resp.get_json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"]), body
    return body["error"]["code"]


@pytest.mark.parametrize("who", CALLERS)
def test_listing_items_shows_exactly_what_the_caller_may_read(content, world, who):
    resp = content.call("GET", "/items?limit=100", who)
    assert resp.status_code == 200
    ids = {i["id"] for i in resp.get_json()["items"]}
    assert ids == {world["items"][key]["id"] for key in READS[who]}


@pytest.mark.parametrize("who", CALLERS)
def test_filtering_by_another_company_never_widens_the_list(content, world, who):
    for company in (COMPANY_A, COMPANY_B):
        resp = content.call("GET", f"/items?visibility=company&company_id={company}", who)
        assert resp.status_code == 200
        ids = {i["id"] for i in resp.get_json()["items"]}
        allowed = {world["items"][k]["id"] for k in READS[who] if k.startswith("company_")}
        assert ids <= allowed


@pytest.mark.parametrize("who", CALLERS)
def test_reading_an_item_or_its_file_is_allowed_exactly_for_its_readers(content, world, who):
    for key, item in world["items"].items():
        resp = content.call("GET", f"/items/{item['id']}", who)
        download = content.call("GET", f"/collaterals/{world['files'][key]['id']}/download", who)
        if key in READS[who]:
            assert resp.status_code == 200 and resp.get_json()["id"] == item["id"]
            assert download.status_code == 200 and download.data == f"file of {key}".encode()
        else:
            # 404, not 403: whether an item exists is itself none of the caller's business.
            assert resp.status_code == 404 and error_code(resp) == "not_found"
            assert download.status_code == 404 and error_code(download) == "not_found"
            assert b"file of" not in resp.data + download.data


@pytest.mark.parametrize("who", CALLERS)
def test_only_editors_create_update_and_upload(content, world, who):
    item_id = world["items"]["public"]["id"]
    create = content.call("POST", "/items", who, json={"title": "New", "visibility": "public"})
    update = content.call("PATCH", f"/items/{item_id}", who, json={"title": "Changed"})
    upload = content.call("POST", f"/items/{item_id}/collaterals", who, content_type="multipart/form-data",
                          data={"file": (io.BytesIO(b"hello"), "a.txt", "text/plain")})
    if who == "editor":
        assert (create.status_code, update.status_code, upload.status_code) == (201, 200, 201)
        return
    expected = (401, "not_authenticated") if who == "anonymous" else (403, "forbidden")
    for resp in (create, update, upload):
        assert (resp.status_code, error_code(resp)) == expected
    assert content.call("GET", f"/items/{item_id}", "editor").get_json()["title"] == "public item"


def test_editors_update_and_upload_to_a_missing_item_is_not_found(content, world):
    assert content.call("PATCH", "/items/nope", "editor", json={"title": "x"}).status_code == 404
    resp = content.call("POST", "/items/nope/collaterals", "editor", content_type="multipart/form-data",
                        data={"file": (io.BytesIO(b"hello"), "a.txt", "text/plain")})
    assert resp.status_code == 404


# Which queries each caller sees in GET /queries (and may read one by one and reply to).
SEES_QUERIES = {
    "anonymous": set(),
    "user": {"user_question"},
    "member": {"member_complaint"},
    "manager": set(),
    "other_member": {"other_question"},
    "editor": {"editor_question"},
    "support": {"user_question", "member_complaint", "editor_question"},  # all but a colleague's case
    "admin": {"user_question", "member_complaint", "other_question", "editor_question"},
}


@pytest.mark.parametrize("who", CALLERS)
def test_queries_are_seen_by_their_author_and_the_staff_who_handle_them(content, world, who):
    listing = content.call("GET", "/queries", who)
    if who == "anonymous":
        assert listing.status_code == 401 and error_code(listing) == "not_authenticated"
    else:
        assert listing.status_code == 200
        ids = {q["id"] for q in listing.get_json()["items"]}
        assert ids == {world["queries"][k]["id"] for k in SEES_QUERIES[who]}
    for key, query in world["queries"].items():
        one = content.call("GET", f"/queries/{query['id']}", who)
        reply = content.call("POST", f"/queries/{query['id']}/replies", who, json={"body": "More"})
        if who == "anonymous":
            assert one.status_code == reply.status_code == 401
        elif key in SEES_QUERIES[who]:
            assert one.status_code == 200 and one.get_json()["subject"] == "Subject"
            assert reply.status_code == 201
        else:
            assert one.status_code == reply.status_code == 404
            assert b"Subject" not in one.data + reply.data


@pytest.mark.parametrize("who", CALLERS)
def test_everyone_logged_in_may_ask(content, world, who):
    resp = content.call("POST", "/queries", who, json={"subject": "S", "body": "B", "kind": "question"})
    assert resp.status_code == (401 if who == "anonymous" else 201)


@pytest.mark.parametrize("who", CALLERS)
def test_only_support_and_admins_run_complaint_cases(content, world, who):
    complaint = world["queries"]["member_complaint"]["id"]
    colleague_case = world["queries"]["other_question"]["id"]
    resp = content.call("PATCH", f"/queries/{complaint}", who, json={"status": "acknowledged"})
    other = content.call("PATCH", f"/queries/{colleague_case}", who, json={"owner_id": PERSONAS[who].user_id})
    if who == "anonymous":
        assert resp.status_code == other.status_code == 401
    elif who in ("support", "admin"):
        assert resp.status_code == 200 and resp.get_json()["status"] == "acknowledged"
        assert other.status_code == (200 if who == "admin" else 404)
    else:
        assert resp.status_code == other.status_code == 403
        assert error_code(resp) == "forbidden"


def test_an_unsigned_or_forged_call_is_refused(content, world):
    item_id = world["items"]["public"]["id"]
    assert content.client.get(f"/items/{item_id}").status_code == 401
    forged = content.call("GET", f"/items/{item_id}", "user")  # signed for the user...
    assert forged.status_code == 200
    headers = {"X-Portal-User": "u-editor", "X-Portal-Roles": "editor"}
    resp = content.call("GET", f"/items/{world['items']['draft']['id']}", "user", headers=headers)
    assert resp.status_code == 401 and error_code(resp) == "untrusted_caller"
