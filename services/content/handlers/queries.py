"""Queries and complaints: post, list, read, reply, and move a complaint case along.

Every step a complainant must hear about is a ``content.complaint.*`` event carrying
``complainant_user_id``: identity, which owns the addresses and the mail, writes the message.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.content.domain.errors import InvalidInput, NotFound
from services.content.domain.queries import (
    CustomerQuery,
    EntryKind,
    QueryEntry,
    QuestionStatus,
    can_see,
    change_due_date,
    change_status,
    new_query,
)
from services.content.domain.viewer import Viewer
from services.content.handlers.common import Page, paginate, viewer_for
from services.content.handlers.ports import ContentUow, Cursor
from shared import clock


def _iso(moment: datetime | None) -> str | None:
    return clock.isoformat(moment) if moment else None


def _entry(query: CustomerQuery, kind: str, author: str, by_staff: bool, body: str, now: datetime,
           from_value: str | None = None, to_value: str | None = None) -> QueryEntry:
    return QueryEntry(id=str(uuid.uuid4()), query_id=query.id, kind=kind, author_id=author, by_staff=by_staff,
                      body=body, from_value=from_value, to_value=to_value, created_at=now)


def _case(query: CustomerQuery) -> dict[str, Any]:
    return {"query_id": query.id, "complainant_user_id": query.user_id, "status": query.status,
            "owner_id": query.owner_id, "due_at": _iso(query.due_at)}


def _record_staff_reads(uow: ContentUow, viewer: Viewer, found: list[CustomerQuery], reason: str) -> None:
    """A staff read of someone else's query is an access to their personal data: one
    ``content.pii.accessed`` per person read about, so it shows in their own access history."""
    by_person: dict[str, list[str]] = {}
    for query in found:
        if query.user_id != viewer.user_id:
            by_person.setdefault(query.user_id, []).append(query.id)
    for person, query_ids in by_person.items():
        uow.emit("content.pii.accessed", subject=person, payload={
            "accessor_id": viewer.user_id or "", "subject_user_id": person, "reason": reason,
            "fields": ["query.subject", "query.body"], "query_ids": query_ids})


def _visible(uow: ContentUow, query_id: str, viewer: Viewer, with_entries: bool = False) -> CustomerQuery:
    query = uow.queries.get(query_id, with_entries=with_entries)
    if query is None or not can_see(query, viewer):
        raise NotFound("No such query.")
    return query


def post_query(uow: ContentUow, data: dict[str, Any], due_days: int) -> CustomerQuery:
    with uow:
        user_id = uow.context.user_id or ""
        query = new_query(str(uuid.uuid4()), user_id, data, clock.now(), due_days)
        uow.queries.add(query)
        uow.emit("content.query.posted", subject=f"query:{query.id}", payload={
            "query_id": query.id, "kind": query.kind, "user_id": user_id, "subject": query.subject})
        if query.is_complaint:
            uow.emit("content.complaint.received", subject=f"query:{query.id}", payload=_case(query))
        uow.commit()
    return query


def list_queries(uow: ContentUow, filters: dict[str, Any], limit: int,
                 cursor: Cursor | None) -> Page[CustomerQuery]:
    with uow:
        viewer = viewer_for(uow)
        page = paginate(uow.queries.list_for(viewer, filters, limit + 1, cursor), limit)
        _record_staff_reads(uow, viewer, page.items, "query_list")
        uow.commit()
    return page


def get_query(uow: ContentUow, query_id: str) -> CustomerQuery:
    with uow:
        viewer = viewer_for(uow)
        query = _visible(uow, query_id, viewer, with_entries=True)
        _record_staff_reads(uow, viewer, [query], "query_read")
        uow.commit()
    return query


def reply_to_query(uow: ContentUow, query_id: str, body: str) -> QueryEntry:
    """The author adds to their query, or staff who handle it answer. A staff answer closes a
    question and takes an unowned query; the author writing again reopens an answered question."""
    with uow:
        viewer = viewer_for(uow)
        query = _visible(uow, query_id, viewer)
        author = viewer.user_id or ""
        by_staff = query.user_id != author
        now = clock.now()
        entry = _entry(query, EntryKind.REPLY, author, by_staff, body, now)
        uow.queries.add_entry(entry)
        updated = replace(query, updated_at=now)
        if by_staff and query.owner_id is None:
            updated = _assign(uow, updated, author, author, now, note="")
        if not query.is_complaint:
            updated = replace(updated, status=QuestionStatus.ANSWERED if by_staff else QuestionStatus.OPEN)
        uow.queries.save(updated)
        uow.emit("content.query.replied", subject=f"query:{query.id}", payload={
            "query_id": query.id, "kind": query.kind, "user_id": query.user_id, "reply_id": entry.id,
            "replied_by": author, "by_staff": by_staff})
        if query.is_complaint and by_staff:
            uow.emit("content.complaint.followed_up", subject=f"query:{query.id}",
                     payload={**_case(updated), "reply_id": entry.id})
        uow.commit()
    return entry


def _assign(uow: ContentUow, query: CustomerQuery, owner_id: str | None, actor: str, now: datetime,
            note: str) -> CustomerQuery:
    updated = replace(query, owner_id=owner_id, updated_at=now)
    uow.queries.add_entry(_entry(query, EntryKind.ASSIGNMENT, actor, True, note, now,
                                 query.owner_id, owner_id))
    uow.emit("content.query.assigned", subject=f"query:{query.id}", payload={
        "query_id": query.id, "kind": query.kind, "user_id": query.user_id, "owner_id": owner_id,
        "previous_owner_id": query.owner_id})
    return updated


def update_case(uow: ContentUow, query_id: str, changes: dict[str, Any]) -> CustomerQuery:
    """Staff who handle a query change its owner, and a complaint's status and due date, each change
    with an entry in the record and an event (the complainant is told of status and due-date moves)."""
    with uow:
        viewer = viewer_for(uow)
        query = _visible(uow, query_id, viewer)
        actor = viewer.user_id or ""
        note = changes.get("note") or ""
        now = clock.now()
        updated = query
        if "owner_id" in changes and changes["owner_id"] != query.owner_id:
            _check_assignment(viewer, query, changes["owner_id"])
            updated = _assign(uow, updated, changes["owner_id"], actor, now, note)
        if changes.get("status") and changes["status"] != query.status:
            before = updated.status
            updated = change_status(updated, changes["status"], now)
            uow.queries.add_entry(_entry(query, EntryKind.STATUS, actor, True, note, now, before, updated.status))
            if updated.owner_id is None:  # whoever moves an unowned case takes it
                updated = _assign(uow, updated, actor, actor, now, note="")
            uow.emit("content.complaint.status_changed", subject=f"query:{query.id}", payload={
                **_case(updated), "from_status": before, "to_status": updated.status, "note": note})
        if changes.get("due_at") is not None and changes["due_at"] != query.due_at:
            before_due = updated.due_at
            updated = change_due_date(updated, changes["due_at"], now)
            uow.queries.add_entry(_entry(query, EntryKind.DUE_DATE, actor, True, note, now,
                                         _iso(before_due), _iso(updated.due_at)))
            uow.emit("content.complaint.due_date_changed", subject=f"query:{query.id}", payload={
                **_case(updated), "previous_due_at": _iso(before_due), "note": note})
        if updated is not query:
            uow.queries.save(updated)
        result = replace(updated, entries=tuple(uow.queries.entries(query.id)))
        uow.commit()
    return result


def _check_assignment(viewer: Viewer, query: CustomerQuery, owner_id: str | None) -> None:
    """Support staff take an unowned query or hand over their own; admins assign freely."""
    if viewer.is_admin:
        return
    if query.owner_id is None and owner_id == viewer.user_id:
        return
    if query.owner_id == viewer.user_id:
        return
    raise InvalidInput("You may take an unassigned query or hand over your own.",
                       {"owner_id": ["You may take an unassigned query or hand over your own."]})
