"""Queries and complaints: who sees them, and the life of a complaint case."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from services.content.domain.errors import InvalidInput, InvalidTransition
from services.content.domain.viewer import Viewer


class QueryKind(StrEnum):
    QUESTION = "question"
    COMPLAINT = "complaint"


class QuestionStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ESCALATED = "escalated"  # handed to the data-protection authority


# A complaint is acknowledged before it is decided; an escalated case is resolved once the
# authority has ruled. ``resolved`` is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    ComplaintStatus.RECEIVED: frozenset({ComplaintStatus.ACKNOWLEDGED}),
    ComplaintStatus.ACKNOWLEDGED: frozenset({ComplaintStatus.RESOLVED, ComplaintStatus.ESCALATED}),
    ComplaintStatus.ESCALATED: frozenset({ComplaintStatus.RESOLVED}),
    ComplaintStatus.RESOLVED: frozenset(),
}


class EntryKind(StrEnum):
    REPLY = "reply"
    STATUS = "status"
    ASSIGNMENT = "assignment"
    DUE_DATE = "due_date"


@dataclass(frozen=True)
class QueryEntry:
    """One follow-up: a reply, or a change of status, owner or due date."""

    id: str
    query_id: str
    kind: str
    author_id: str
    by_staff: bool
    body: str
    from_value: str | None
    to_value: str | None
    created_at: datetime


@dataclass(frozen=True)
class CustomerQuery:
    id: str
    user_id: str
    kind: str
    subject: str
    body: str
    status: str
    owner_id: str | None
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # Set only on a complaint kept after its author's erasure: deleted once this has passed and the
    # case is closed (``domain/privacy.py``).
    retain_until: datetime | None = None
    entries: tuple[QueryEntry, ...] = field(default=())

    @property
    def is_complaint(self) -> bool:
        return self.kind == QueryKind.COMPLAINT

    def overdue(self, now: datetime) -> bool:
        open_case = self.status in (ComplaintStatus.RECEIVED, ComplaintStatus.ACKNOWLEDGED)
        return self.is_complaint and open_case and self.due_at is not None and self.due_at < now


def new_query(query_id: str, user_id: str, data: dict, now: datetime, due_days: int) -> CustomerQuery:
    complaint = data["kind"] == QueryKind.COMPLAINT
    return CustomerQuery(
        id=query_id, user_id=user_id, kind=data["kind"], subject=data["subject"], body=data["body"],
        status=ComplaintStatus.RECEIVED if complaint else QuestionStatus.OPEN, owner_id=None,
        due_at=now + timedelta(days=due_days) if complaint else None, created_at=now, updated_at=now,
    )


def can_see(query: CustomerQuery, viewer: Viewer) -> bool:
    """The author; admins; support staff for the queries they handle or that nobody handles yet.

    ``QueryRepository.list_for`` says the same thing in SQL.
    """
    if not viewer.logged_in:
        return False
    if query.user_id == viewer.user_id or viewer.is_admin:
        return True
    return viewer.handles_queries and query.owner_id in (None, viewer.user_id)


def change_status(query: CustomerQuery, to_status: str, now: datetime) -> CustomerQuery:
    if not query.is_complaint:
        raise InvalidInput("Only complaints have a case status.", {"status": ["Only complaints have a case status."]})
    if to_status == query.status:
        return query
    if to_status not in TRANSITIONS.get(query.status, frozenset()):
        raise InvalidTransition(f"A complaint that is {query.status} cannot become {to_status}.")
    return replace(query, status=to_status, updated_at=now)


def change_due_date(query: CustomerQuery, due_at: datetime, now: datetime) -> CustomerQuery:
    if not query.is_complaint:
        raise InvalidInput("Only complaints have a due date.", {"due_at": ["Only complaints have a due date."]})
    if query.status in (ComplaintStatus.RESOLVED,):
        raise InvalidTransition("A resolved complaint has no due date to move.")
    if due_at <= now:
        raise InvalidInput("The due date must be in the future.", {"due_at": ["Must be in the future."]})
    return replace(query, due_at=due_at, updated_at=now)
