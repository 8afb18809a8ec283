"""DELETE /collaterals/<id>: editors take a file off an item; everyone else is refused and nothing changes."""

from __future__ import annotations

import pytest

from tests.integration.content.conftest import COMPANY_A, PERSONAS

pytestmark = pytest.mark.integration


def error_code(resp):
    return resp.get_json()["error"]["code"]


@pytest.fixture
def attached(content, memberships):
    item = content.item("company", COMPANY_A)
    return item, content.attach(item["id"], data=b"%PDF-1.7 leaflet", filename="leaflet.pdf")


def test_an_editor_removes_a_file_and_its_readers_no_longer_get_it(content, attached):
    item, c = attached
    resp = content.call("DELETE", f"/collaterals/{c['id']}", "editor", request_id="req-remove-1")
    assert resp.status_code == 204 and resp.data == b""
    assert content.call("GET", f"/items/{item['id']}", "member").get_json()["collaterals"] == []
    gone = content.call("GET", f"/collaterals/{c['id']}/download", "member")
    assert gone.status_code == 404 and error_code(gone) == "not_found"
    assert list(content.container.storage.keys_older_than(float("inf"))) == []
    [event] = content.outbox("content.collateral.removed")
    assert event["payload"] == {"collateral_id": c["id"], "item_id": item["id"], "filename": "leaflet.pdf"}
    assert event["correlation_id"] == "req-remove-1" and event["actor"] == "u-editor"


def test_removing_twice_or_an_unknown_id_is_not_found(content, attached):
    _, c = attached
    assert content.call("DELETE", f"/collaterals/{c['id']}", "editor").status_code == 204
    for path in (f"/collaterals/{c['id']}", "/collaterals/nope", "/collaterals/%00"):
        resp = content.call("DELETE", path, "editor")
        assert resp.status_code == 404 and error_code(resp) == "not_found"


@pytest.mark.parametrize("who", [p for p in PERSONAS if p != "editor"])
def test_only_editors_remove_files(content, attached, who):
    _, c = attached
    resp = content.call("DELETE", f"/collaterals/{c['id']}", who)
    expected = (401, "not_authenticated") if who == "anonymous" else (403, "forbidden")
    assert (resp.status_code, error_code(resp)) == expected
    assert resp.get_json()["error"]["message"]
    assert content.call("GET", f"/collaterals/{c['id']}/download", "member").status_code == 200
    assert content.outbox("content.collateral.removed") == []


def test_the_route_is_in_the_openapi_document(content):
    paths = content.client.get("/openapi.json").get_json()["paths"]
    assert "204" in paths["/collaterals/{collateral_id}"]["delete"]["responses"]
