"""The named list of query parameters the server log never keeps, and the access event built with it."""

from __future__ import annotations

import json

import pytest

from services.gateway.domain.redaction import REDACTED, SENSITIVE_PARAMETERS, redact_query
from services.gateway.handlers import Access, access_event

SECRET = "s3cr3t-Value_42"


@pytest.mark.parametrize("name", sorted(SENSITIVE_PARAMETERS) + [
    "TOKEN", "Reset_Token", "invite_token", "X-Amz-Signature", "x%2Damz%2Dsignature", "reset%5Ftoken",
    "upload_sig", "client-key", "new_password"])
def test_every_named_parameter_is_redacted(name):
    assert redact_query(f"a=1&{name}={SECRET}&b=2") == f"a=1&{name}={REDACTED}&b=2"


@pytest.mark.parametrize("query", ["token=abc", "expires=1700000000&signature=deadbeef", "sig=1&sig=2",
                                   "token", "token=&x=1", "password=a%26b", "code=123456"])
def test_no_secret_value_survives(query):
    redacted = redact_query(query)
    for value in ("abc", "deadbeef", "1&sig=2", "a%26b", "123456"):
        assert value not in redacted.replace(REDACTED, "")


@pytest.mark.parametrize("query", ["", "q=printers&page=2", "company_id=7&share_contact=true",
                                   "tokens_left=3", "keyword=x", "codec=h264", "sort=-key_date"])
def test_other_parameters_stay_as_sent(query):
    assert redact_query(query) == query


def test_the_access_event_carries_the_redacted_query():
    access = Access(method="GET", path="/reset-password", query=f"token={SECRET}&lang=en", client_ip="192.0.2.1",
                    user_agent="ua", request_id="req-1", status=200)
    _event_id, body = access_event(access)
    assert SECRET not in body
    assert json.loads(body)["payload"]["query"] == f"token={REDACTED}&lang=en"
