"""One request id per request: a signed call that sent no X-Request-ID acts under the id its response
carries, so the events it emits (correlation_id = the identity's request_id) are never uncorrelated."""

import subprocess
import sys

from flask import jsonify

from shared.identity import Identity
from shared.web.app import create_base_app
from shared.web.identity import current_identity, sign_headers
from shared.web.wire import H_REQUEST_ID

SECRET = b"r" * 32


def client():
    app, _api = create_base_app("t", secret=SECRET, max_content_length=1000)

    @app.get("/who")
    def who():
        return jsonify(request_id=current_identity().request_id)

    return app.test_client()


def test_a_signed_call_without_a_request_id_acts_under_the_one_its_response_carries():
    headers = sign_headers(SECRET, Identity(user_id="u1"), "GET", "/who", service="t")
    assert H_REQUEST_ID not in headers
    resp = client().get("/who", headers=headers)
    assert resp.status_code == 200
    assert resp.get_json()["request_id"] and resp.get_json()["request_id"] == resp.headers[H_REQUEST_ID]


def test_a_caller_s_request_id_is_kept():
    headers = sign_headers(SECRET, Identity(user_id="u1", request_id="req-given"), "GET", "/who", service="t")
    resp = client().get("/who", headers=headers)
    assert resp.get_json()["request_id"] == "req-given" == resp.headers[H_REQUEST_ID]


def test_the_unit_of_work_and_the_consumer_need_no_flask():
    """Workers carry an Identity without importing the web stack (shared/identity.py is the value type)."""
    code = ("import sys, shared.identity, shared.uow, shared.bus.consumer, shared.events.privacy; "
            "print('flask' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
