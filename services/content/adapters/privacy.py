"""Everything content holds about one person, found and erased in SQL (privacy requests)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from services.content.adapters import tables as t
from services.content.domain.collaterals import Collateral
from services.content.domain.items import Item
from services.content.domain.memberships import Membership
from services.content.domain.queries import CustomerQuery, QueryEntry
from shared.inbox import forget_copies

# Events about a person may still wait in the dead-letter store for an operator; the privacy requests
# themselves carry only ids and must stay replayable, so they are never forgotten here.


def _rowcount(result) -> int:
    return int(result.rowcount or 0)


class PrivacyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- reading: what the export shows ---------------------------------------------------------
    def queries_of(self, user_id: str) -> list[CustomerQuery]:
        """The person's own questions and complaints, oldest first, each with its whole history."""
        q = t.queries
        rows = self.session.execute(select(q).where(q.c.user_id == user_id).order_by(q.c.created_at, q.c.id)).all()
        entries = self._entries_of([r.id for r in rows])
        return [CustomerQuery(**r._mapping, entries=tuple(entries.get(r.id, []))) for r in rows]

    def owned_by(self, user_id: str) -> list[CustomerQuery]:
        q = t.queries
        rows = self.session.execute(select(q).where(q.c.owner_id == user_id).order_by(q.c.created_at, q.c.id))
        return [CustomerQuery(**r._mapping) for r in rows]

    def entries_on_others(self, user_id: str) -> list[QueryEntry]:
        """What the person wrote or did as staff on other people's queries."""
        e, q = t.query_entries, t.queries
        rows = self.session.execute(
            select(e).join(q, q.c.id == e.c.query_id)
            .where(e.c.author_id == user_id, q.c.user_id != user_id).order_by(e.c.created_at, e.c.id))
        return [_entry(r) for r in rows]

    def items_touched_by(self, user_id: str) -> list[Item]:
        i = t.items
        rows = self.session.execute(select(i).where(or_(i.c.created_by == user_id, i.c.updated_by == user_id))
                                    .order_by(i.c.created_at, i.c.id))
        return [Item(**r._mapping) for r in rows]

    def collaterals_by(self, user_id: str) -> list[Collateral]:
        c = t.collaterals
        rows = self.session.execute(select(c).where(c.c.created_by == user_id).order_by(c.c.created_at, c.c.id))
        return [Collateral(**r._mapping) for r in rows]

    def memberships_of(self, user_id: str) -> list[Membership]:
        m = t.memberships
        rows = self.session.execute(select(m).where(m.c.user_id == user_id).order_by(m.c.company_id))
        return [Membership(**r._mapping) for r in rows]

    def kept_complaints_past(self, now: datetime) -> list[CustomerQuery]:
        """Kept complaints whose retention date has passed (with their history, to find when they closed)."""
        q = t.queries
        rows = self.session.execute(select(q).where(q.c.retain_until.is_not(None), q.c.retain_until <= now)
                                    .order_by(q.c.retain_until, q.c.id)).all()
        entries = self._entries_of([r.id for r in rows])
        return [CustomerQuery(**r._mapping, entries=tuple(entries.get(r.id, []))) for r in rows]

    # --- erasing --------------------------------------------------------------------------------
    def delete_query(self, query_id: str) -> int:
        """The query and its whole history; returns how many history entries went with it."""
        gone = self.session.execute(delete(t.query_entries).where(t.query_entries.c.query_id == query_id))
        self.session.execute(delete(t.queries).where(t.queries.c.id == query_id))
        return _rowcount(gone)

    def keep_under_pseudonym(self, query_id: str, user_id: str, alias: str, retain_until: datetime) -> None:
        """A kept complaint: its author, and their own entries in its history, become ``alias``."""
        q, e = t.queries, t.query_entries
        self.session.execute(update(q).where(q.c.id == query_id).values(user_id=alias, retain_until=retain_until))
        self.session.execute(update(e).where(e.c.query_id == query_id, e.c.author_id == user_id)
                             .values(author_id=alias))

    def replace_in_entries(self, user_id: str, alias: str) -> int:
        """Staff traces in other people's cases: author, and previous/next owner of assignments."""
        e = t.query_entries
        changed = 0
        for column in (e.c.author_id, e.c.from_value, e.c.to_value):
            changed += _rowcount(self.session.execute(update(e).where(column == user_id).values({column: alias})))
        return changed

    def replace_authorship(self, user_id: str, alias: str) -> int:
        """Who wrote or last changed an item, who uploaded a file: the content stays, the id goes."""
        i, c = t.items, t.collaterals
        changed = 0
        for table, column in ((i, i.c.created_by), (i, i.c.updated_by), (c, c.c.created_by)):
            changed += _rowcount(self.session.execute(update(table).where(column == user_id).values({column: alias})))
        return changed

    def delete_memberships(self, user_id: str) -> int:
        return _rowcount(self.session.execute(delete(t.memberships).where(t.memberships.c.user_id == user_id)))

    def forget_residual_copies(self, user_id: str) -> int:
        """Copies of events that name the person and that nobody needs any more: outbox rows already
        published (audit has them), and dead letters other than privacy requests. Rows not yet
        published stay: they are the server log the audit service must still receive."""
        return forget_copies(self.session, t.outbox, t.dead_letters, user_id)

    # --- helpers --------------------------------------------------------------------------------
    def _entries_of(self, query_ids: list[str]) -> dict[str, list[QueryEntry]]:
        if not query_ids:
            return {}
        e = t.query_entries
        out: dict[str, list[QueryEntry]] = {}
        rows = self.session.execute(select(e).where(e.c.query_id.in_(query_ids)).order_by(e.c.seq, e.c.created_at))
        for r in rows:
            out.setdefault(r.query_id, []).append(_entry(r))
        return out


def _entry(row) -> QueryEntry:
    return QueryEntry(**{k: v for k, v in row._mapping.items() if k != "seq"})


class ErasureRepository:
    """Whom content has erased, by ``domain.privacy.erasure_key`` (never the user id itself)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, user_key: str, request_id: str, at: datetime) -> None:
        r = t.erasures
        if self.session.execute(select(r.c.user_key).where(r.c.user_key == user_key)).first() is None:
            self.session.execute(insert(r).values(user_key=user_key, request_id=request_id, erased_at=at))

    def contains(self, user_key: str) -> bool:
        r = t.erasures
        return self.session.execute(select(r.c.user_key).where(r.c.user_key == user_key)).first() is not None

