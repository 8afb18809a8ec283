"""Sealing rules and the erasure use case with in-memory fakes."""

from __future__ import annotations

import base64
import os
import uuid
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.audit.domain import sealing
from services.audit.handlers import ingest, privacy
from shared.events import Event
from shared.events.privacy import erasure_request
from shared.events.schemas.audit import ErasureCompletedV1
from shared.identity import Identity


def seal_v1(aead, token: str, plaintext: str) -> str:
    """A value sealed on its own (format 1), as rows stored before format 2 hold them."""
    nonce = os.urandom(12)
    return f"{sealing.PREFIX}{token}:{base64.b64encode(nonce + aead.encrypt(nonce, plaintext.encode(), None)).decode()}"


def test_a_rows_values_of_one_person_are_sealed_once_and_opened_by_reference():
    aead = AESGCM(sealing.new_key())
    token = sealing.person_token(b"k", "u1")
    row = sealing.RowSeal(sealing.Sealer(), {token: aead})
    carrier = row.add_actor(token, "u1")
    refs = [row.add(token, "alice@example.com"), row.add(token, "203.0.113.7")]
    row.close()
    assert sealing.is_sealed(carrier.text) and sealing.sealed_person(carrier.text) == token
    assert not sealing.is_reference(carrier.text) and all(sealing.is_reference(r) for r in refs)
    assert "alice" not in carrier.text and "u1" not in carrier.text[len(sealing.PREFIX2) + sealing.TOKEN_LEN:]
    carried = {token: sealing.open_values(aead, carrier.text)}
    assert [sealing.opened_value(v, aead, carried) for v in [carrier.text, *refs]] == \
        ["u1", "alice@example.com", "203.0.113.7"]
    assert sealing.open_values(None, carrier.text) == sealing.ERASED  # key destroyed
    assert sealing.open_values(AESGCM(sealing.new_key()), carrier.text) == sealing.UNREADABLE
    assert sealing.opened_value(refs[0], aead, {}) == refs[0]  # no carrier in the row: text that only looks sealed
    other = sealing.RowSeal(sealing.Sealer(), {token: aead})
    payload = {"email": other.add(token, "x"), "ip": other.add(token, "y")}
    other.close()
    text = sealing.payload_text(payload)
    assert text.startswith('{"email":"enc2:') and text.endswith(f'"ip":"enc2:{token}:#1"}}')


def test_values_sealed_one_by_one_stay_readable():
    aead = AESGCM(sealing.new_key())
    token = sealing.person_token(b"k", "u1")
    sealed = seal_v1(aead, token, "alice@example.com")
    assert sealing.is_sealed(sealed) and sealing.sealed_person(sealed) == token
    assert sealing.unseal(aead, sealed) == "alice@example.com"
    assert sealing.opened_value(sealed, aead, {}) == "alice@example.com"
    assert sealing.unseal(None, sealed) == sealing.ERASED  # key destroyed
    assert sealing.unseal(AESGCM(sealing.new_key()), sealed) == sealing.UNREADABLE


def test_key_wrapping_is_bound_to_its_person():
    wrap = AESGCM(sealing.new_key())
    key = sealing.new_key()
    wrapped = sealing.wrap(wrap, "a" * 32, key)
    assert sealing.unwrap(wrap, "a" * 32, wrapped) == key
    with pytest.raises(Exception):  # noqa: B017 - InvalidTag: a wrapped key moved to another person
        sealing.unwrap(wrap, "b" * 32, wrapped)


def test_what_is_personal():
    assert sealing.is_person("u1") and not sealing.is_person("system:linking")
    assert not sealing.is_person("anonymous") and not sealing.is_person("anonymous:abc")
    payload = {"user_id": "u2", "email": "e@x", "name": "N", "client_ip": "1.2.3.4", "path": "/x", "phone": None}
    assert sealing.personal_fields("identity.user.registered", 1, payload) == ["email", "name"]
    assert sealing.personal_fields("linking.company.created", 1, payload) == []  # a company's name
    assert sealing.personal_fields("gateway.request.completed", 1, {**payload, "query": "q=Ann", "method": "GET"}) \
        == ["client_ip", "path", "query"]
    assert sealing.personal_fields("content.query.posted", 1, {"subject": "my divorce", "kind": "question"}) \
        == ["subject"]
    assert sealing.personal_fields("nobody.declared.this", 1, payload) == ["client_ip", "email", "name", "path"]
    assert sealing.owner_of_payload("u1", payload) == "u2"
    assert sealing.owner_of_payload("u1", {"client_ip": "1"}) == "u1"
    assert sealing.owner_of_payload("anonymous", {"email": "e@x"}) is None


class FakeKeys:
    def __init__(self):
        self.live = {"t-u1"}
        self.destroyed: list[str] = []

    def destroy(self, person, request_id, now):
        self.destroyed.append(person)
        was = person in self.live
        self.live.discard(person)
        return was


class FakeSearch:
    def sealed_counts(self, token, user_id):
        return (5, 2) if user_id == "u1" else (0, 0)


class FakeCompliance:
    def forget_person_refs(self, user_id):
        return 3


class Settings:
    retention_days = 30


class FakeUow:
    def __init__(self):
        self.keys, self.search, self.compliance = FakeKeys(), FakeSearch(), FakeCompliance()
        self.settings = Settings()
        self.context = Identity()
        self.emitted: list[tuple[str, str, dict, str]] = []

    def token(self, actor):
        return f"t-{actor}"

    def forget_copies(self, user_id):
        return 2

    def emit(self, type_, *, subject, payload, actor=None):
        self.emitted.append((type_, subject, payload, actor))


def erasure(type_="identity.privacy.erasure_requested", **payload) -> Event:
    return Event(event_id=str(uuid.uuid4()), type=type_, version=1, occurred_at="2026-05-04T10:00:00+00:00",
                 producer="identity", actor="u1", subject="u1", correlation_id="req-9",
                 payload=payload or {"request_id": "r1", "user_id": "u1"})


def erase(uow, event: Event):
    return privacy.erase_person(uow, erasure_request(event), SimpleNamespace(retention_days=30))


def test_erasure_destroys_the_key_and_answers_with_a_valid_event():
    uow = FakeUow()
    erase(uow, erasure())
    assert uow.keys.destroyed == ["t-u1"]
    ((type_, subject, payload, actor),) = uow.emitted
    assert type_ == "audit.privacy.erasure_completed" and subject == "u1" and actor == "system:audit"
    loaded = ErasureCompletedV1().load(payload)  # the registered schema accepts it
    assert loaded["request_id"] == "r1" and loaded["replayed"] is False
    assert any(": 5" in line for line in payload["erased"])
    assert any("before per-person sealing" in k["data"] and k["data"].endswith(": 2") for k in payload["kept"])
    assert all(set(k) == {"data", "reason", "until"} for k in payload["kept"])
    assert uow.context.request_id == "req-9"  # the answer carries the request's correlation id


def test_a_replay_answers_again_and_changes_nothing_more():
    uow = FakeUow()
    erase(uow, erasure())
    erase(uow, erasure("identity.privacy.erasure_replayed"))
    assert uow.keys.live == set() and len(uow.emitted) == 2
    assert uow.emitted[1][2]["replayed"] is True


@pytest.mark.parametrize("payload", [{"request_id": "r1"}, {"request_id": "r1", "user_id": "x" * 65},
                                     {"request_id": "", "user_id": "u1"}, {"request_id": "r", "user_id": 5}])
def test_a_malformed_request_is_stored_but_not_answered(payload):
    uow = FakeUow()
    ingest.answer_erasure(uow, erasure(**payload))
    assert uow.emitted == [] and uow.keys.destroyed == []
