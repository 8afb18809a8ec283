"""Privacy requests: export what content holds about a person, erase it, apply retention.

The protocol is docs/internal-contracts.md "Privacy requests": identity pulls the export over HTTP and
pushes the erasure as an event; content answers the erasure with ``content.privacy.erasure_completed``
in the same transaction as the erasure itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from services.content.config import SERVICE, Settings
from services.content.domain.collaterals import Collateral
from services.content.domain.items import Item
from services.content.domain.memberships import Membership
from services.content.domain.privacy import (
    closed_at,
    erasure_key,
    keep_until,
    needs_work,
    pseudonym,
    purgeable,
)
from services.content.domain.queries import CustomerQuery, EntryKind, QueryEntry
from services.content.handlers.ports import ContentUow
from shared import clock
from shared.events.privacy import ErasureAnswer, ErasureRequest, actor, erasure_completed

WORKER = actor(SERVICE)


@dataclass(frozen=True)
class PersonalData:
    """Everything content holds about one person (the export's ``data``)."""

    questions: list[CustomerQuery]
    complaints: list[CustomerQuery]
    memberships: list[Membership]
    owned_query_ids: list[str]  # queries they handle as staff
    entries_on_others: list[QueryEntry]  # replies and case steps they wrote as staff
    items: list[Item]  # items they created or last changed as an editor
    collaterals: list[Collateral]  # files they uploaded


def export_person(uow: ContentUow, user_id: str) -> PersonalData:
    with uow:
        p = uow.privacy
        own = p.queries_of(user_id)
        return PersonalData(
            questions=[q for q in own if not q.is_complaint],
            complaints=[q for q in own if q.is_complaint],
            memberships=p.memberships_of(user_id),
            owned_query_ids=[q.id for q in p.owned_by(user_id)],
            entries_on_others=p.entries_on_others(user_id),
            items=p.items_touched_by(user_id),
            collaterals=p.collaterals_by(user_id),
        )


def erase_person(uow: ContentUow, request: ErasureRequest, settings: Settings) -> ErasureAnswer:
    """Erase what content holds about the person, keep complaints for ``complaint_retention_days`` after
    closure under a pseudonym, and answer identity — all in one transaction. Idempotent: a second run (a
    replay after a backup was restored) erases whatever came back and reports the same kept complaints."""
    request_id, user_id = request.request_id, request.user_id
    retention = timedelta(days=settings.complaint_retention_days)
    with uow:
        now = clock.now()
        alias = pseudonym(request_id)
        answer = ErasureAnswer()
        questions, expired, history, kept = _own_queries(uow, user_id, alias, now, retention)
        unassigned = _release_cases(uow, user_id, alias, now)
        staff_entries = uow.privacy.replace_in_entries(user_id, alias)
        authorship = uow.privacy.replace_authorship(user_id, alias)
        memberships = uow.privacy.delete_memberships(user_id)
        residual = uow.privacy.forget_residual_copies(user_id)
        uow.erasures.record(erasure_key(user_id), request_id, now)
        answer.erased = [
            f"questions with their replies and history: {questions}",
            f"complaints whose retention period was over: {expired}",
            f"history entries deleted with them: {history}",
            f"company memberships (content's copy of linking's): {memberships}",
            f"user id on kept complaints, replaced by {alias}: {len(kept)}",
            f"user id on replies and case steps written as staff, replaced by {alias}: {staff_entries}",
            f"open cases owned, returned to the unassigned queue: {unassigned}",
            f"user id as author of items and files, replaced by {alias}: {authorship}",
            f"published copies of events naming the person (outbox, dead letters): {residual}",
        ]
        answer.kept = [_kept_complaint(q, until, alias, retention) for q, until in kept]
        answer.kept.append({
            "data": "a one-way key of the user id, with this request's id",
            "reason": "so that a late or redelivered event (e.g. a company membership) cannot bring data "
                      "about the person back; it matches only for someone who already holds the user id",
            "until": None,
        })
        uow.emit(erasure_completed(SERVICE), subject=user_id, actor=WORKER, payload=answer.payload(request))
        uow.commit()
    return answer


def _own_queries(uow: ContentUow, user_id: str, alias: str, now: datetime, retention: timedelta):
    """Questions (and complaints past their period) go; other complaints stay under ``alias``.
    Also looks under ``alias``: a replay re-reports what an earlier run kept."""
    questions = expired = history = 0
    kept: list[tuple[CustomerQuery, datetime]] = []
    for query in uow.privacy.queries_of(user_id) + uow.privacy.queries_of(alias):
        until = keep_until(query, now, retention)
        if until is None:
            history += uow.privacy.delete_query(query.id)
            if query.is_complaint:
                expired += 1
            else:
                questions += 1
        else:
            uow.privacy.keep_under_pseudonym(query.id, user_id, alias, until)
            kept.append((query, until))
    return questions, expired, history, kept


def _release_cases(uow: ContentUow, user_id: str, alias: str, now: datetime) -> int:
    """Cases the person handled as staff: one still needing work goes back to the unassigned queue
    (with an entry saying why); a finished one keeps its owner as ``alias``."""
    released = 0
    for query in uow.privacy.owned_by(user_id):
        if needs_work(query):
            released += 1
            uow.queries.add_entry(QueryEntry(
                id=str(uuid.uuid4()), query_id=query.id, kind=EntryKind.ASSIGNMENT, author_id=WORKER,
                by_staff=True, body="The owner's account was erased; the case is back in the queue.",
                from_value=alias, to_value=None, created_at=now))
            uow.queries.save(replace(query, owner_id=None, updated_at=now))
        else:
            uow.queries.save(replace(query, owner_id=alias))
    return released


def _kept_complaint(query: CustomerQuery, until: datetime, alias: str, retention: timedelta) -> dict[str, Any]:
    days = retention.days
    if closed_at(query) is None:
        reason = (f"complaint case still open: kept for legal claims and the data-protection authority "
                  f"until {days} days after it is closed (at least until the date given)")
    else:
        reason = f"complaint: kept for legal claims and the data-protection authority {days} days after closure"
    return {"data": f"complaint {query.id}: subject, text, replies and case history, under {alias}",
            "reason": reason, "until": clock.isoformat(until)}


def purge_expired_complaints(uow: ContentUow, retention: timedelta) -> list[str]:
    """Delete the kept complaints whose retention is over (their case closed ``retention`` ago or more)."""
    with uow:
        now = clock.now()
        gone = [q.id for q in uow.privacy.kept_complaints_past(now) if purgeable(q, now, retention)]
        for query_id in gone:
            uow.privacy.delete_query(query_id)
        if gone:
            uow.emit("content.retention.applied", subject="content:complaints",
                     payload={"kind": "complaints", "query_ids": gone, "count": len(gone)})
        uow.commit()
    return gone
