"""Privacy requests: what audit holds about a person, and erasure by destroying their key.

The protocol is docs/internal-contracts.md "Privacy requests": identity pulls the export over HTTP and
pushes the erasure as an event, which audit (bound to every event) sees when it stores it; the answer,
``audit.privacy.erasure_completed``, is emitted in the same transaction as the key's destruction.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from services.audit.config import SERVICE, Settings
from services.audit.domain import sealing
from services.audit.domain.chain import iso
from services.audit.domain.search import personal_row
from services.audit.handlers.compliance import _public_disclosure
from services.audit.handlers.ports import AuditUow, Units
from shared import clock
from shared.events.privacy import ErasureAnswer, ErasureRequest, actor, erasure_completed
from shared.identity import Identity

WORKER = actor(SERVICE)


def export_person(units: Units, user_id: str, limit: int) -> dict[str, Any]:
    """The person's audit trail (their newest ``limit`` events, with the total), the staff accesses to
    their data, and the disclosure register entries about them. Never another person's identifying
    fields: what an own event carries about someone else is left out. Empty for someone unknown."""
    with units.read_uow(snapshot=True) as uow:
        token = uow.token(user_id)
        own, own_total = uow.search.acted_by(token, limit)
        own = uow.keys.open_rows(own, only=token)
        accesses, access_total = uow.search.accesses_to(user_id, limit)
        accesses = uow.keys.open_rows(accesses, only=token)
        disclosures = uow.compliance.list_disclosures(user_id, None, limit)
    return {
        "audit_trail": {"total": own_total, "included": len(own), "limit": limit,
                        "events": [_own_event(row, user_id) for row in own]},
        "staff_accesses": {"total": access_total, "included": len(accesses), "limit": limit,
                           "events": [_access(row, user_id) for row in accesses]},
        "disclosures": [_public_disclosure(d) for d in disclosures],
    }


def _own_event(row: dict[str, Any], user_id: str) -> dict[str, Any]:
    payload = json.loads(row["payload"])
    owner = sealing.owner_of_payload(user_id, payload)
    if owner != user_id:  # identifying fields about someone else (a plaintext row stored before sealing)
        for name in sealing.personal_fields(row["type"], int(row["version"]), payload):
            payload.pop(name, None)
    return {"seq": row["seq"], "type": row["type"], "occurred_at": iso(row["occurred_at"]),
            "subject": row["subject"], "correlation_id": row["correlation_id"], "details": payload}


def _access(row: dict[str, Any], user_id: str) -> dict[str, Any]:
    out = personal_row(row, user_id)
    out.pop("kind", None)
    return out


def erase_person(uow: AuditUow, request: ErasureRequest, settings: Settings) -> ErasureAnswer:
    """Destroy the person's key (idempotently: a replay finds it destroyed), forget which staff accesses
    were about them, and answer identity, in the unit of work that stored the event. The events
    themselves stay: the chain covers them and they are the security log; they keep only pseudonymous
    ids (user ids that identity no longer maps to anyone) until retention removes them."""
    request_id, user_id = request.request_id, request.user_id
    now = clock.now()
    token = uow.token(user_id)
    uow.keys.destroy(token, request_id, now)
    unreadable, plaintext = uow.search.sealed_counts(token, user_id)
    refs = uow.compliance.forget_person_refs(user_id)
    copies = uow.forget_copies(user_id)
    until = (now + timedelta(days=settings.retention_days)).date().isoformat()
    erased = [
        f"identifying fields (acting user id, e-mail, name, phone, IP address, user agent) made unreadable "
        f"by destroying the person's key, in stored events: {unreadable}",
        f"links between staff accesses and the person (the staff-access index): {refs}",
        f"audit's own copies of events naming the person (published outbox rows, dead letters): {copies}",
    ]
    kept: list[dict[str, Any]] = [{
        "data": "the stored events themselves, pseudonymous (ids, types, times; identifying fields unreadable)",
        "reason": "legal obligation and security: the server log store is append-only and hash-chained; "
                  "events are removed only by retention",
        "until": until,
    }, {
        "data": "disclosure register entries about the person (ids, recipients, legal bases, categories)",
        "reason": "legal obligation: accountability for disclosures of personal data",
        "until": until,
    }, {
        "data": "a one-way key (keyed digest) of the user id with this request's id, marking the key destroyed",
        "reason": "so that later events about the person are stored unreadable too",
        "until": None,
    }]
    if plaintext:
        kept.append({
            "data": f"events the person acted in, stored before per-person sealing existed: {plaintext}",
            "reason": "their hashes cover the plaintext: rewriting them would break the chain's tamper "
                      "evidence; removed by retention",
            "until": until,
        })
    answer = ErasureAnswer(erased, kept)
    uow.context = Identity(user_id=WORKER, request_id=request.correlation_id)
    uow.emit(erasure_completed(SERVICE), subject=user_id, actor=WORKER, payload=answer.payload(request))
    return answer


def rewrap_person_keys(units: Units, batch: int = 1000) -> dict[str, Any]:
    """After the wrap key changed (PORTAL_AUDIT_KEY_WRAP_KEY, the old one in
    PORTAL_AUDIT_PREVIOUS_KEY_WRAP_KEYS): wrap every person key under the current key, a batch per
    transaction. ``unavailable`` counts keys wrapped under a key that is not configured (still unreadable)."""
    moved = 0
    while True:
        with units.uow() as uow:
            done = uow.keys.rewrap(batch)
            uow.commit()
        moved += done
        if done < batch:
            break
    with units.read_uow() as uow:
        left = uow.keys.unavailable()
        key_id = uow.keys.wrap_id
    return {"rewrapped": moved, "unavailable": left, "key_id": key_id}

