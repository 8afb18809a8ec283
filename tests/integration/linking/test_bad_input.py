"""Bad input on every route: the contract's JSON error shape with the right 4xx, never a 5xx."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.linking.conftest import World, build_world

pytestmark = pytest.mark.integration

LONG = "x" * 2001


def NO_BODY(world: World) -> dict:  # noqa: N802 - reads as a constant in the table below
    return {}

W = Callable[[World], str]

# (path, method) of every route taking a JSON body, with a body it would accept
JSON_ROUTES: dict[str, tuple[str, W, Callable[[World], dict]]] = {
    "create company": ("POST", lambda w: "/companies", lambda w: {"name": "Fine", "primary_contact_user_id": w.user}),
    "transfer": ("PUT", lambda w: f"/companies/{w.a['id']}/primary-contact", lambda w: {"user_id": w.member}),
    "change role": ("PATCH", lambda w: f"/companies/{w.a['id']}/members/{w.member}", lambda w: {"role": "member"}),
    "request link": ("POST", lambda w: f"/companies/{w.a['id']}/link-requests", lambda w: {"share_contact": True}),
    "approve": ("POST", lambda w: f"/link-requests/{w.request['id']}/approve", lambda w: {}),
    "reject": ("POST", lambda w: f"/link-requests/{w.request['id']}/reject", lambda w: {}),
    "withdraw": ("POST", lambda w: f"/link-requests/{w.request['id']}/withdraw", lambda w: {}),
}

# body shapes that are wrong for every JSON route: (kwargs, status, code)
BROKEN_BODIES = {
    "malformed json": ({"data": b'{"name": ', "content_type": "application/json"}, 400, "malformed_json"),
    "wrong media type": ({"data": b"name=x", "content_type": "application/x-www-form-urlencoded"}, 415,
                         "unsupported_media_type"),
    "json array": ({"json": [1, 2]}, 422, "validation_error"),
    "json string": ({"json": "hello"}, 422, "validation_error"),
    "json null": ({"data": b"null", "content_type": "application/json"}, 422, "validation_error"),
    "unknown field": ({"json": {"is_admin": True}}, 422, "validation_error"),
    "too large": ({"data": b'{"a": "' + b"x" * 70_000 + b'"}', "content_type": "application/json"}, 413,
                  "payload_too_large"),
}

BODY_CASES = [(r, b) for r in JSON_ROUTES for b in BROKEN_BODIES]

# route-specific bad values: (who, method, path, kwargs, status, field or code)
SPECIFIC: dict[str, tuple[str, str, W, Callable[[World], dict], int, str]] = {
    "company name missing": ("admin", "POST", lambda w: "/companies",
                             lambda w: {"json": {"primary_contact_user_id": w.user}}, 422, "name"),
    "company name blank": ("admin", "POST", lambda w: "/companies",
                           lambda w: {"json": {"name": "   ", "primary_contact_user_id": w.user}}, 422, "name"),
    "company name too long": ("admin", "POST", lambda w: "/companies",
                              lambda w: {"json": {"name": "n" * 201, "primary_contact_user_id": w.user}}, 422, "name"),
    "company name not a string": ("admin", "POST", lambda w: "/companies",
                                  lambda w: {"json": {"name": 7, "primary_contact_user_id": w.user}}, 422, "name"),
    "bad domain": ("admin", "POST", lambda w: "/companies",
                   lambda w: {"json": {"name": "D", "domain": "not a domain", "primary_contact_user_id": w.user}},
                   422, "domain"),
    "numeric domain": ("admin", "POST", lambda w: "/companies",
                       lambda w: {"json": {"name": "D", "domain": 12, "primary_contact_user_id": w.user}},
                       422, "domain"),
    "primary contact missing": ("admin", "POST", lambda w: "/companies", lambda w: {"json": {"name": "D"}}, 422,
                                "primary_contact_user_id"),
    "primary contact too long": ("admin", "POST", lambda w: "/companies",
                                 lambda w: {"json": {"name": "D", "primary_contact_user_id": "u" * 65}}, 422,
                                 "primary_contact_user_id"),
    "primary contact unknown": ("admin", "POST", lambda w: "/companies",
                                lambda w: {"json": {"name": "D", "primary_contact_user_id": "nobody-at-all"}}, 422,
                                "primary_contact_user_id"),
    "company name taken": ("admin", "POST", lambda w: "/companies",
                           lambda w: {"json": {"name": w.a["name"].upper(), "primary_contact_user_id": w.user}},
                           409, "company_exists"),
    "search limit zero": ("user", "GET", lambda w: "/companies?limit=0", NO_BODY, 422, "limit"),
    "search limit too big": ("user", "GET", lambda w: "/companies?limit=51", NO_BODY, 422, "limit"),
    "search limit not a number": ("user", "GET", lambda w: "/companies?limit=ten", NO_BODY, 422, "limit"),
    "search negative offset": ("user", "GET", lambda w: "/companies?offset=-1", NO_BODY, 422, "offset"),
    "search text too long": ("user", "GET", lambda w: "/companies?q=" + "q" * 201, NO_BODY, 422, "q"),
    "unknown company": ("user", "GET", lambda w: "/companies/00000000-0000-0000-0000-000000000000", NO_BODY, 404,
                        "company_not_found"),
    "odd company id": ("user", "GET", lambda w: "/companies/%25%27%22%3Cscript%3E", NO_BODY, 404, "company_not_found"),
    "transfer to non-member": ("manager", "PUT", lambda w: f"/companies/{w.a['id']}/primary-contact",
                               lambda w: {"json": {"user_id": w.other}}, 422, "user_id"),
    "transfer user id missing": ("manager", "PUT", lambda w: f"/companies/{w.a['id']}/primary-contact",
                                 lambda w: {"json": {}}, 422, "user_id"),
    "transfer user id not a string": ("manager", "PUT", lambda w: f"/companies/{w.a['id']}/primary-contact",
                                      lambda w: {"json": {"user_id": ["x"]}}, 422, "user_id"),
    "transfer in unknown company": ("admin", "PUT", lambda w: "/companies/nope/primary-contact",
                                    lambda w: {"json": {"user_id": w.member}}, 404, "company_not_found"),
    "members bad limit": ("manager", "GET", lambda w: f"/companies/{w.a['id']}/members?limit=x", NO_BODY, 422, "limit"),
    "members of unknown company": ("admin", "GET", lambda w: "/companies/nope/members", NO_BODY, 404,
                                   "company_not_found"),
    "role unknown": ("manager", "PATCH", lambda w: f"/companies/{w.a['id']}/members/{w.member}",
                     lambda w: {"json": {"role": "owner"}}, 422, "role"),
    "role missing": ("manager", "PATCH", lambda w: f"/companies/{w.a['id']}/members/{w.member}",
                     lambda w: {"json": {}}, 422, "role"),
    "role of non-member": ("manager", "PATCH", lambda w: f"/companies/{w.a['id']}/members/{w.other}",
                           lambda w: {"json": {"role": "manager"}}, 404, "member_not_found"),
    "demote the primary contact": ("admin", "PATCH", lambda w: f"/companies/{w.a['id']}/members/{w.manager}",
                                   lambda w: {"json": {"role": "member"}}, 409, "primary_contact_protected"),
    "remove non-member": ("manager", "DELETE", lambda w: f"/companies/{w.a['id']}/members/{w.other}", NO_BODY, 404,
                          "member_not_found"),
    "remove the last manager": ("manager", "DELETE", lambda w: f"/companies/{w.a['id']}/members/{w.manager}",
                                NO_BODY, 409, "primary_contact_protected"),
    "remove from unknown company": ("admin", "DELETE", lambda w: "/companies/nope/members/x", NO_BODY, 404,
                                    "company_not_found"),
    "share_contact missing": ("other", "POST", lambda w: f"/companies/{w.a['id']}/link-requests",
                              lambda w: {"json": {"message": "hi"}}, 422, "share_contact"),
    "share_contact false": ("other", "POST", lambda w: f"/companies/{w.a['id']}/link-requests",
                            lambda w: {"json": {"share_contact": False}}, 422, "share_contact"),
    "share_contact as text": ("other", "POST", lambda w: f"/companies/{w.a['id']}/link-requests",
                              lambda w: {"json": {"share_contact": "true"}}, 422, "share_contact"),
    "share_contact as number": ("other", "POST", lambda w: f"/companies/{w.a['id']}/link-requests",
                                lambda w: {"json": {"share_contact": 1}}, 422, "share_contact"),
    "share_contact null": ("other", "POST", lambda w: f"/companies/{w.a['id']}/link-requests",
                           lambda w: {"json": {"share_contact": None}}, 422, "share_contact"),
    "message too long": ("other", "POST", lambda w: f"/companies/{w.a['id']}/link-requests",
                         lambda w: {"json": {"share_contact": True, "message": LONG}}, 422, "message"),
    "message not text": ("other", "POST", lambda w: f"/companies/{w.a['id']}/link-requests",
                         lambda w: {"json": {"share_contact": True, "message": {"a": 1}}}, 422, "message"),
    "no body at all": ("other", "POST", lambda w: f"/companies/{w.a['id']}/link-requests", NO_BODY, 422,
                       "share_contact"),
    "request to unknown company": ("other", "POST", lambda w: "/companies/nope/link-requests",
                                   lambda w: {"json": {"share_contact": True}}, 404, "company_not_found"),
    "duplicate request": ("user", "POST", lambda w: f"/companies/{w.a['id']}/link-requests",
                          lambda w: {"json": {"share_contact": True}}, 409, "link_request_pending"),
    "pending of unknown company": ("admin", "GET", lambda w: "/companies/nope/link-requests", NO_BODY, 404,
                                   "company_not_found"),
    "pending bad offset": ("manager", "GET", lambda w: f"/companies/{w.a['id']}/link-requests?offset=-5", NO_BODY,
                           422, "offset"),
    "approve unknown": ("manager", "POST", lambda w: "/link-requests/nope/approve", NO_BODY, 404,
                        "link_request_not_found"),
    "reject unknown": ("manager", "POST", lambda w: "/link-requests/nope/reject", NO_BODY, 404,
                       "link_request_not_found"),
    "withdraw unknown": ("user", "POST", lambda w: "/link-requests/nope/withdraw", NO_BODY, 404,
                         "link_request_not_found"),
    "reason not text": ("manager", "POST", lambda w: f"/link-requests/{w.request['id']}/reject",
                        lambda w: {"json": {"reason": 5}}, 422, "reason"),
    "reason too long": ("manager", "POST", lambda w: f"/link-requests/{w.request['id']}/reject",
                        lambda w: {"json": {"reason": LONG}}, 422, "reason"),
    "my requests bad limit": ("user", "GET", lambda w: "/me/link-requests?limit=0", NO_BODY, 422, "limit"),
    "method not allowed": ("admin", "PUT", lambda w: "/companies", NO_BODY, 405, "method_not_allowed"),
    "no such route": ("admin", "GET", lambda w: "/nothing-here", NO_BODY, 404, "not_found"),
}


@pytest.fixture(scope="module")
def shared_world(api) -> World:
    return build_world(api)


def check_error(resp, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert "Traceback" not in resp.get_data(as_text=True)
    return body["error"]


@pytest.mark.parametrize(("route", "broken"), BODY_CASES, ids=[f"{r}-{b}" for r, b in BODY_CASES])
def test_broken_bodies(api, shared_world, route, broken):
    method, path, body = JSON_ROUTES[route]
    kwargs, status, code = BROKEN_BODIES[broken]
    if broken == "unknown field":  # on top of an otherwise acceptable body
        kwargs = {"json": {**body(shared_world), "is_admin": True}}
    who = shared_world.user if route == "withdraw" else shared_world.other if route == "request link" \
        else shared_world.admin
    before = api.outbox_size()
    error = check_error(api.call(method, path(shared_world), who, **kwargs), status)
    assert error["code"] == code
    if broken == "unknown field":
        assert error["fields"] == {"is_admin": ["Unknown field."]}
    assert api.outbox_size() == before


@pytest.mark.parametrize("case", list(SPECIFIC))
def test_bad_values(api, shared_world, case):
    who, method, path, kwargs, status, field_or_code = SPECIFIC[case]
    before = api.outbox_size()
    error = check_error(api.call(method, path(shared_world), shared_world.persona(who), **kwargs(shared_world)),
                        status)
    if status == 422:
        assert field_or_code in error["fields"], error
    else:
        assert error["code"] == field_or_code
    assert api.outbox_size() == before


def test_the_valid_bodies_above_are_accepted(api):
    """Guards the table: each JSON route's sample body really is accepted (so the failures above are
    caused by what was broken, not by the sample)."""
    for route, (method, path, body) in JSON_ROUTES.items():
        world = build_world(api)
        who = {"withdraw": world.user, "request link": world.other}.get(route, world.admin)
        assert api.call(method, path(world), who, json=body(world)).status_code in (200, 201), route
