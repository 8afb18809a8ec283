"""Free text inside structures is sealed per person like top-level strings: the ``filters`` of a reviewer's
``audit.log.*`` events (a dict) and classified fields of nested objects and lists of objects. The stored row
holds none of it in plaintext; reviewers read it opened; a person's own export opens only theirs; after the
person's erasure it reads ``[erased]`` and the chain still verifies."""

from __future__ import annotations

import json

import pytest
from marshmallow import Schema, fields

from services.audit.domain import sealing
from services.audit.domain.search import EventFilter
from services.audit.handlers.integrity import verify
from services.audit.handlers.privacy import export_person
from shared.events.classification import FREE_TEXT, PLAIN, PSEUDONYM, plan_of
from tests.integration.audit.conftest import make_event, store

pytestmark = pytest.mark.integration
REVIEWER = "user-reviewer-7"
SECRET_PATH = "/api/content/items?q=divorce%20of%20Jane%20Roe"


def _searched(filters: dict) -> object:
    return make_event("audit.log.searched", actor=REVIEWER, subject="audit:events",
                      payload={"filters": filters, "order": "asc", "results": 3})


def _row(container, type_: str) -> dict:
    with container.read_uow() as uow:
        return next(r for r in uow.search.search(EventFilter(type=type_), None, 10))


def test_filters_of_a_reviewers_search_are_sealed_opened_for_reviewers_and_erased_with_them(container):
    store(container, [_searched({"subject": SECRET_PATH, "actor": "user-42", "seq": 17})])
    stored = _row(container, "audit.log.searched")
    assert "Jane" not in stored["payload"] and "user-42" not in stored["payload"], stored["payload"]
    filters = json.loads(stored["payload"])["filters"]
    assert all(sealing.is_sealed(filters[k]) for k in ("subject", "actor")) and filters["seq"] == 17, filters

    with container.read_uow() as uow:
        opened = uow.keys.open_rows([stored])[0]
        own = uow.keys.open_rows([stored], only=uow.token(REVIEWER))[0]
    assert json.loads(opened["payload"])["filters"] == {"subject": SECRET_PATH, "actor": "user-42", "seq": 17}
    assert json.loads(own["payload"])["filters"]["subject"] == SECRET_PATH
    trail = export_person(container, REVIEWER, 100)["audit_trail"]["events"]
    assert trail and trail[0]["details"]["filters"]["subject"] == SECRET_PATH, trail

    store(container, [make_event("identity.privacy.erasure_requested", actor="system:identity", subject=REVIEWER,
                                 payload={"request_id": "er-reviewer", "user_id": REVIEWER})])
    with container.read_uow() as uow:
        after = uow.keys.open_rows([_row(container, "audit.log.searched")])[0]
    assert json.loads(after["payload"])["filters"] == {"subject": sealing.ERASED, "actor": sealing.ERASED, "seq": 17}
    assert verify(container).ok is True


class _Note(Schema):
    author = fields.String(metadata=PSEUDONYM)
    text = fields.String(metadata=FREE_TEXT)


class _Case(Schema):
    case_id = fields.String(metadata=PSEUDONYM)
    notes = fields.List(fields.Nested(_Note), metadata=PLAIN)
    last = fields.Nested(_Note)
    tags = fields.List(fields.String(), metadata=FREE_TEXT)


def test_nested_objects_and_lists_of_objects_follow_their_classification():
    plan = plan_of(_Case())
    assert plan == {"notes": {"text": True}, "last": {"text": True}, "tags": True}
    payload = {"case_id": "c1", "notes": [{"author": "u1", "text": "call Jane"}, {"author": "u2", "text": ""}],
               "last": {"author": "u1", "text": "Jane again"}, "tags": ["jane", 3]}
    sealed = sealing.seal_payload(plan, payload, lambda text: f"<{text}>")
    assert sealed == {"case_id": "c1", "notes": [{"author": "u1", "text": "<call Jane>"}, {"author": "u2", "text": ""}],
                      "last": {"author": "u1", "text": "<Jane again>"}, "tags": ["<jane>", 3]}
    assert payload["notes"][0]["text"] == "call Jane"  # the event itself is left as it was


def test_sealed_list_elements_and_nested_members_are_opened_for_reviewers(container):
    store(container, [_searched({"subject": SECRET_PATH, "type": "gateway.request.completed"})])
    stored = _row(container, "audit.log.searched")
    sealed = json.loads(stored["payload"])["filters"]["subject"]
    assert sealing.is_sealed(sealed)
    # The same sealed value as list elements and deeper members (as a nested classified field is stored).
    shaped = {**stored, "payload": json.dumps({"a": [sealed, 1, sealed], "b": [{"c": sealed}], "d": {"e": [sealed]}},
                                              sort_keys=True, separators=(",", ":"))}
    with container.read_uow() as uow:
        opened = json.loads(uow.keys.open_rows([shaped])[0]["payload"])
        own = json.loads(uow.keys.open_rows([shaped], only=uow.token("someone-else"))[0]["payload"])
    assert opened == {"a": [SECRET_PATH, 1, SECRET_PATH], "b": [{"c": SECRET_PATH}], "d": {"e": [SECRET_PATH]}}
    assert own == {"a": [1], "b": [{}], "d": {"e": []}}  # another person's sealed values are left out
