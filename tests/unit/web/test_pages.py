"""The pages service under the Flask test client, its API services replaced by a fake at the port
(``ServiceApis``): what a person sees for each API outcome, the form token, safe return paths, headers."""

from __future__ import annotations

import pytest

from services.web.adapters.services import ApiFailure, ApiReply
from services.web.app import create_app
from services.web.bootstrap import Container
from services.web.config import Settings
from services.web.domain import csrf
from services.web.domain.navigation import safe_next
from shared.identity import Identity
from tests.support.signing import signed_open

SECRET = b"unit-web-secret"
USER = Identity(user_id="u-1", session_id="s-1", request_id="r-1")
VISITOR = Identity(request_id="r-2")


class FakeApis:
    """Answers by (service, method, path); records every call with the identity it was made as."""

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str, str], ApiReply | ApiFailure] = {}
        self.calls: list[tuple[str, str, str, Identity, object]] = []

    def call(self, service, method, path, identity, *, browser=None, json=None, params=None):
        self.calls.append((service, method, path, identity, json))
        answer = self.answers.get((service, method, path), ApiReply(200, {}))
        if isinstance(answer, ApiFailure):
            raise answer
        return answer

    def close(self) -> None:
        pass


@pytest.fixture
def apis() -> FakeApis:
    return FakeApis()


@pytest.fixture
def client(apis):
    settings = Settings(internal_secret=SECRET, service_urls={}, api_timeout=1.0, public_url="http://portal.test",
                        brand="Portal", max_form_bytes=1 << 20)
    app = create_app(Container(settings=settings, apis=apis, asset_version="v1"))  # type: ignore[arg-type]
    return app.test_client()


def get(client, path: str, who: Identity = USER, **kw):
    return signed_open(client, SECRET, "web", who, "GET", path, kw.pop("headers", None), **kw)


def post(client, path: str, data: dict, who: Identity = USER, headers: dict | None = None, token: bool = True):
    form = dict(data)
    if token:
        form["csrf_token"] = csrf.token(SECRET, session_id=who.session_id, browser_nonce="nonce-1")
    client.set_cookie("portal_form", "nonce-1", domain="localhost")
    return signed_open(client, SECRET, "web", who, "POST", path, {"X-Forwarded-Host": "portal.test", **(headers or {})},
                       data=form)


@pytest.mark.parametrize(("raw", "expected"), [
    ("/account?tab=1", "/account?tab=1"), ("//evil.example/x", "/"), ("https://evil.example", "/"),
    ("/\\evil.example", "/"), ("javascript:alert(1)", "/"), ("/api/identity/me", "/"), ("", "/"),
    ("/static/v1/x.js", "/"), ("/ok\r\nSet-Cookie: x", "/"), (None, "/"),
])
def test_next_is_only_ever_a_path_of_this_site(raw, expected):
    assert safe_next(raw) == expected


def test_every_page_has_the_strict_headers_and_no_inline_code(client):
    resp = get(client, "/")
    assert resp.status_code == 200
    policy = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy and "script-src 'self'" in policy
    assert resp.headers["X-Content-Type-Options"] == "nosniff" and resp.headers["Referrer-Policy"] == "same-origin"
    html = resp.get_data(as_text=True)
    assert "<script>" not in html and " style=" not in html and "onclick" not in html
    with get(client, "/static/v1/css/portal.css") as static:
        assert static.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_a_request_that_did_not_come_through_the_gateway_is_refused(client):
    resp = client.get("/account")
    assert resp.status_code == 401 and resp.mimetype == "text/html"
    assert b"Traceback" not in resp.data and b'"error"' not in resp.data


@pytest.mark.parametrize(("failure", "status", "where"), [
    (ApiFailure(401, "not_authenticated", "Log in."), 303, "/login?next=%2Faccount"),
    (ApiFailure(428, "reauth_required", "Confirm."), 303, "/reauth?next=%2Faccount"),
    (ApiFailure(428, "policy_acceptance_required", "Accept."), 303, "/policy/accept?next=%2Faccount"),
])
def test_api_answers_lead_somewhere_sensible(client, apis, failure, status, where):
    apis.answers[("identity", "GET", "/me")] = failure
    resp = get(client, "/account")
    assert resp.status_code == status and resp.headers["Location"] == where


@pytest.mark.parametrize(("failure", "status", "text"), [
    (ApiFailure(429, "rate_limited", "Too many.", retry_after="17"), 429, "wait 17 seconds"),
    (ApiFailure(403, "forbidden", "Not yours."), 403, "Not yours."),
    (ApiFailure(404, "not_found", "No such item."), 404, "Page not found"),
    (ApiFailure(503, "service_unavailable", "Down."), 503, "not available right now"),
    (ApiFailure(500, "internal_error", "Boom."), 503, "not available right now"),
])
def test_api_refusals_are_pages_not_json(client, apis, failure, status, text):
    apis.answers[("content", "GET", "/items/x1")] = failure
    resp = get(client, "/catalogue/x1")
    assert resp.status_code == status and resp.mimetype == "text/html"
    assert text in resp.get_data(as_text=True)
    assert "{" not in resp.get_data(as_text=True).split("<main", 1)[1].split("</main>")[0]
    if status == 429:
        assert resp.headers["Retry-After"] == "17"


def test_a_page_that_needs_a_login_sends_a_visitor_to_log_in_and_back(client):
    resp = get(client, "/privacy/access?cursor=abc", who=VISITOR)
    assert resp.status_code == 303 and resp.headers["Location"] == "/login?next=%2Fprivacy%2Faccess%3Fcursor%3Dabc"


def test_forms_need_this_sites_token(client, apis):
    assert post(client, "/login", {"email": "a@b.c", "password": "x"}, who=VISITOR, token=False).status_code == 403
    foreign = post(client, "/login", {"email": "a@b.c", "password": "x"}, who=VISITOR,
                   headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    cross = post(client, "/login", {"email": "a@b.c", "password": "x"}, who=VISITOR,
                 headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert apis.calls == []  # nothing reached a service
    stolen = post(client, "/account", {"name": "X"}, who=Identity(user_id="u-2", session_id="s-2"))
    assert stolen.status_code == 303  # its own session's token is fine
    other = signed_open(client, SECRET, "web", Identity(user_id="u-2", session_id="s-2"), "POST", "/account",
                        data={"name": "X", "csrf_token": csrf.token(SECRET, session_id="s-1", browser_nonce=None)})
    assert other.status_code == 403  # another session's token is not


def test_login_relays_identitys_cookie_and_goes_back_only_to_own_paths(client, apis):
    apis.answers[("identity", "POST", "/sessions")] = ApiReply(200, {"csrf_token": "t"},
                                                               ["portal_session=abc; HttpOnly; Path=/; SameSite=Lax"])
    ok = post(client, "/login?next=%2Fqueries", {"email": "a@b.c", "password": "pw"}, who=VISITOR)
    assert ok.status_code == 303 and ok.headers["Location"] == "/queries"
    assert any(c.startswith("portal_session=abc") for c in ok.headers.getlist("Set-Cookie"))
    assert apis.calls[-1][4] == {"email": "a@b.c", "password": "pw"}
    evil = post(client, "/login?next=%2F%2Fevil.example", {"email": "a@b.c", "password": "pw"}, who=VISITOR)
    assert evil.headers["Location"] == "/account"


def test_field_errors_are_shown_next_to_the_fields_with_what_was_typed(client, apis):
    apis.answers[("identity", "POST", "/users")] = ApiFailure(
        422, "validation_error", "Some fields are invalid.", {"email": ["Not a valid email address."]})
    resp = post(client, "/signup", {"name": "Vera <b>", "email": "nope", "password": "secret-pass"}, who=VISITOR)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert 'id="f-email-error"' in html and "Not a valid email address." in html
    assert 'value="Vera &lt;b&gt;"' in html and 'value="nope"' in html  # kept, and escaped
    assert "secret-pass" not in html  # a password is never sent back
