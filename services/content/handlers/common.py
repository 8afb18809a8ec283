"""What every use case needs: the caller as content's rules see it, and pages of results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from services.content.domain.viewer import Viewer
from services.content.handlers.ports import ContentUow, Cursor

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: Cursor | None


def paginate(rows: list, limit: int) -> Page:
    """``rows`` was fetched with ``limit + 1``: one more row means there is a next page."""
    if len(rows) <= limit:
        return Page(rows, None)
    kept = rows[:limit]
    return Page(kept, (kept[-1].created_at, kept[-1].id))


def viewer_for(uow: ContentUow) -> Viewer:
    """Inside ``with uow``: the caller with the companies the membership projection says they are in."""
    ctx = uow.context
    if not ctx.user_id or ctx.is_system:
        return Viewer()
    return Viewer(ctx.user_id, frozenset(ctx.roles), uow.memberships.companies_of(ctx.user_id))
