"""Bad input on every route: the contract's JSON error shape with the right 4xx, never a 5xx."""

from __future__ import annotations

import io

import pytest

pytestmark = pytest.mark.integration


def assert_error(resp, status: int, code: str | None = None, field: str | None = None) -> None:
    assert resp.status_code == status, (resp.status_code, resp.data[:300])
    body = resp.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, resp.data[:300]
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    assert isinstance(body["error"]["fields"], dict)
    assert b"Traceback" not in resp.data
    if code:
        assert body["error"]["code"] == code, body
    if field:
        assert field in body["error"]["fields"], body


@pytest.fixture
def things(content):
    item = content.item("public")
    return {"item": item, "file": content.attach(item["id"], data=b"0123456789", filename="digits.txt",
                                                 content_type="text/plain"),
            "query": content.query("user", "complaint")}


WEIRD_IDS = ["nope", "x" * 500, "%00", "%C3%A9t%C3%A9", "1;DROP TABLE items", "00000000-0000-0000-0000-000000000000"]


@pytest.mark.parametrize("item_id", WEIRD_IDS)
def test_unknown_or_weird_ids_are_not_found(content, things, item_id):
    assert_error(content.call("GET", f"/items/{item_id}", "editor"), 404, "not_found")
    assert_error(content.call("PATCH", f"/items/{item_id}", "editor", json={"title": "x"}), 404)
    assert_error(content.call("GET", f"/collaterals/{item_id}/download", "editor"), 404)
    assert_error(content.call("POST", f"/items/{item_id}/collaterals", "editor", content_type="multipart/form-data",
                              data={"file": (io.BytesIO(b"x"), "a.txt", "text/plain")}), 404)
    assert_error(content.call("GET", f"/queries/{item_id}", "admin"), 404)
    assert_error(content.call("POST", f"/queries/{item_id}/replies", "admin", json={"body": "x"}), 404)
    assert_error(content.call("PATCH", f"/queries/{item_id}", "admin", json={"status": "acknowledged"}), 404)


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"), ("limit=99999999999999999999", "limit"),
    ("cursor=garbage", "cursor"), ("cursor=WyJ4IiwieSJd", "cursor"), ("cursor=%00", "cursor"),
    ("visibility=secret", "visibility"), ("status=deleted", "status"), ("company_id=", "company_id"),
    ("company_id=%00", "company_id"),
])
def test_list_items_bad_query(content, things, query, field):
    assert_error(content.call("GET", f"/items?{query}", "editor"), 422, "validation_error", field)


def test_list_items_ignores_unknown_parameters(content, things):
    assert content.call("GET", "/items?utm_source=x&_=123").status_code == 200


@pytest.mark.parametrize("body, field", [
    ({}, "title"),
    ({"visibility": "public"}, "title"),
    ({"title": "x"}, "visibility"),
    ({"title": "", "visibility": "public"}, "title"),
    ({"title": "   ", "visibility": "public"}, "title"),
    ({"title": "x" * 201, "visibility": "public"}, "title"),
    ({"title": 42, "visibility": "public"}, "title"),
    ({"title": None, "visibility": "public"}, "title"),
    ({"title": "x", "visibility": "everyone"}, "visibility"),
    ({"title": "x", "visibility": "company"}, "company_id"),
    ({"title": "x", "visibility": "public", "company_id": "c"}, "company_id"),
    ({"title": "x", "visibility": "company", "company_id": 7}, "company_id"),
    ({"title": "x", "visibility": "public", "status": "gone"}, "status"),
    ({"title": "x", "visibility": "public", "body": ["list"]}, "body"),
    ({"title": "x\u0000y", "visibility": "public"}, "title"),
    ({"title": "x", "visibility": "public", "owner": "me"}, "owner"),
])
def test_create_item_bad_fields(content, body, field):
    assert_error(content.call("POST", "/items", "editor", json=body), 422, "validation_error", field)


@pytest.mark.parametrize("kwargs, status, code", [
    ({"data": "{not json", "content_type": "application/json"}, 400, "malformed_json"),
    ({"data": "[1, 2]", "content_type": "application/json"}, 422, "validation_error"),
    ({"data": '"just a string"', "content_type": "application/json"}, 422, "validation_error"),
    ({"data": "title=x", "content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ({"data": "x", "content_type": "text/plain"}, 415, "unsupported_media_type"),
    ({"json": {"title": "x", "visibility": "public", "body": "b" * 70_000}}, 413, "payload_too_large"),
])
def test_create_item_bad_bodies(content, kwargs, status, code):
    assert_error(content.call("POST", "/items", "editor", **kwargs), status, code)


@pytest.mark.parametrize("body, status, field", [
    ({}, 422, "_schema"),
    ({"title": ""}, 422, "title"),
    ({"title": None}, 422, "title"),
    ({"visibility": "company"}, 422, "company_id"),
    ({"status": "archived"}, 422, "status"),
    ({"unknown": 1}, 422, "unknown"),
])
def test_update_item_bad_fields(content, things, body, status, field):
    resp = content.call("PATCH", f"/items/{things['item']['id']}", "editor", json=body)
    assert_error(resp, status, "validation_error", field)


def test_update_item_malformed_json(content, things):
    resp = content.call("PATCH", f"/items/{things['item']['id']}", "editor", data="{", content_type="application/json")
    assert_error(resp, 400, "malformed_json")


BOUNDARY = "XyZ"


def multipart(*parts: bytes, end: bool = True) -> bytes:
    out = b"".join(f"--{BOUNDARY}\r\n".encode() + p + b"\r\n" for p in parts)
    return out + (f"--{BOUNDARY}--\r\n".encode() if end else b"")


def file_part(data: bytes, name: str = "file", ctype: str = "text/plain") -> bytes:
    return (f'Content-Disposition: form-data; name="{name}"; filename="a.txt"\r\nContent-Type: {ctype}\r\n\r\n'
            .encode() + data)


@pytest.mark.parametrize("kwargs, status, code", [
    ({"json": {"file": "abc"}}, 415, "unsupported_media_type"),
    ({"data": "abc", "content_type": "text/plain"}, 415, "unsupported_media_type"),
    ({"data": multipart(file_part(b"x")), "content_type": "multipart/form-data"}, 400, "malformed_upload"),
    ({"data": multipart(file_part(b"x", name="document")), "content_type": f"multipart/form-data; boundary={BOUNDARY}"},
     400, "malformed_upload"),
    ({"data": multipart(b'Content-Disposition: form-data; name="file"\r\n\r\njust text'),
      "content_type": f"multipart/form-data; boundary={BOUNDARY}"}, 400, "malformed_upload"),
    ({"data": multipart(file_part(b"x" * 5000), end=False)[:-100],
      "content_type": f"multipart/form-data; boundary={BOUNDARY}"}, 400, "malformed_upload"),
    ({"data": b"not multipart at all", "content_type": f"multipart/form-data; boundary={BOUNDARY}"},
     400, "malformed_upload"),
    ({"data": multipart(file_part(b"<html>", ctype="text/html")),
      "content_type": f"multipart/form-data; boundary={BOUNDARY}"}, 415, "unsupported_media_type"),
    ({"data": multipart(file_part(b"MZ", ctype="application/x-msdownload")),
      "content_type": f"multipart/form-data; boundary={BOUNDARY}"}, 415, "unsupported_media_type"),
    ({"data": multipart(file_part(b"")), "content_type": f"multipart/form-data; boundary={BOUNDARY}"},
     422, "validation_error"),
])
def test_upload_bad_bodies(content, things, kwargs, status, code):
    resp = content.call("POST", f"/items/{things['item']['id']}/collaterals", "editor", **kwargs)
    assert_error(resp, status, code)
    assert len(content.call("GET", f"/items/{things['item']['id']}", "editor").get_json()["collaterals"]) == 1


def upload_raw(content, item_id: str, data: bytes, **kwargs):
    """A multipart body built in memory: the test client would spool a large one to a temporary
    file it never closes (a ResourceWarning, hence an error here)."""
    return content.call("POST", f"/items/{item_id}/collaterals", "editor", data=multipart(file_part(data)),
                        content_type=f"multipart/form-data; boundary={BOUNDARY}", **kwargs)


def test_upload_over_the_limit_is_413_and_leaves_nothing(content, things):
    limit = content.container.settings.max_upload_bytes
    assert_error(upload_raw(content, things["item"]["id"], b"x" * (limit + 1)), 413, "payload_too_large")
    stored = [p for p in content.container.settings.storage_dir.rglob("*") if p.is_file()]
    assert len(stored) == 1  # only the fixture's file; no partial upload left behind
    exact = upload_raw(content, things["item"]["id"], b"x" * limit)
    assert exact.status_code == 201 and exact.get_json()["size"] == limit


def test_a_declared_body_far_over_the_limit_is_refused_before_reading(content, things):
    limit = content.container.settings.max_upload_bytes
    resp = upload_raw(content, things["item"]["id"], b"x", environ_overrides={"CONTENT_LENGTH": str(limit * 2)})
    assert_error(resp, 413, "payload_too_large")


@pytest.mark.parametrize("range_header", ["bytes=abc", "bytes=5-2", "items=0-1", "bytes=0-1,4-5", "bytes=--1", ""])
def test_download_ignores_ranges_it_cannot_use(content, things, range_header):
    resp = content.call("GET", f"/collaterals/{things['file']['id']}/download", "user",
                        headers={"Range": range_header})
    assert resp.status_code == 200 and resp.data == b"0123456789"


@pytest.mark.parametrize("range_header", ["bytes=10-", "bytes=100-200"])
def test_download_unsatisfiable_range_is_416(content, things, range_header):
    resp = content.call("GET", f"/collaterals/{things['file']['id']}/download", "user",
                        headers={"Range": range_header})
    assert_error(resp, 416, "range_not_satisfiable")
    assert resp.headers["Content-Range"] == "bytes */10"


@pytest.mark.parametrize("body, field", [
    ({}, "subject"),
    ({"subject": "s", "body": "b"}, "kind"),
    ({"subject": "s", "body": "b", "kind": "rant"}, "kind"),
    ({"subject": "", "body": "b", "kind": "question"}, "subject"),
    ({"subject": "s", "body": " ", "kind": "question"}, "body"),
    ({"subject": "s" * 201, "body": "b", "kind": "question"}, "subject"),
    ({"subject": "s", "body": "b" * 20_001, "kind": "question"}, "body"),
    ({"subject": ["s"], "body": "b", "kind": "question"}, "subject"),
    ({"subject": "s", "body": "b", "kind": "question", "user_id": "someone-else"}, "user_id"),
])
def test_post_query_bad_fields(content, body, field):
    assert_error(content.call("POST", "/queries", "user", json=body), 422, "validation_error", field)


def test_post_query_bad_bodies(content):
    assert_error(content.call("POST", "/queries", "user", data="{", content_type="application/json"), 400)
    assert_error(content.call("POST", "/queries", "user", data="x", content_type="text/plain"), 415)
    assert_error(content.call("POST", "/queries", "user", json=None), 422, "validation_error")


@pytest.mark.parametrize("query, field", [
    ("limit=-1", "limit"), ("cursor=%%%", "cursor"), ("kind=rant", "kind"), ("status=lost", "status"),
    ("mine=perhaps", "mine"), ("unassigned=2", "unassigned"), ("owner_id=", "owner_id"),
])
def test_list_queries_bad_query(content, query, field):
    assert_error(content.call("GET", f"/queries?{query}", "support"), 422, "validation_error", field)


@pytest.mark.parametrize("body, field", [
    ({}, "body"), ({"body": ""}, "body"), ({"body": "  \n"}, "body"), ({"body": 5}, "body"),
    ({"body": "x", "status": "resolved"}, "status"),
])
def test_reply_bad_fields(content, things, body, field):
    resp = content.call("POST", f"/queries/{things['query']['id']}/replies", "support", json=body)
    assert_error(resp, 422, "validation_error", field)


@pytest.mark.parametrize("body, status, code, field", [
    ({}, 422, "validation_error", "_schema"),
    ({"note": "only a note"}, 422, "validation_error", "_schema"),
    ({"status": "closed"}, 422, "validation_error", "status"),
    ({"status": "resolved"}, 409, "invalid_transition", None),
    ({"due_at": "tomorrow"}, 422, "validation_error", "due_at"),
    ({"due_at": "2031-01-01T00:00:00"}, 422, "validation_error", "due_at"),  # no time zone
    ({"due_at": "2001-01-01T00:00:00+00:00"}, 422, "validation_error", "due_at"),  # in the past
    ({"owner_id": 12}, 422, "validation_error", "owner_id"),
    ({"owner_id": "u-someone-else"}, 422, "validation_error", "owner_id"),
])
def test_update_case_bad_fields(content, things, body, status, code, field):
    resp = content.call("PATCH", f"/queries/{things['query']['id']}", "support", json=body)
    assert_error(resp, status, code, field)


def test_a_question_has_no_case_to_update(content):
    question = content.query("user")
    resp = content.call("PATCH", f"/queries/{question['id']}", "support", json={"status": "acknowledged"})
    assert_error(resp, 422, "validation_error", "status")


@pytest.mark.parametrize("method, path", [
    ("DELETE", "/items"), ("PUT", "/items"), ("DELETE", "/queries"), ("POST", "/collaterals/x/download"),
])
def test_wrong_methods_are_405(content, method, path):
    assert_error(content.call(method, path, "editor"), 405, "method_not_allowed")
