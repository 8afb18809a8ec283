"""Reading the store for reviewers and people, and the compliance tables kept beside it."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, delete, func, literal, literal_column, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.audit.adapters import tables
from services.audit.domain import sealing
from services.audit.domain.sealing import person_token
from services.audit.domain.search import EventFilter, Order
from services.audit.domain.trends import Usage

E = tables.audit_events
ROW_COLUMNS = tables.stored_row_columns()
FIELDS = tables.STORED_FIELDS
PROBE = 5000  # index entries a planning probe reads at most (about a millisecond)


# Same text on SQLite (qmark) and PostgreSQL (format) but for the placeholders; dates as ISO text.
_UPSERT_COUNT = {
    "sqlite": "INSERT INTO audit_trend_counts (day, kind, item_id, count) VALUES (?, ?, ?, ?) ON CONFLICT "
              "(day, kind, item_id) DO UPDATE SET count = audit_trend_counts.count + excluded.count",
    "postgresql": "INSERT INTO audit_trend_counts (day, kind, item_id, count) VALUES (%s::date, %s, %s, %s) "
                  "ON CONFLICT (day, kind, item_id) DO UPDATE SET count = audit_trend_counts.count + excluded.count",
}
_INSERT_PERSON = {
    "sqlite": "INSERT INTO audit_trend_people (day, kind, item_id, person) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
    "postgresql": "INSERT INTO audit_trend_people (day, kind, item_id, person) VALUES (%s::date, %s, %s, %s) "
                  "ON CONFLICT DO NOTHING",
}


# How each database writes a text column as a JSON string literal, and a stored time as ``chain.iso`` text.
# SQLite stores a time as "2026-01-31 12:00:00.000000" (naive UTC: the form SQLAlchemy and ``bulk.time_value``
# write), cut into the ISO form; a time stored in any other form makes the row's line NULL (``json_lines``).
_QUOTE = {"postgresql": "to_json({})::text", "sqlite": "json_quote({})"}
_TIME = {"postgresql": """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')""",
         "sqlite": "(CASE WHEN length({0}) = 26 AND substr({0}, 11, 1) = ' ' "
                   "THEN substr({0}, 1, 10) || 'T' || substr({0}, 12) || '+00:00' END)"}


def _json_line(dialect: str) -> str:
    """``domain.search.json_line`` written by the database: the same text for the same row (a test holds them
    equal), but for characters outside ASCII in the plain columns, which the database writes as UTF-8 rather
    than as \\u escapes (the same JSON). The payload is stored as canonical ASCII JSON and spliced in as it is.
    A plain column starting like a sealed value gets a space after its key's colon: the same JSON, which
    ``PersonKeys.open_text`` (opening only values right after ``:``, ``,`` or ``[``) leaves as stored, as the
    per-row path does for every column but the actor and the payload."""
    quote, time = _QUOTE[dialect].format, _TIME[dialect].format

    def text(column: str) -> str:
        return (f"(CASE WHEN {column} IS NULL THEN 'null' WHEN substr({column}, 1, 5) IN {sealing.PREFIXES!r} "
                f"THEN ' ' || {quote(column)} ELSE {quote(column)} END)")

    return " || ".join([
        """'{"seq":' || seq || ',"event_id":'""", text("event_id"), """',"type":'""", text("type"),
        """',"version":' || version || ',"occurred_at":"'""", time("occurred_at"), """'","stored_at":"'""",
        time("stored_at"), """'","producer":'""", text("producer"), """',"actor":'""", quote("actor"),
        """',"subject":'""", text("subject"), """',"correlation_id":'""", text("correlation_id"),
        """',"payload":' || payload || ',"prev_hash":"' || prev_hash || '","hash":"' || hash || '"}""" "\n'"])


_LINE_COLUMNS: dict[str, tuple[Any, ...]] = {
    dialect: (E.c.seq, literal_column(_json_line(dialect)).label("line")) for dialect in _QUOTE}


def _page(query: Select, after: int | None, limit: int, order: Order) -> Select:
    if after is not None:
        query = query.where(E.c.seq > after if order == "asc" else E.c.seq < after)
    return query.order_by(E.c.seq.asc() if order == "asc" else E.c.seq.desc()).limit(limit)


class SearchRepository:
    def __init__(self, session: Session, index_key: bytes) -> None:
        self.session = session
        self.index_key = index_key

    def _equalities(self, f: EventFilter) -> list[tuple[str, str]]:
        """(column, value) of the equality filters; the actor is compared by its blind index (a
        person's actor is stored sealed)."""
        out = []
        for name in ("actor", "subject", "type", "correlation_id"):
            value = getattr(f, name)
            if value is not None:
                out.append(("actor_ix", person_token(self.index_key, value)) if name == "actor" else (name, value))
        return out

    def _filtered(self, f: EventFilter, equality_by_index: bool = True, columns: Sequence[Any] = ROW_COLUMNS) -> Select:
        query = select(*columns)
        for name, value in self._equalities(f):
            # ``col || ''`` compares the same but keeps the planner off that column's index.
            column = E.c[name] if equality_by_index else E.c[name].op("||")(literal(""))
            query = query.where(column == value)
        if f.since is not None:
            query = query.where(E.c.occurred_at >= f.since)
        if f.until is not None:
            query = query.where(E.c.occurred_at < f.until)
        return query

    def search(self, f: EventFilter, after: int | None, limit: int, order: Order = "asc",
               upto: int | None = None) -> list[dict[str, Any]]:
        """Matching rows (times as ISO text), a keyset page in ``order`` of seq; with ``upto``, none above it."""
        rows = self.session.execute(self._query(f, after, limit, order, upto=upto)).all()
        return [dict(zip(FIELDS, r, strict=True)) for r in rows]

    def _query(self, f: EventFilter, after: int | None, limit: int, order: Order,
               columns: Sequence[Any] = ROW_COLUMNS, upto: int | None = None) -> Select:
        planned = self._plan_time_range(f, after, limit, order, columns) if f.since or f.until else None
        query = _page(self._filtered(f, columns=columns), after, limit, order) if planned is None else planned
        return query if upto is None else query.where(E.c.seq <= upto)

    def builds_lines(self) -> bool:
        """Whether the database writes the export's JSON lines itself (``json_lines``): PostgreSQL, SQLite."""
        return self.session.get_bind().dialect.name in _LINE_COLUMNS

    def json_lines(self, f: EventFilter, after: int | None, limit: int,
                   upto: int | None = None) -> tuple[str | None, int, int | None]:
        """A keyset page of matching rows (ascending seq) as the export's JSON lines, each written by the
        database (``_json_line``): (the text, how many rows, the last seq). Sealed values are left sealed
        (``PersonKeys.open_text`` opens them in the whole page at once). The text is None when the database
        could not write a row's line (a time stored in another form than its own, SQLite)."""
        columns = _LINE_COLUMNS[self.session.get_bind().dialect.name]
        rows = self.session.execute(self._query(f, after, limit, "asc", columns, upto)).all()
        lines = [r[1] for r in rows]
        text = None if None in lines else "".join(lines)
        return text, len(rows), rows[-1][0] if rows else None

    def _plan_time_range(self, f: EventFilter, after: int | None, limit: int, order: Order,
                         columns: Sequence[Any] = ROW_COLUMNS) -> Select | None:
        """Help the planner with time ranges, where it guesses badly (SQLite has no range statistics):
        walking an equality index in seq order may pass most of the table before the range starts.
        Two cheap index-only probes of at most PROBE entries decide instead:
        - the equality filter matches few rows: its index is best, leave the query as it is;
        - the time range holds few rows: read it through the (occurred_at, seq) index and sort them;
        - both are large: start the seq walk where the range starts (its smallest/largest seq)."""
        equality = [E.c[name] == value for name, value in self._equalities(f)]
        if equality and self._at_most(equality) < PROBE:
            return None
        window = []
        if f.since is not None:
            window.append(E.c.occurred_at >= f.since)
        if f.until is not None:
            window.append(E.c.occurred_at < f.until)
        if self._at_most(window) < PROBE:
            return _page(self._filtered(f, equality_by_index=False, columns=columns), after, limit, order)
        # ``seq + 0``: otherwise SQLite answers min(rowid) by walking the table in rowid order.
        edge = (func.min if order == "asc" else func.max)(E.c.seq + 0)
        bound = self.session.execute(select(edge).where(*window)).scalar_one()
        if bound is None:
            return None
        query = _page(self._filtered(f, columns=columns), after, limit, order)
        return query.where(E.c.seq >= bound if order == "asc" else E.c.seq <= bound)

    def _at_most(self, conditions: list) -> int:
        probe = select(literal_column("1")).select_from(E).where(*conditions).limit(PROBE).subquery()
        return int(self.session.execute(select(func.count()).select_from(probe)).scalar_one())

    def by_seq(self, seq: int) -> list[dict[str, Any]]:
        """The row at ``seq`` (none when there is none)."""
        rows = self.session.execute(select(*ROW_COLUMNS).where(E.c.seq == seq)).all()
        return [dict(zip(FIELDS, r, strict=True)) for r in rows]

    def about_person(self, user_id: str, after: int | None, limit: int, order: Order) -> list[dict[str, Any]]:
        """The person's own events, and accesses by others to their personal data."""
        refs = select(tables.person_refs.c.seq).where(tables.person_refs.c.user_id == user_id)
        mine = E.c.actor_ix == person_token(self.index_key, user_id)
        query = select(*ROW_COLUMNS).where(or_(mine, E.c.seq.in_(refs)))
        rows = self.session.execute(_page(query, after, limit, order)).all()
        return [dict(zip(FIELDS, r, strict=True)) for r in rows]

    # --- a person's privacy export and erasure --------------------------------------------------------
    def acted_by(self, token: str, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The newest ``limit`` events whose actor is the person (by blind index), and how many in all."""
        mine = E.c.actor_ix == token
        rows = self.session.execute(select(*ROW_COLUMNS).where(mine).order_by(E.c.seq.desc()).limit(limit)).all()
        total = self.session.execute(select(func.count()).select_from(E).where(mine)).scalar_one()
        return [dict(zip(FIELDS, r, strict=True)) for r in rows], int(total)

    def accesses_to(self, user_id: str, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The newest ``limit`` staff accesses to the person's data (``*.pii.accessed`` naming them)."""
        refs = select(tables.person_refs.c.seq).where(tables.person_refs.c.user_id == user_id)
        rows = self.session.execute(select(*ROW_COLUMNS).where(E.c.seq.in_(refs)).order_by(E.c.seq.desc())
                                    .limit(limit)).all()
        total = self.session.execute(select(func.count()).select_from(tables.person_refs)
                                     .where(tables.person_refs.c.user_id == user_id)).scalar_one()
        return [dict(zip(FIELDS, r, strict=True)) for r in rows], int(total)

    def sealed_counts(self, token: str, user_id: str) -> tuple[int, int]:
        """(events with something sealed under the person's key, events they acted in stored in plaintext
        before sealing existed): what an erasure made unreadable, and what it could not reach."""
        sealed = or_(*[E.c.actor.like(f"{prefix}%") for prefix in sealing.PREFIXES])
        acted = self.session.execute(select(func.count()).select_from(E)
                                     .where(E.c.actor_ix == token, sealed)).scalar_one()
        plain = self.session.execute(select(func.count()).select_from(E)
                                     .where(E.c.actor_ix == token, ~sealed)).scalar_one()
        # Events about them (subject) acted by someone else, whose payload carries their sealed fields.
        about = self.session.execute(select(func.count()).select_from(E).where(
            E.c.subject == user_id, E.c.actor_ix != token,
            or_(*[E.c.payload.like(f'%"{prefix}{token}:%') for prefix in sealing.PREFIXES]))).scalar_one()
        return int(acted) + int(about), int(plain)

    def count(self) -> int:
        return int(self.session.execute(select(func.count()).select_from(E)).scalar_one())

    def last_seq(self) -> int:
        """The newest stored sequence number (0 for an empty store): one primary-key index probe (a bare
        ``max(seq)``: wrapped in ``coalesce`` SQLite would scan the table instead)."""
        return int(self.session.execute(select(func.max(E.c.seq))).scalar_one() or 0)


class ComplianceRepository:
    def __init__(self, session: Session, person_key: bytes) -> None:
        self.session = session
        self.person_key = person_key

    def _insert(self, table):
        dialect = self.session.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

    # --- person references -------------------------------------------------------------------------
    def add_person_refs(self, refs: Iterable[tuple[str, int]]) -> None:
        rows = [{"user_id": u, "seq": s} for u, s in set(refs)]
        if rows:
            self.session.execute(self._insert(tables.person_refs).on_conflict_do_nothing(), rows)

    def forget_person_refs(self, user_id: str) -> int:
        r = tables.person_refs
        result: Any = self.session.execute(delete(r).where(r.c.user_id == user_id))
        return int(result.rowcount or 0)

    def seqs_about(self, people: set[str], first: int, last: int) -> set[int]:
        """Sequence numbers in [first, last] of staff accesses to these people's data."""
        r = tables.person_refs
        query = select(r.c.seq).where(r.c.user_id.in_(list(people)), r.c.seq >= first, r.c.seq <= last)
        return set(self.session.execute(query).scalars())

    # --- legal holds ---------------------------------------------------------------------------------
    def place_hold(self, hold_id: str, user_id: str, placed_at: datetime, until: datetime | None) -> None:
        stmt = self._insert(tables.legal_holds).values(hold_id=hold_id, user_id=user_id, placed_at=placed_at,
                                                       until=until)
        self.session.execute(stmt.on_conflict_do_update(index_elements=["hold_id"],
                                                        set_={"user_id": user_id, "until": until}))

    def release_hold(self, hold_id: str, released_at: datetime) -> None:
        h = tables.legal_holds
        self.session.execute(update(h).where(h.c.hold_id == hold_id, h.c.released_at.is_(None))
                             .values(released_at=released_at))

    def held_people(self, now: datetime) -> set[str]:
        h = tables.legal_holds
        query = select(h.c.user_id).where(h.c.released_at.is_(None), or_(h.c.until.is_(None), h.c.until > now))
        return set(self.session.execute(query).scalars())

    # --- disclosures -------------------------------------------------------------------------------
    def add_disclosure(self, row: dict[str, Any]) -> bool:
        """Insert unless the same source event was entered already; True when inserted."""
        values = dict(row, data_categories=json.dumps(row["data_categories"]))
        stmt = self._insert(tables.disclosures).values(**values).on_conflict_do_nothing()
        result: Any = self.session.execute(stmt)  # a CursorResult: an INSERT
        return bool(result.rowcount)

    def list_disclosures(self, subject_user_id: str | None, after: int | None, limit: int) -> list[dict[str, Any]]:
        d = tables.disclosures
        query = select(d).order_by(d.c.n).limit(limit)
        if subject_user_id:
            query = query.where(d.c.subject_user_id == subject_user_id)
        if after is not None:
            query = query.where(d.c.n > after)
        out = []
        for r in self.session.execute(query):
            item = r._asdict()
            item["data_categories"] = json.loads(item["data_categories"])
            out.append(item)
        return out

    # --- trends --------------------------------------------------------------------------------------
    def person_digest(self, person: str) -> str:
        return hmac.new(self.person_key, person.encode(), hashlib.sha256).hexdigest()[:32]

    def add_usage(self, usages: Sequence[Usage]) -> None:
        """Fold a batch into the rollup: one upsert per (day, kind, item), one insert-or-ignore per person.
        Plain SQL through the driver: this runs for every batch the consumer stores."""
        if not usages:
            return
        counts = Counter((u.day.isoformat(), u.kind, u.item_id) for u in usages)
        people = {(u.day.isoformat(), u.kind, u.item_id, self.person_digest(u.person)) for u in usages if u.person}
        conn = self.session.connection()
        conn.exec_driver_sql(_UPSERT_COUNT[conn.dialect.name],
                             [(d, k, i, n) for (d, k, i), n in sorted(counts.items())])
        if people:
            conn.exec_driver_sql(_INSERT_PERSON[conn.dialect.name], sorted(people))

    def trends(self, start: date, end: date) -> list[dict[str, Any]]:
        c, p = tables.trend_counts, tables.trend_people
        people = (select(p.c.day, p.c.kind, p.c.item_id, func.count().label("people"))
                  .where(p.c.day >= start, p.c.day <= end).group_by(p.c.day, p.c.kind, p.c.item_id).subquery())
        query = (select(c.c.day, c.c.kind, c.c.item_id, c.c.count, func.coalesce(people.c.people, 0).label("people"))
                 .select_from(c.outerjoin(people, (people.c.day == c.c.day) & (people.c.kind == c.c.kind)
                                          & (people.c.item_id == c.c.item_id)))
                 .where(c.c.day >= start, c.c.day <= end).order_by(c.c.day, c.c.kind, c.c.item_id))
        return [r._asdict() for r in self.session.execute(query)]
