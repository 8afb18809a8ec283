"""Repositories: content's tables in and out as domain objects, on the unit of work's session."""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import Any

from sqlalchemy import and_, delete, false, func, insert, or_, select, true, update
from sqlalchemy.orm import Session

from services.content.adapters import tables as t
from services.content.domain.collaterals import Collateral
from services.content.domain.items import Item, ItemStatus, Visibility
from services.content.domain.memberships import Membership
from services.content.domain.queries import CustomerQuery, QueryEntry
from services.content.domain.viewer import Viewer
from services.content.handlers.ports import Cursor

_ROW_ID = re.compile(r"^[0-9a-f-]{36}$")


def is_row_id(value: str) -> bool:
    """Ids are UUID text; anything else (too long, NUL bytes PostgreSQL refuses, ...) matches no row,
    so it never reaches the database."""
    return bool(_ROW_ID.match(value))


def _after(table, cursor: Cursor | None):
    """Newest first; the next page starts strictly after the cursor row."""
    if cursor is None:
        return true()
    created_at, row_id = cursor
    return or_(table.c.created_at < created_at, and_(table.c.created_at == created_at, table.c.id < row_id))


class ItemRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, item_id: str) -> Item | None:
        if not is_row_id(item_id):
            return None
        row = self.session.execute(select(t.items).where(t.items.c.id == item_id)).first()
        return Item(**row._mapping) if row else None

    def add(self, item: Item) -> None:
        self.session.execute(insert(t.items).values(**asdict(item)))

    def save(self, item: Item) -> None:
        values = asdict(item)
        item_id = values.pop("id")
        self.session.execute(update(t.items).where(t.items.c.id == item_id).values(**values))

    def list_visible(self, viewer: Viewer, filters: dict[str, Any], limit: int,
                     cursor: Cursor | None) -> list[Item]:
        """``domain.items.can_read`` in SQL: the database filters, so a page is never short of
        readable rows and invisible ones never leave it."""
        i = t.items
        query = select(i).where(_after(i, cursor))
        if not viewer.is_editor:
            audience = [i.c.visibility == Visibility.PUBLIC]
            if viewer.logged_in:
                audience.append(i.c.visibility == Visibility.USERS)
                if viewer.company_ids:
                    audience.append(and_(i.c.visibility == Visibility.COMPANY,
                                         i.c.company_id.in_(sorted(viewer.company_ids))))
            query = query.where(i.c.status == ItemStatus.PUBLISHED, or_(*audience))
        for name in ("visibility", "company_id", "status"):
            if filters.get(name) is not None:
                query = query.where(i.c[name] == filters[name])
        rows = self.session.execute(query.order_by(i.c.created_at.desc(), i.c.id.desc()).limit(limit))
        return [Item(**r._mapping) for r in rows]


class CollateralRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, collateral_id: str) -> Collateral | None:
        if not is_row_id(collateral_id):
            return None
        row = self.session.execute(select(t.collaterals).where(t.collaterals.c.id == collateral_id)).first()
        return Collateral(**row._mapping) if row else None

    def add(self, collateral: Collateral) -> None:
        self.session.execute(insert(t.collaterals).values(**asdict(collateral)))

    def remove(self, collateral_id: str) -> None:
        self.session.execute(delete(t.collaterals).where(t.collaterals.c.id == collateral_id))

    def known_keys(self, keys: list[str]) -> set[str]:
        """Which of these storage keys a collateral points at."""
        c = t.collaterals
        return set(self.session.execute(select(c.c.storage_key).where(c.c.storage_key.in_(keys))).scalars())

    def for_item(self, item_id: str) -> list[Collateral]:
        c = t.collaterals
        rows = self.session.execute(select(c).where(c.c.item_id == item_id).order_by(c.c.created_at, c.c.id))
        return [Collateral(**r._mapping) for r in rows]


class MembershipRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def companies_of(self, user_id: str) -> frozenset[str]:
        m = t.memberships
        rows = self.session.execute(select(m.c.company_id).where(m.c.user_id == user_id, m.c.active == true()))
        return frozenset(r[0] for r in rows)

    def get(self, company_id: str, user_id: str) -> Membership | None:
        m = t.memberships
        row = self.session.execute(select(m).where(m.c.company_id == company_id, m.c.user_id == user_id)).first()
        return Membership(**row._mapping) if row else None

    def save(self, membership: Membership) -> None:
        m = t.memberships
        values = asdict(membership)
        done = self.session.execute(
            update(m).where(m.c.company_id == membership.company_id, m.c.user_id == membership.user_id)
            .values(active=membership.active, as_of=membership.as_of))
        if not done.rowcount:  # type: ignore[attr-defined]  # an UPDATE gives a CursorResult
            self.session.execute(insert(m).values(**values))


class QueryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, query_id: str, with_entries: bool = False) -> CustomerQuery | None:
        if not is_row_id(query_id):
            return None
        row = self.session.execute(select(t.queries).where(t.queries.c.id == query_id)).first()
        if row is None:
            return None
        entries = tuple(self.entries(query_id)) if with_entries else ()
        return CustomerQuery(**row._mapping, entries=entries)

    def add(self, query: CustomerQuery) -> None:
        values = asdict(query)
        values.pop("entries")
        self.session.execute(insert(t.queries).values(**values))

    def save(self, query: CustomerQuery) -> None:
        values = asdict(query)
        values.pop("entries")
        query_id = values.pop("id")
        self.session.execute(update(t.queries).where(t.queries.c.id == query_id).values(**values))

    def add_entry(self, entry: QueryEntry) -> None:
        e = t.query_entries
        last = self.session.execute(select(func.max(e.c.seq)).where(e.c.query_id == entry.query_id)).scalar()
        self.session.execute(insert(e).values(**asdict(entry), seq=(last or 0) + 1))

    def entries(self, query_id: str) -> list[QueryEntry]:
        e = t.query_entries
        rows = self.session.execute(select(e).where(e.c.query_id == query_id).order_by(e.c.seq, e.c.created_at))
        return [QueryEntry(**{k: v for k, v in r._mapping.items() if k != "seq"}) for r in rows]

    def list_for(self, viewer: Viewer, filters: dict[str, Any], limit: int,
                 cursor: Cursor | None) -> list[CustomerQuery]:
        """``domain.queries.can_see`` in SQL. ``mine`` limits staff to the queries they wrote."""
        q = t.queries
        query = select(q).where(_after(q, cursor))
        if not viewer.logged_in:
            query = query.where(false())
        elif filters.get("mine") or not viewer.handles_queries:
            query = query.where(q.c.user_id == viewer.user_id)
        elif not viewer.is_admin:
            query = query.where(or_(q.c.user_id == viewer.user_id, q.c.owner_id.is_(None),
                                    q.c.owner_id == viewer.user_id))
        for name in ("kind", "status"):
            if filters.get(name) is not None:
                query = query.where(q.c[name] == filters[name])
        if filters.get("owner_id") is not None:
            query = query.where(q.c.owner_id == filters["owner_id"])
        if filters.get("unassigned"):
            query = query.where(q.c.owner_id.is_(None))
        rows = self.session.execute(query.order_by(q.c.created_at.desc(), q.c.id.desc()).limit(limit))
        return [CustomerQuery(**r._mapping) for r in rows]
