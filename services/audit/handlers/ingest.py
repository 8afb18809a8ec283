"""Ingestion: store a batch of events in the chain, with the projections kept beside it.

One batch, one transaction: the chained rows, the person references, the legal holds, the automatic
disclosures and the trends rollup commit together, or not at all (and the batch is retried).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from services.audit.domain import trends
from services.audit.domain.chain import chain_of
from services.audit.handlers import privacy
from services.audit.handlers.ports import AuditUow, HeadBusy, Units
from shared import clock
from shared.events import Event
from shared.events.privacy import ERASURE_EVENTS, MalformedErasureRequest, erasure_request
from shared.leftovers import checkpoint_wal, engine_of

PII_ACCESS_SUFFIX = ".pii.accessed"
HOLD_PLACED = "identity.privacy.hold_placed"
HOLD_RELEASED = "identity.privacy.hold_released"
CONTACT_SHARED = "linking.contact.shared"
_PERSON_KEYS = ("user_id", "subject_user_id")
_PERSON_LIST_KEYS = ("user_ids", "subject_user_ids")


def store_events(units: Units, events: Sequence[Event]) -> int:
    """Store the events not stored yet; return how many were new. An erasure request among them is
    carried out in the same transaction (after the batch is stored: whatever the batch held about the
    person is sealed under the key being destroyed).

    A store of several chains (docs/audit.md, "Several chains") appends each chain's share of the batch in a
    transaction of its own: first the chains no other writer holds (their heads locked ``SKIP LOCKED``), then
    the rest, waiting; the shares holding an erasure request last of all, so the batch's other events about
    that person are sealed before the key is destroyed."""
    with units.uow() as uow:
        chains = uow.chain.chains
        if chains == 1:
            return _store(uow, events, 0)
    groups: dict[int, list[Event]] = {}
    for event in events:
        groups.setdefault(chain_of(event.event_id, chains), []).append(event)

    def erasing(chain: int) -> bool:
        return any(e.type in ERASURE_EVENTS for e in groups[chain])

    stored, waiting = 0, []
    for chain in sorted(groups, key=erasing):
        if erasing(chain):
            waiting.append(chain)
            continue
        try:
            with units.uow() as uow:
                stored += _store(uow, groups[chain], chain, skip_locked=True)
        except HeadBusy:
            waiting.append(chain)
    for chain in waiting:
        with units.uow() as uow:
            stored += _store(uow, groups[chain], chain)
    return stored


def _store(uow: AuditUow, events: Sequence[Event], chain: int, skip_locked: bool = False) -> int:
    rows = uow.chain.append(events, clock.now(), chain, skip_locked)
    erased = False
    if rows:
        by_id = {e.event_id: e for e in events}
        stored = [(row["seq"], by_id[row["event_id"]]) for row in rows]
        _project(uow, stored)
        for _seq, event in stored:
            if event.type in ERASURE_EVENTS:
                answer_erasure(uow, event)
                erased = True
    bind = engine_of(uow)
    uow.commit()
    if erased and bind is not None:
        checkpoint_wal(bind)  # the destroyed key's and forgotten copies' old pages leave the WAL
    return len(rows)


def answer_erasure(uow: AuditUow, event: Event) -> None:
    """audit stores every event it is given; a malformed request is stored like any other but cannot be
    answered (identity, which validates what it emits, never sends one)."""
    try:
        request = erasure_request(event)
    except MalformedErasureRequest:
        return
    privacy.erase_person(uow, request, uow.settings)


def _project(uow: AuditUow, stored: list[tuple[int, Event]]) -> None:
    refs: list[tuple[str, int]] = []
    usages = []
    for seq, event in stored:
        usage = trends.classify(event.type, event.actor, event.occurred_at, event.payload)
        if usage is not None:
            usages.append(usage)
        elif event.type.endswith(PII_ACCESS_SUFFIX):
            refs += [(person, seq) for person in people_named(event)]
        elif event.type == HOLD_PLACED:
            _place_hold(uow, event)
        elif event.type == HOLD_RELEASED:
            hold_id = str(event.payload.get("hold_id") or event.subject)
            uow.compliance.release_hold(hold_id, _when(event.occurred_at))
        elif event.type == CONTACT_SHARED:
            uow.compliance.add_disclosure(disclosure_from_contact_shared(event))
    uow.compliance.add_person_refs(refs)
    uow.compliance.add_usage(usages)


def people_named(event: Event) -> set[str]:
    """Whose personal data a ``*.pii.accessed`` event is about: its subject and the user ids its
    payload names (``user_id``, ``subject_user_id`` or lists ``user_ids``, ``subject_user_ids``)."""
    people = {event.subject} if event.subject else set()
    payload = event.payload
    people |= {payload[k] for k in _PERSON_KEYS if isinstance(payload.get(k), str)}
    for key in _PERSON_LIST_KEYS:
        value = payload.get(key)
        if isinstance(value, list):
            people |= {v for v in value if isinstance(v, str)}
    people.discard(event.actor)  # a person reading their own data is in their history already
    return {p for p in people if p and len(p) <= 200}


def _place_hold(uow: AuditUow, event: Event) -> None:
    payload = event.payload
    user_id = payload.get("user_id") or event.subject
    hold_id = str(payload.get("hold_id") or event.subject)
    until = payload.get("until")
    try:
        ends = _when(until) if isinstance(until, str) and until else None
    except ValueError:
        ends = None  # an unreadable end date keeps the hold: the safe side for a legal obligation
    uow.compliance.place_hold(hold_id, str(user_id)[:200], _when(event.occurred_at), ends)


def disclosure_from_contact_shared(event: Event) -> dict[str, Any]:
    """A user asked to be linked and shared their contact details with the company's managers."""
    p = event.payload
    company = p.get("company_id")
    recipient = p.get("recipient") or (f"company:{company} (managers)" if company else "company managers")
    categories = p.get("data_categories") or p.get("fields") or ["contact_details"]
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"disclosure:{event.event_id}")),
        "subject_user_id": str(p.get("user_id") or p.get("requester_id") or event.actor)[:200],
        "recipient": str(recipient)[:300],
        "legal_basis": str(p.get("legal_basis") or "consent")[:300],
        "data_categories": [str(c) for c in categories] if isinstance(categories, list) else [str(categories)],
        "source": "event",
        "source_event_id": event.event_id,
        "recorded_by": event.producer,
        "disclosed_at": _when(event.occurred_at),
        "recorded_at": clock.now(),
    }


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
