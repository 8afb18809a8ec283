"""The contract's error shape from the shared web layer, for every kind of bad input."""

import pytest
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from shared.identity import Identity
from shared.web.app import accepts, create_base_app
from shared.web.errors import Conflict
from shared.web.identity import sign_headers

SECRET = b"s" * 32


class ThingIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=10))
    count = fields.Integer()


@pytest.fixture
def client():
    app, api = create_base_app("t", secret=SECRET, max_content_length=1000)
    blp = Blueprint("things", __name__)

    @blp.route("/things", methods=["POST"])
    @blp.arguments(ThingIn)
    @blp.response(201)
    def create(data):
        if data["name"] == "dup":
            raise Conflict("already there", code="duplicate_thing")
        return data

    @blp.route("/upload", methods=["POST"])
    @accepts("multipart/form-data")
    def upload():
        return {"ok": True}

    @blp.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    api.register_blueprint(blp)
    return app.test_client()


def signed(method, path):
    """Signed for this app; the body is signed as streamed (these tests are about error shapes)."""
    return sign_headers(SECRET, Identity(user_id="u1"), method, path, service="t", body=None)


def error_of(resp):
    body = resp.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def test_success(client):
    resp = client.post("/things", json={"name": "a"}, headers=signed("POST", "/things"))
    assert resp.status_code == 201 and resp.get_json() == {"name": "a"}
    assert resp.headers["X-Request-ID"]


def test_unsigned_call_is_refused(client):
    resp = client.post("/things", json={"name": "a"})
    assert resp.status_code == 401 and error_of(resp)["code"] == "untrusted_caller"


def test_validation_error_lists_fields(client):
    resp = client.post("/things", json={"name": "", "count": "x"}, headers=signed("POST", "/things"))
    assert resp.status_code == 422
    err = error_of(resp)
    assert err["code"] == "validation_error"
    assert set(err["fields"]) == {"name", "count"}


def test_non_object_json_is_422(client):
    resp = client.post("/things", json=[1, 2], headers=signed("POST", "/things"))
    assert resp.status_code == 422 and error_of(resp)["code"] == "validation_error"


def test_malformed_json_is_400(client):
    resp = client.post("/things", data=b"{not json", content_type="application/json",
                       headers=signed("POST", "/things"))
    assert resp.status_code == 400 and error_of(resp)["code"] == "malformed_json"


def test_wrong_media_type_is_415(client):
    resp = client.post("/things", data="name=a", content_type="application/x-www-form-urlencoded",
                       headers=signed("POST", "/things"))
    assert resp.status_code == 415 and error_of(resp)["code"] == "unsupported_media_type"


def test_marked_view_accepts_multipart(client):
    resp = client.post("/upload", data={"f": "x"}, content_type="multipart/form-data",
                       headers=signed("POST", "/upload"))
    assert resp.status_code == 200


def test_too_large_is_413(client):
    resp = client.post("/things", json={"name": "a" * 5000}, headers=signed("POST", "/things"))
    assert resp.status_code == 413 and error_of(resp)["code"] == "payload_too_large"


def test_not_found_and_method_not_allowed(client):
    resp = client.get("/nothing", headers=signed("GET", "/nothing"))
    assert resp.status_code == 404 and error_of(resp)["code"] == "not_found"
    resp = client.delete("/things", headers=signed("DELETE", "/things"))
    assert resp.status_code == 405 and error_of(resp)["code"] == "method_not_allowed"
    assert "POST" in resp.headers["Allow"]


def test_domain_error_keeps_its_code(client):
    resp = client.post("/things", json={"name": "dup"}, headers=signed("POST", "/things"))
    assert resp.status_code == 409 and error_of(resp)["code"] == "duplicate_thing"


def test_unexpected_error_has_no_stack_trace(client):
    resp = client.get("/boom", headers=signed("GET", "/boom"))
    assert resp.status_code == 500
    err = error_of(resp)
    assert err["code"] == "internal_error"
    assert "secret internals" not in resp.get_data(as_text=True)
    assert "Traceback" not in resp.get_data(as_text=True)


def test_health_is_open(client):
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert client.get("/openapi.json").status_code == 200
