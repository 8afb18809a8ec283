"""A person's erasure in content: what goes, what stays, for how long, and what stands in for them.

Questions go. A complaint stays for a legal period after its case is closed (legal claims, the
data-protection authority), under a pseudonym instead of its author's user id. Records that belong to
someone else (a reply written as staff on another person's query, an item an editor wrote) stay, with
the erased person's id replaced by the same pseudonym.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from services.content.domain.queries import ComplaintStatus, CustomerQuery, EntryKind, QuestionStatus

# The participant contract's MAX_REQUEST_ID leaves room for it: the pseudonym fits where the user id was.
ERASED_PREFIX = "erased:"


def pseudonym(request_id: str) -> str:
    """What replaces an erased person's user id in the records content keeps.

    Derived from the erasure request, not from the person: content alone cannot tell whose it was;
    identity's erasure ledger can (request id -> user id), which is what a legal claim about a kept
    complaint needs. The same request gives the same pseudonym, so a replay changes nothing.
    """
    return f"{ERASED_PREFIX}{request_id}"


def is_pseudonym(user_id: str | None) -> bool:
    return bool(user_id) and str(user_id).startswith(ERASED_PREFIX)


def erasure_key(user_id: str) -> str:
    """The one-way key under which content remembers that a person was erased (to refuse late events
    about them). It matches only for someone who already holds the user id."""
    return hashlib.sha256(f"content-erasure:{user_id}".encode()).hexdigest()


def closed_at(query: CustomerQuery) -> datetime | None:
    """When a complaint's case was closed (resolved); None while it is open. Needs the query's entries."""
    if not query.is_complaint or query.status != ComplaintStatus.RESOLVED:
        return None
    resolved = [e.created_at for e in query.entries
                if e.kind == EntryKind.STATUS and e.to_value == ComplaintStatus.RESOLVED]
    return max(resolved) if resolved else query.updated_at


def keep_until(query: CustomerQuery, now: datetime, retention: timedelta) -> datetime | None:
    """Until when a query must be kept after its author's erasure; None: erase it now.

    A question is never kept. A complaint is kept ``retention`` after its case was closed, and goes at
    once if that is already over. A case still open is kept at least ``retention`` from its first
    erasure, and longer if it closes later (see ``purgeable``). What an earlier run decided (a replay)
    is never shortened, so running twice changes nothing.
    """
    if not query.is_complaint:
        return None
    closed = closed_at(query)
    if closed is None:
        return query.retain_until or now + retention
    until = closed + retention
    if query.retain_until is not None:
        until = max(until, query.retain_until)
    return until if until > now else None


def purgeable(query: CustomerQuery, now: datetime, retention: timedelta) -> bool:
    """A kept complaint is deleted once its case is closed and ``retention`` has passed since."""
    closed = closed_at(query)
    if query.retain_until is None or closed is None:
        return False
    return max(query.retain_until, closed + retention) <= now


def needs_work(query: CustomerQuery) -> bool:
    """Whether a query still needs someone to handle it (an open question, an undecided complaint)."""
    if query.is_complaint:
        return query.status != ComplaintStatus.RESOLVED
    return query.status == QuestionStatus.OPEN
