"""The event wiring stays honest: every event type a service's consumer handles reaches that service's
queue (a handler whose type no binding routes is dead code that looks alive), and every privacy
participant hears the erasure protocol's requests while identity hears each participant's answers.

Bindings are topic patterns (``*`` one word, ``#`` any number), matched here as the broker matches them.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from services.audit.handlers.ingest import ERASURE_EVENTS as AUDIT_ERASURE_EVENTS
from services.content import consumers as content_consumers
from services.identity import consumers as identity_consumers
from services.identity.config import Settings as IdentitySettings
from services.linking import consumers as linking_consumers
from shared.bus.topology import QUEUE_BINDINGS
from shared.events.privacy import ERASURE_EVENTS as PRIVACY_REQUESTS
from shared.events.privacy import PARTICIPANTS


def _pattern(binding: str) -> re.Pattern[str]:
    parts = []
    for word in binding.split("."):
        parts.append({"*": r"[^.]+", "#": r".*"}.get(word, re.escape(word)))
    # "#" may also stand for zero words, taking its dot with it.
    regex = r"\.".join(parts).replace(r"\..*", r"(\..*)?").replace(r".*\.", r"(.*\.)?")
    return re.compile(rf"^{regex}$")


def routed_to(service: str, event_type: str) -> bool:
    return any(_pattern(b).match(event_type) for b in QUEUE_BINDINGS[service])


def test_the_matcher_matches_as_a_topic_exchange_does():
    assert _pattern("#").match("a.b.c")
    assert _pattern("identity.user.*").match("identity.user.registered")
    assert not _pattern("identity.user.*").match("identity.user.registered.again")
    assert not _pattern("identity.user.*").match("identity.users.registered")
    assert _pattern("content.#").match("content.item.created")
    assert not _pattern("content.complaint.*").match("content.query.created")


def _identity_container() -> SimpleNamespace:
    settings = IdentitySettings.from_env()
    return SimpleNamespace(settings=settings)


def handled_types() -> dict[str, set[str]]:
    content = content_consumers.handlers_for(SimpleNamespace(bound_uow=None))  # type: ignore[arg-type]
    linking = linking_consumers.handlers_for(SimpleNamespace(bound_uow=None))  # type: ignore[arg-type]
    identity = identity_consumers.handlers_for(_identity_container())  # type: ignore[arg-type]
    return {
        "linking": set(linking),
        "content": set(content),
        "identity": set(identity) | {identity_consumers.MAIL_QUEUED, identity_consumers.EXPORT_REQUESTED},
        "audit": set(AUDIT_ERASURE_EVENTS),
    }


@pytest.fixture(autouse=True)
def _identity_env(monkeypatch):
    monkeypatch.setenv("PORTAL_INTERNAL_SECRET", "wiring-" + "0f1e2d3c4b5a6978" * 2)


@pytest.mark.parametrize("service", ["linking", "content", "identity", "audit"])
def test_every_handled_event_type_is_routed_to_the_service_queue(service):
    unrouted = sorted(t for t in handled_types()[service] if not routed_to(service, t))
    assert unrouted == [], f"{service} handles {unrouted} but no binding in shared/bus/topology.py routes them"


def test_identity_asks_and_waits_for_every_participant():
    assert PARTICIPANTS and IdentitySettings.from_env().privacy_services == PARTICIPANTS


def test_every_privacy_participant_hears_the_requests_and_identity_hears_its_answers():
    for service in PARTICIPANTS:
        for request in PRIVACY_REQUESTS:
            assert routed_to(service, request), f"{service} is a privacy participant but never gets {request}"
        assert routed_to("identity", f"{service}.privacy.erasure_completed"), f"identity never hears {service}'s answer"


def test_every_privacy_participant_handles_the_requests():
    handled = handled_types()
    for service in PARTICIPANTS:
        missing = [r for r in PRIVACY_REQUESTS if r not in handled[service]]
        assert missing == [], f"{service} is bound to {missing} but handles none of them"
