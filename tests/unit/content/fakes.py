"""In-memory stand-ins for content's ports: the unit of work with its repositories, and storage."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from services.content.adapters.storage import BlobNotFound
from services.content.domain.collaterals import Collateral
from services.content.domain.items import Item, can_read
from services.content.domain.memberships import Membership
from services.content.domain.queries import CustomerQuery, QueryEntry, can_see
from services.content.domain.viewer import Viewer
from shared.events import Event, new_event
from shared.identity import Identity


@dataclass
class State:
    items: dict[str, Item] = field(default_factory=dict)
    collaterals: dict[str, Collateral] = field(default_factory=dict)
    memberships: dict[tuple[str, str], Membership] = field(default_factory=dict)
    queries: dict[str, CustomerQuery] = field(default_factory=dict)
    entries: list[QueryEntry] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)  # committed ones only
    erasures: dict[str, str] = field(default_factory=dict)  # erasure key -> request id
    # Copies of events kept by the infrastructure: {"store": "outbox"|"dead_letters", "type", "sent", "body"}
    residual: list[dict] = field(default_factory=list)


def _page(rows: list, limit: int, cursor) -> list:
    rows = sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)
    if cursor is not None:
        rows = [r for r in rows if (r.created_at, r.id) < cursor]
    return rows[:limit]


class FakeItems:
    def __init__(self, s: State) -> None:
        self.s = s

    def get(self, item_id: str) -> Item | None:
        return self.s.items.get(item_id)

    def add(self, item: Item) -> None:
        assert item.id not in self.s.items
        self.s.items[item.id] = item

    def save(self, item: Item) -> None:
        self.s.items[item.id] = item

    def list_visible(self, viewer: Viewer, filters, limit, cursor) -> list[Item]:
        rows = [i for i in self.s.items.values() if can_read(i, viewer)
                and all(filters.get(k) is None or getattr(i, k) == filters[k]
                        for k in ("visibility", "company_id", "status"))]
        return _page(rows, limit, cursor)


class FakeCollaterals:
    def __init__(self, s: State) -> None:
        self.s = s

    def get(self, collateral_id: str) -> Collateral | None:
        return self.s.collaterals.get(collateral_id)

    def add(self, collateral: Collateral) -> None:
        self.s.collaterals[collateral.id] = collateral

    def for_item(self, item_id: str) -> list[Collateral]:
        return [c for c in self.s.collaterals.values() if c.item_id == item_id]

    def remove(self, collateral_id: str) -> None:
        self.s.collaterals.pop(collateral_id, None)


class FakeMemberships:
    def __init__(self, s: State) -> None:
        self.s = s

    def companies_of(self, user_id: str) -> frozenset[str]:
        return frozenset(m.company_id for m in self.s.memberships.values() if m.user_id == user_id and m.active)

    def get(self, company_id: str, user_id: str) -> Membership | None:
        return self.s.memberships.get((company_id, user_id))

    def save(self, membership: Membership) -> None:
        self.s.memberships[(membership.company_id, membership.user_id)] = membership


class FakeQueries:
    def __init__(self, s: State) -> None:
        self.s = s

    def get(self, query_id: str, with_entries: bool = False) -> CustomerQuery | None:
        found = self.s.queries.get(query_id)
        if found is not None and with_entries:
            found = replace(found, entries=tuple(self.entries(query_id)))
        return found

    def add(self, query: CustomerQuery) -> None:
        self.s.queries[query.id] = query

    def save(self, query: CustomerQuery) -> None:
        self.s.queries[query.id] = replace(query, entries=())

    def add_entry(self, entry: QueryEntry) -> None:
        self.s.entries.append(entry)

    def entries(self, query_id: str) -> list[QueryEntry]:
        return [e for e in self.s.entries if e.query_id == query_id]

    def list_for(self, viewer: Viewer, filters, limit, cursor) -> list[CustomerQuery]:
        rows = [q for q in self.s.queries.values() if can_see(q, viewer)]
        if filters.get("mine") or not viewer.handles_queries:
            rows = [q for q in rows if q.user_id == viewer.user_id]
        for key in ("kind", "status", "owner_id"):
            if filters.get(key) is not None:
                rows = [q for q in rows if getattr(q, key) == filters[key]]
        if filters.get("unassigned"):
            rows = [q for q in rows if q.owner_id is None]
        return _page(rows, limit, cursor)


class FakePrivacy:
    """``adapters.privacy.PrivacyRepository`` on the in-memory state."""

    def __init__(self, s: State) -> None:
        self.s = s

    def _with_entries(self, query: CustomerQuery) -> CustomerQuery:
        return replace(query, entries=tuple(e for e in self.s.entries if e.query_id == query.id))

    def queries_of(self, user_id: str) -> list[CustomerQuery]:
        found = [q for q in self.s.queries.values() if q.user_id == user_id]
        return [self._with_entries(q) for q in sorted(found, key=lambda q: (q.created_at, q.id))]

    def owned_by(self, user_id: str) -> list[CustomerQuery]:
        return sorted((q for q in self.s.queries.values() if q.owner_id == user_id), key=lambda q: (q.created_at, q.id))

    def entries_on_others(self, user_id: str) -> list[QueryEntry]:
        return [e for e in self.s.entries
                if e.author_id == user_id and self.s.queries[e.query_id].user_id != user_id]

    def items_touched_by(self, user_id: str) -> list[Item]:
        return [i for i in self.s.items.values() if user_id in (i.created_by, i.updated_by)]

    def collaterals_by(self, user_id: str) -> list[Collateral]:
        return [c for c in self.s.collaterals.values() if c.created_by == user_id]

    def memberships_of(self, user_id: str) -> list[Membership]:
        return [m for m in self.s.memberships.values() if m.user_id == user_id]

    def kept_complaints_past(self, now) -> list[CustomerQuery]:
        return [self._with_entries(q) for q in self.s.queries.values()
                if q.retain_until is not None and q.retain_until <= now]

    def delete_query(self, query_id: str) -> int:
        before = len(self.s.entries)
        self.s.entries = [e for e in self.s.entries if e.query_id != query_id]
        del self.s.queries[query_id]
        return before - len(self.s.entries)

    def keep_under_pseudonym(self, query_id: str, user_id: str, alias: str, retain_until) -> None:
        self.s.queries[query_id] = replace(self.s.queries[query_id], user_id=alias, retain_until=retain_until)
        self.s.entries = [replace(e, author_id=alias) if e.query_id == query_id and e.author_id == user_id else e
                          for e in self.s.entries]

    def replace_in_entries(self, user_id: str, alias: str) -> int:
        changed = 0
        for name in ("author_id", "from_value", "to_value"):
            for n, e in enumerate(self.s.entries):
                if getattr(e, name) == user_id:
                    self.s.entries[n] = replace(e, **{name: alias})
                    changed += 1
        return changed

    def replace_authorship(self, user_id: str, alias: str) -> int:
        changed = 0
        for name in ("created_by", "updated_by"):
            for key, i in list(self.s.items.items()):
                if getattr(i, name) == user_id:
                    self.s.items[key] = replace(i, **{name: alias})
                    changed += 1
        for key, c in list(self.s.collaterals.items()):
            if c.created_by == user_id:
                self.s.collaterals[key] = replace(c, created_by=alias)
                changed += 1
        return changed

    def delete_memberships(self, user_id: str) -> int:
        gone = [k for k, m in self.s.memberships.items() if m.user_id == user_id]
        for key in gone:
            del self.s.memberships[key]
        return len(gone)

    def forget_residual_copies(self, user_id: str) -> int:
        needle = json.dumps(user_id)

        def forgotten(row: dict) -> bool:
            if needle not in row["body"]:
                return False
            if row["store"] == "outbox":
                return row["sent"]
            return not row["type"].startswith("identity.privacy.")

        before = len(self.s.residual)
        self.s.residual = [r for r in self.s.residual if not forgotten(r)]
        return before - len(self.s.residual)


class FakeErasures:
    def __init__(self, s: State) -> None:
        self.s = s

    def record(self, user_key: str, request_id: str, at) -> None:
        self.s.erasures.setdefault(user_key, request_id)

    def contains(self, user_key: str) -> bool:
        return user_key in self.s.erasures


class FakeUnitOfWork:
    """Changes apply to ``state`` at once and are rolled back on exit unless committed; emitted
    events are checked against their registered schema and kept only when committed."""

    def __init__(self, state: State, context: Identity | None = None) -> None:
        self.state = state
        self.context = context or Identity()
        self.commits = 0

    def __enter__(self) -> FakeUnitOfWork:
        self._snapshot = copy.deepcopy(self.state)
        self._pending: list[Event] = []
        self._committed = False
        self.items = FakeItems(self.state)
        self.collaterals = FakeCollaterals(self.state)
        self.memberships = FakeMemberships(self.state)
        self.queries = FakeQueries(self.state)
        self.privacy = FakePrivacy(self.state)
        self.erasures = FakeErasures(self.state)
        return self

    def __exit__(self, *exc) -> None:
        if not self._committed:
            for name in ("items", "collaterals", "memberships", "queries", "entries", "events", "erasures",
                         "residual"):
                setattr(self.state, name, getattr(self._snapshot, name))

    def emit(self, type_: str, *, subject: str, payload: dict, actor: str | None = None) -> Event:
        event = new_event(type_, producer="content", actor=actor or self.context.actor, subject=subject,
                          payload=payload, correlation_id=self.context.request_id)
        self._pending.append(event)
        return event

    def commit(self) -> None:
        self.state.events.extend(self._pending)
        self._pending = []
        self._committed = True
        self.commits += 1


class FakeStorage:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def put(self, key: str, chunks: Iterable[bytes]) -> None:
        data = b"".join(chunks)  # fine in memory for unit tests; the real adapter streams
        self.blobs[key] = data

    def read(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        if key not in self.blobs:
            raise BlobNotFound(key)
        data = self.blobs[key]
        end = len(data) if length is None else start + length
        return iter([data[start:end]])

    def delete(self, key: str) -> None:
        self.blobs.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.blobs
