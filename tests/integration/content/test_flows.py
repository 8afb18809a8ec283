"""content's flows over HTTP on a real database: files with their HTTP headers, the access events with
the request's correlation id, a complaint case from received to resolved."""

from __future__ import annotations

import hashlib

import pytest

from tests.integration.content.conftest import COMPANY_A, member_event

pytestmark = pytest.mark.integration

DIGITS = b"0123456789" * 100


@pytest.fixture
def brochure(content, memberships):
    item = content.item("company", COMPANY_A)
    return item, content.attach(item["id"], data=DIGITS, filename="Prix été 2030.pdf")


def download(content, collateral_id: str, who: str = "member", request_id: str | None = None, **headers: str):
    return content.call("GET", f"/collaterals/{collateral_id}/download", who, request_id=request_id, headers=headers)


def test_upload_answers_id_name_size_and_hash(content, brochure):
    item, c = brochure
    assert c["filename"] == "Prix été 2030.pdf" and c["size"] == len(DIGITS)
    assert c["sha256"] == hashlib.sha256(DIGITS).hexdigest() and c["item_id"] == item["id"]
    listed = content.call("GET", f"/items/{item['id']}", "member").get_json()["collaterals"]
    assert [x["id"] for x in listed] == [c["id"]]


def test_download_is_an_attachment_with_etag_and_ranges(content, brochure):
    _, c = brochure
    resp = download(content, c["id"])
    assert resp.status_code == 200 and resp.data == DIGITS
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename=\"Prix ete 2030.pdf\"; filename*=UTF-8''Prix%20%C3%A9t%C3%A9%202030.pdf")
    assert resp.headers["ETag"] == f'"{c["sha256"]}"'
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["Content-Length"] == str(len(DIGITS))
    assert resp.headers["Content-Type"] == "application/pdf"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("header, start, end", [
    ("bytes=0-0", 0, 0), ("bytes=10-19", 10, 19), ("bytes=990-", 990, 999), ("bytes=-5", 995, 999),
    ("bytes=500-5000", 500, 999),
])
def test_single_ranges_are_206_with_their_bytes(content, brochure, header, start, end):
    _, c = brochure
    resp = download(content, c["id"], Range=header)
    assert resp.status_code == 206
    assert resp.data == DIGITS[start:end + 1]
    assert resp.headers["Content-Range"] == f"bytes {start}-{end}/{len(DIGITS)}"
    assert resp.headers["Content-Length"] == str(end - start + 1)


def test_if_range_with_a_stale_etag_gets_the_whole_file(content, brochure):
    _, c = brochure
    stale = download(content, c["id"], Range="bytes=0-9", **{"If-Range": '"0000"'})
    assert stale.status_code == 200 and stale.data == DIGITS
    fresh = download(content, c["id"], Range="bytes=0-9", **{"If-Range": f'"{c["sha256"]}"'})
    assert fresh.status_code == 206 and fresh.data == DIGITS[:10]


def test_a_client_with_the_file_gets_304_and_no_download_is_recorded(content, brochure):
    _, c = brochure
    before = len(content.outbox("content.collateral.downloaded"))
    resp = download(content, c["id"], **{"If-None-Match": f'"{c["sha256"]}"'})
    assert resp.status_code == 304 and resp.data == b""
    head = content.call("HEAD", f"/collaterals/{c['id']}/download", "member")
    assert head.status_code == 200 and head.data == b"" and head.headers["Content-Length"] == str(len(DIGITS))
    assert len(content.outbox("content.collateral.downloaded")) == before


def test_views_and_downloads_are_recorded_with_the_request_id(content, brochure):
    item, c = brochure
    assert content.call("GET", f"/items/{item['id']}", "member", request_id="req-view-1").status_code == 200
    assert download(content, c["id"], request_id="req-dl-1", Range="bytes=0-99").status_code == 206
    [viewed] = content.outbox("content.item.viewed")
    assert viewed["correlation_id"] == "req-view-1" and viewed["actor"] == "u-member"
    assert viewed["payload"]["item_id"] == item["id"] and viewed["producer"] == "content"
    [downloaded] = content.outbox("content.collateral.downloaded")
    assert downloaded["correlation_id"] == "req-dl-1" and downloaded["actor"] == "u-member"
    assert downloaded["payload"] == {"collateral_id": c["id"], "item_id": item["id"], "size": len(DIGITS),
                                     "bytes_sent": 100, "range": f"bytes 0-99/{len(DIGITS)}"}


def test_an_anonymous_view_is_recorded_as_anonymous(content):
    item = content.item("public")
    content.call("GET", f"/items/{item['id']}", "anonymous", request_id="req-anon")
    [viewed] = content.outbox("content.item.viewed")
    assert viewed["actor"] == "anonymous" and viewed["correlation_id"] == "req-anon"


def test_removing_a_member_takes_items_and_files_away_at_once(content, brochure):
    item, c = brochure
    assert download(content, c["id"]).status_code == 200
    content.deliver(member_event(False, COMPANY_A, "u-member"))
    assert content.call("GET", f"/items/{item['id']}", "member").status_code == 404
    assert download(content, c["id"]).status_code == 404
    assert content.call("GET", f"/items/{item['id']}", "manager").status_code == 200  # others stay
    content.deliver(member_event(True, COMPANY_A, "u-member"))
    assert content.call("GET", f"/items/{item['id']}", "member").status_code == 200


def test_a_redelivered_event_is_applied_once(content, memberships):
    item = content.item("company", COMPANY_A)
    removed = member_event(False, COMPANY_A, "u-member")
    content.deliver(removed)
    content.deliver(member_event(True, COMPANY_A, "u-member"))
    content.deliver(removed)  # at-least-once delivery: a duplicate must not remove the member again
    assert content.call("GET", f"/items/{item['id']}", "member").status_code == 200


def test_unpublishing_takes_an_item_away_from_its_readers(content):
    item = content.item("users")
    resp = content.call("PATCH", f"/items/{item['id']}", "editor", json={"status": "unpublished"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "unpublished"
    assert content.call("GET", f"/items/{item['id']}", "user").status_code == 404
    assert content.call("GET", "/items", "user").get_json()["items"] == []
    [updated] = content.outbox("content.item.updated")
    assert updated["payload"]["changed"] == ["status"] and updated["actor"] == "u-editor"


def test_items_page_through_a_cursor(content):
    made = [content.item("public")["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        resp = content.call("GET", "/items?limit=2" + (f"&cursor={cursor}" if cursor else ""), "anonymous")
        page = resp.get_json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 5


def test_a_complaint_case_from_received_to_resolved(content):
    complaint = content.query("user", "complaint", subject="My data was shared")
    assert complaint["status"] == "received" and complaint["due_at"] is not None
    assert complaint["overdue"] is False and complaint["owner_id"] is None
    qid = complaint["id"]
    step = content.call("PATCH", f"/queries/{qid}", "support", json={"status": "acknowledged", "note": "Looking"})
    assert step.status_code == 200 and step.get_json()["owner_id"] == "u-support"
    reply = content.call("POST", f"/queries/{qid}/replies", "support", json={"body": "We found the cause."})
    assert reply.status_code == 201 and reply.get_json()["by_staff"] is True
    more = content.call("POST", f"/queries/{qid}/replies", "user", json={"body": "Thanks, and?"})
    assert more.status_code == 201 and more.get_json()["by_staff"] is False
    done = content.call("PATCH", f"/queries/{qid}", "support", json={"status": "resolved", "note": "Deleted."})
    assert done.status_code == 200
    seen = content.call("GET", f"/queries/{qid}", "user").get_json()
    assert seen["status"] == "resolved"
    assert [(h["kind"], h["from_value"], h["to_value"]) for h in seen["history"]] == [
        ("status", "received", "acknowledged"), ("assignment", None, "u-support"), ("reply", None, None),
        ("reply", None, None), ("status", "acknowledged", "resolved")]
    told = [e["type"] for e in content.outbox() if e["type"].startswith("content.complaint.")]
    assert told == ["content.complaint.received", "content.complaint.status_changed",
                    "content.complaint.followed_up", "content.complaint.status_changed"]
    assert all(e["payload"]["complainant_user_id"] == "u-user"
               for e in content.outbox() if e["type"].startswith("content.complaint."))
    again = content.call("PATCH", f"/queries/{qid}", "support", json={"status": "escalated"})
    assert again.status_code == 409


def test_staff_reading_a_query_is_recorded_for_its_author(content):
    question = content.query("user")
    content.call("GET", f"/queries/{question['id']}", "support", request_id="req-staff-read")
    [access] = content.outbox("content.pii.accessed")
    assert access["subject"] == "u-user" and access["actor"] == "u-support"
    assert access["payload"]["subject_user_id"] == "u-user" and access["payload"]["query_ids"] == [question["id"]]
    assert access["correlation_id"] == "req-staff-read"
    [posted] = content.outbox("content.query.posted")
    assert posted["payload"]["user_id"] == "u-user" and posted["payload"]["kind"] == "question"


def test_a_head_request_shows_and_records_nothing(content):
    item = content.item("public")
    resp = content.call("HEAD", f"/items/{item['id']}", "user")
    assert resp.status_code == 200 and resp.data == b""
    assert content.outbox("content.item.viewed") == []
