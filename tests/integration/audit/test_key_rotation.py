"""Changing the key that wraps the per-person keys (PORTAL_AUDIT_KEY_WRAP_KEY): with the old one listed in
PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS nothing becomes unreadable, new events of known people are sealed under
their own key, and ``portal audit rewrap`` moves every key to the new wrap key, after which the old one can
go. Without the old key, fields read ``[unreadable]`` (never ``[erased]``, never a failed page) and new
events of those people are refused rather than sealed under a throwaway key."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from click.testing import CliRunner

from services.audit.adapters import person_keys
from services.audit.adapters.person_keys import KeyUnavailable
from services.audit.bootstrap import bootstrap
from services.audit.cli import audit as audit_cli
from services.audit.domain import sealing
from services.audit.domain.search import EventFilter
from services.audit.domain.signing import derive_key
from services.audit.handlers import store_events
from shared.config import ConfigError
from tests.integration.audit.conftest import make_event, store

pytestmark = pytest.mark.integration
ALICE, BOB = "user-alice", "user-bob"
WRAP_ONE, WRAP_TWO, EXPLICIT = "wrap-key-one-5f1c9a7e3b2d8046c1e9", "wrap-key-two-8c2e4a6b0d9f1357e2a4", \
    "now-explicit-3a7c9e1b5d2f4068a1c3"


def registered(user: str, email: str):
    return make_event("identity.user.registered", actor=user, subject=user,
                      payload={"user_id": user, "name": user.title(), "email": email})


def emails(container) -> dict[str, str]:
    with container.read_uow() as uow:
        rows = uow.keys.open_rows(uow.search.search(EventFilter(type="identity.user.registered"), None, 100))
    return {json.loads(r["payload"])["user_id"]: json.loads(r["payload"])["email"] for r in rows}


def key_ids(container) -> set[str]:
    with container.runtime.engine.connect() as conn:
        return {row[0] for row in conn.exec_driver_sql("SELECT key_id FROM audit_person_keys")}


@pytest.fixture
def restart(audit_env, monkeypatch):
    """Start audit again with other settings, as a deployment would (each process unwraps afresh)."""
    started = []

    def again(**env: str | None):
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        person_keys._UNWRAPPED.clear()  # a new process has no unwrapped keys yet
        container = bootstrap()
        started.append(container)
        return container

    yield again
    for container in started:
        container.runtime.engine.dispose()
    person_keys._UNWRAPPED.clear()


def test_rotating_the_wrap_key_keeps_every_field_readable(restart):
    old = restart(PORTAL_AUDIT_KEY_WRAP_KEY=WRAP_ONE)
    store(old, [registered(ALICE, "alice@example.com"), registered(BOB, "bob@example.com")])
    before = key_ids(old)
    assert len(before) == 1

    rotated = restart(PORTAL_AUDIT_KEY_WRAP_KEY=WRAP_TWO, PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS=WRAP_ONE)
    assert emails(rotated) == {ALICE: "alice@example.com", BOB: "bob@example.com"}
    store(rotated, [make_event(actor=ALICE, payload={"method": "GET", "path": "/x", "status": 200,
                                                      "client_ip": "198.51.100.7"})])
    with rotated.read_uow() as uow:
        [row] = uow.keys.open_rows(uow.search.search(EventFilter(type="gateway.request.completed"), None, 10))
    assert row["actor"] == ALICE and json.loads(row["payload"])["client_ip"] == "198.51.100.7"

    result = CliRunner().invoke(audit_cli, ["rewrap"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output.strip().splitlines()[-1])
    assert answer["rewrapped"] == 2 and answer["unavailable"] == 0
    assert key_ids(rotated) == {answer["key_id"]} and answer["key_id"] not in before
    again = CliRunner().invoke(audit_cli, ["rewrap"])
    assert json.loads(again.output.strip().splitlines()[-1])["rewrapped"] == 0  # nothing left to move

    only_new = restart(PORTAL_AUDIT_KEY_WRAP_KEY=WRAP_TWO, PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS=None)
    assert emails(only_new) == {ALICE: "alice@example.com", BOB: "bob@example.com"}
    with only_new.read_uow() as uow:
        assert uow.keys.unavailable() == 0


def test_moving_from_the_derived_key_to_an_explicit_one_needs_no_old_secret(restart):
    """Stores started when the wrap key was derived from the index key: their person keys open, and
    ``rewrap`` moves them under the wrap key that is now a secret of its own."""
    derived = restart(PORTAL_AUDIT_KEY_WRAP_KEY=EXPLICIT)
    derived.settings = replace(derived.settings, wrap_key=derive_key(derived.settings.index_key, "key-wrap"),
                               previous_wrap_keys=())
    store(derived, [registered(ALICE, "alice@example.com")])
    explicit = restart(PORTAL_AUDIT_KEY_WRAP_KEY=EXPLICIT)  # the derived key is a previous key by itself
    assert emails(explicit) == {ALICE: "alice@example.com"}
    result = CliRunner().invoke(audit_cli, ["rewrap"])
    assert result.exit_code == 0 and json.loads(result.output.strip().splitlines()[-1])["rewrapped"] == 1


def test_without_the_old_wrap_key_fields_are_unreadable_and_new_events_refused(restart):
    old = restart(PORTAL_AUDIT_KEY_WRAP_KEY=WRAP_ONE)
    store(old, [registered(ALICE, "alice@example.com")])

    lost = restart(PORTAL_AUDIT_KEY_WRAP_KEY=WRAP_TWO, PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS=None)
    assert emails(lost) == {ALICE: sealing.UNREADABLE}  # not "[erased]": the person's key still exists
    with pytest.raises(KeyUnavailable, match="PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS"):
        store_events(lost, [make_event(actor=ALICE, payload={"method": "GET", "path": "/y", "status": 200,
                                                                  "client_ip": "198.51.100.8"})])
    with lost.read_uow() as uow:
        assert uow.search.search(EventFilter(type="gateway.request.completed"), None, 10) == []  # nothing stored
    result = CliRunner().invoke(audit_cli, ["rewrap"])
    assert result.exit_code == 1
    answer = json.loads(result.output.strip().splitlines()[-1])
    assert answer["rewrapped"] == 0 and answer["unavailable"] == 1

    # Given the old key again, everything comes back: nothing was lost.
    back = restart(PORTAL_AUDIT_KEY_WRAP_KEY=WRAP_TWO, PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS=WRAP_ONE)
    assert emails(back) == {ALICE: "alice@example.com"}


@pytest.mark.parametrize(("env", "message"), [
    ({"PORTAL_AUDIT_KEY_WRAP_KEY": None}, "PORTAL_AUDIT_KEY_WRAP_KEY is required"),
    ({"PORTAL_AUDIT_KEY_WRAP_KEY": "short-wrap-key"}, "PORTAL_AUDIT_KEY_WRAP_KEY is too short (14 characters"),
    ({"PORTAL_AUDIT_KEY_WRAP_KEY": "ab" * 20}, "PORTAL_AUDIT_KEY_WRAP_KEY is too weak"),
    ({"PORTAL_AUDIT_SIGNING_KEY": "index"}, "PORTAL_AUDIT_SIGNING_KEY is too short"),
    ({"PORTAL_AUDIT_SIGNING_KEY": None}, "PORTAL_AUDIT_INDEX_KEY is required"),
    ({"PORTAL_INTERNAL_SECRET": "0" * 64}, "PORTAL_INTERNAL_SECRET is too weak"),
])
def test_a_missing_short_or_weak_key_is_refused_at_start(restart, env, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        restart(**env)


def test_the_wrap_key_must_be_its_own_secret(restart, audit_env):
    with pytest.raises(ConfigError, match="must differ"):
        restart(PORTAL_AUDIT_KEY_WRAP_KEY=audit_env["PORTAL_AUDIT_SIGNING_KEY"])
