"""Producer signatures on envelopes: pair keys, what a tag covers, and why a consumer refuses."""

from __future__ import annotations

import copy

import pytest

from shared.bus.topology import QUEUE_BINDINGS
from shared.config import ConfigError
from shared.events import new_event, signing


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv(signing.MASTER_ENV, "master-for-tests")
    signing.reset_keys()
    yield
    signing.reset_keys()


def consumers() -> tuple[str, ...]:
    """The consumers as the topology names them now: test helpers (tests/support/probe_worker.py) may bind a
    queue of their own when they are imported, and signing covers whatever is bound when it signs."""
    return tuple(QUEUE_BINDINGS)


def erasure_request() -> dict:
    return new_event("identity.privacy.erasure_requested", producer="identity", actor="system:identity",
                     subject="u1", payload={"request_id": "r1", "user_id": "u1"}).to_dict()


def test_a_signed_envelope_is_accepted_by_every_consumer(keys):
    envelope = signing.sign(erasure_request())
    assert set(envelope["sig"]) == set(consumers())
    for consumer in consumers():
        assert signing.refusal(consumer, envelope) is None


def test_unsigned_and_altered_envelopes_are_refused_with_the_reason(keys):
    assert signing.refusal("linking", erasure_request()).startswith("unsigned")
    envelope = signing.sign(erasure_request())
    for field, value in (("payload", {"request_id": "r1", "user_id": "someone-else"}), ("subject", "x"),
                         ("actor", "u2"), ("type", "identity.privacy.erasure_replayed"), ("version", 2)):
        altered = copy.deepcopy(envelope)
        altered[field] = value
        assert signing.refusal("linking", altered).startswith("bad signature"), field


def test_a_producer_cannot_pass_for_another(keys, monkeypatch):
    forged = erasure_request()
    forged["producer"] = "linking"  # linking signs with its own keys ...
    signing.sign(forged)
    forged["producer"] = "identity"  # ... then claims to be identity
    assert "not signed by producer 'identity'" in signing.refusal("content", forged)


def test_a_consumers_keys_cannot_sign_towards_another_consumer(monkeypatch):
    """Pair keys given one by one (compose): linking holds identity→linking only, so it can forge identity's
    events towards itself and nowhere else."""
    monkeypatch.delenv(signing.MASTER_ENV, raising=False)
    pairs = {(p, c): f"key-{p}-{c}" for p in signing.PRODUCERS for c in consumers()}
    for (p, c), value in pairs.items():  # each service would get only the pairs that start or end at it
        monkeypatch.setenv(signing.pair_env(p, c), value)
    signing.reset_keys()
    try:
        linking_holds = {"linking": signing.pair_key("identity", "linking")}
        forged = erasure_request()
        forged["sig"] = signing.signatures(forged, linking_holds)
        assert signing.refusal("linking", forged) is None
        assert signing.refusal("content", forged).startswith("unsigned")
        forged["sig"]["content"] = forged["sig"]["linking"]
        assert signing.refusal("content", forged).startswith("bad signature")
    finally:
        signing.reset_keys()


def test_no_key_is_a_configuration_error(monkeypatch):
    monkeypatch.delenv(signing.MASTER_ENV, raising=False)
    signing.reset_keys()
    try:
        with pytest.raises(ConfigError):
            signing.sign(erasure_request())
        with pytest.raises(ConfigError):
            signing.require_verify_keys("audit")
    finally:
        signing.reset_keys()
