"""The ports audit's handlers depend on, as Protocols: the units of work they open (``Units``), the unit of
work (``AuditUow``) and what it holds: the chained log store (``uow.chain``), the searches, the compliance
projections, the person keys and the external anchor. ``adapters/`` implements them (the ``Container`` is
one ``Units``; ``adapters/uow.py``, ``chain_store.py``, ``repositories.py``, ``person_keys.py``,
``anchor.py``); unit tests fake them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from services.audit.config import Settings
from services.audit.domain.search import EventFilter, Order
from services.audit.domain.trends import Usage
from services.audit.domain.verify import Checkpoint, Head, RetentionRecord, Root
from shared.events import Event
from shared.identity import Identity
from shared.uow import UnitOfWorkPort

__all__ = ["Anchor", "AuditUow", "Chain", "Compliance", "HeadBusy", "Keys", "Search", "Units"]


class HeadBusy(RuntimeError):
    """Another writer holds this chain's head (``lock_head(skip_locked=True)``)."""


class Chain(Protocol):
    """``uow.chain``: adapters.chain_store.ChainStore, the hash-chained, signed rows."""

    @property
    def chains(self) -> int:
        """How many chains this process writes (PORTAL_AUDIT_CHAINS)."""
        ...

    def append(self, events: Sequence[Event], stored_at: datetime, chain: int = 0,
               skip_locked: bool = False) -> list[dict[str, Any]]:
        """Store the events not stored yet in ``chain``; the new rows (``seq``, ``event_id``, ``hash``...).
        With ``skip_locked``, raises ``HeadBusy`` when another writer holds the chain's head."""
        ...

    def lock_head(self, chain: int = 0, skip_locked: bool = False) -> Head: ...

    def sign_head(self, seq: int, hash_: str, checkpoint_seq: int, signed_at: str, chain: int = 0) -> Head: ...

    def head(self) -> Head: ...

    def heads(self) -> dict[int, Head]: ...

    def settled_seq(self) -> int:
        """Every row up to this seq is committed (a reader never skips one a slower writer commits later)."""
        ...

    def chain_count(self) -> int:
        """How many chains the store holds."""
        ...

    def latest_root(self) -> Root | None: ...

    def checkpoints(self, chain: int | None = None) -> list[Checkpoint]: ...

    def checkpoint_row(self, cp: Checkpoint) -> dict[str, Any]: ...

    def replace_checkpoints(self, signed: list[dict[str, Any]]) -> None: ...

    def iter_rows(self, chunk: int = 5000, after: int = 0,
                  with_chain: bool = False) -> Iterator[Mapping[str, Any]]: ...

    def last_seq_stored_before(self, cutoff: datetime, chain: int = 0) -> int | None: ...

    def range_chunks(self, last_seq: int, chain: int = 0, chunk: int = 5000) -> Iterator[list[dict[str, Any]]]: ...

    def delete(self, seqs: Sequence[int]) -> None: ...

    def latest_retention(self, chain: int = 0) -> RetentionRecord | None: ...

    def latest_retentions(self) -> dict[int, RetentionRecord]:
        """Every chain's latest retention record, by chain."""
        ...

    def add_retention(self, record: RetentionRecord) -> RetentionRecord: ...

    def resign_retention(self, record: RetentionRecord) -> None: ...


class Search(Protocol):
    """``uow.search``: adapters.repositories.SearchRepository."""

    def search(self, f: EventFilter, after: int | None, limit: int, order: Order = "asc",
               upto: int | None = None) -> list[dict[str, Any]]: ...

    def builds_lines(self) -> bool:
        """Whether the database writes the export's JSON lines itself (``json_lines``)."""
        ...

    def json_lines(self, f: EventFilter, after: int | None, limit: int,
                   upto: int | None = None) -> tuple[str | None, int, int | None]: ...

    def by_seq(self, seq: int) -> list[dict[str, Any]]: ...

    def about_person(self, user_id: str, after: int | None, limit: int, order: Order) -> list[dict[str, Any]]: ...

    def acted_by(self, token: str, limit: int) -> tuple[list[dict[str, Any]], int]: ...

    def accesses_to(self, user_id: str, limit: int) -> tuple[list[dict[str, Any]], int]: ...

    def sealed_counts(self, token: str, user_id: str) -> tuple[int, int]: ...


class Compliance(Protocol):
    """``uow.compliance``: adapters.repositories.ComplianceRepository (person references, legal holds,
    disclosures, the trends rollup)."""

    def add_person_refs(self, refs: Iterable[tuple[str, int]]) -> None: ...

    def forget_person_refs(self, user_id: str) -> int: ...

    def seqs_about(self, people: set[str], first: int, last: int) -> set[int]: ...

    def place_hold(self, hold_id: str, user_id: str, placed_at: datetime, until: datetime | None) -> None: ...

    def release_hold(self, hold_id: str, released_at: datetime) -> None: ...

    def held_people(self, now: datetime) -> set[str]: ...

    def add_disclosure(self, row: dict[str, Any]) -> bool: ...

    def list_disclosures(self, subject_user_id: str | None, after: int | None,
                         limit: int) -> list[dict[str, Any]]: ...

    def add_usage(self, usages: Sequence[Usage]) -> None: ...

    def trends(self, start: date, end: date) -> list[dict[str, Any]]: ...


class Keys(Protocol):
    """``uow.keys``: adapters.person_keys.PersonKeys, the per-person keys sealed fields are under."""

    @property
    def wrap_id(self) -> str: ...

    def open_rows(self, rows: Sequence[dict[str, Any]], only: str | None = None) -> list[dict[str, Any]]: ...

    def open_text(self, text: str, kept: dict[str, Any] | None = None) -> str: ...

    def destroy(self, person: str, request_id: str, now: datetime) -> bool: ...

    def rewrap(self, limit: int = 1000) -> int: ...

    def unavailable(self) -> int: ...


class Anchor(Protocol):
    """``uow.anchor``: where signed heads are kept outside the database (adapters.anchor)."""

    def latest(self) -> Head | None: ...

    def latest_by_chain(self) -> dict[int, Head]: ...

    def describe(self) -> dict[str, Any]: ...


class AuditUow(UnitOfWorkPort, Protocol):
    """The unit of work audit's handlers take (``adapters/uow.py`` implements it)."""

    context: Identity

    @property
    def settings(self) -> Settings: ...

    @property
    def anchor(self) -> Anchor: ...

    @property
    def chain(self) -> Chain: ...

    @property
    def search(self) -> Search: ...

    @property
    def compliance(self) -> Compliance: ...

    @property
    def keys(self) -> Keys: ...

    def forget_copies(self, user_id: str) -> int:
        """Sent outbox rows and dead letters naming the person."""
        ...

    def token(self, actor: str) -> str:
        """The blind index of an actor or user id (search key, person key name)."""
        ...


class Units(Protocol):
    """Where a use case opens its units of work; audit's use cases may open several (streams, batches)."""

    def uow(self) -> AuditUow:
        """For a use case that changes state (takes the write lock up front on SQLite)."""
        ...

    def read_uow(self, *, snapshot: bool = False) -> AuditUow:
        """For reads only; ``snapshot=True`` reads one consistent snapshot (verification, export)."""
        ...
