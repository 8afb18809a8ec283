"""The ports content's handlers depend on: the unit of work and its repositories, as Protocols.
``adapters/`` implements them (``adapters/uow.py``, ``adapters/repositories.py``, ``adapters/privacy.py``);
``adapters/storage.py`` the file store; unit tests fake them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

from services.content.domain.collaterals import Collateral
from services.content.domain.items import Item
from services.content.domain.memberships import Membership
from services.content.domain.queries import CustomerQuery, QueryEntry
from services.content.domain.viewer import Viewer
from shared.uow import UnitOfWorkPort

Cursor = tuple[datetime, str]  # (created_at, id) of the last row of the previous page


class BlobNotFound(LookupError):
    pass


class BlobStorage(Protocol):
    def put(self, key: str, chunks: Iterable[bytes]) -> None:
        """Store every chunk under ``key``; nothing is visible under it unless all were stored."""

    def read(self, key: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """Yield the bytes ``start .. start+length`` (to the end when ``length`` is None)."""

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def keys_older_than(self, moment: float) -> Iterator[str]:
        """Every stored key last written before ``moment`` (seconds since the epoch)."""

    def drop_partial_older_than(self, moment: float) -> int:
        """Delete unfinished uploads (a process killed while writing) begun before ``moment``; how many."""


class Items(Protocol):
    """``uow.items``: repositories.ItemRepository."""

    def get(self, item_id: str) -> Item | None: ...

    def add(self, item: Item) -> None: ...

    def save(self, item: Item) -> None: ...

    def list_visible(self, viewer: Viewer, filters: dict[str, Any], limit: int,
                     cursor: Cursor | None) -> list[Item]: ...


class Collaterals(Protocol):
    """``uow.collaterals``: repositories.CollateralRepository."""

    def get(self, collateral_id: str) -> Collateral | None: ...

    def add(self, collateral: Collateral) -> None: ...

    def remove(self, collateral_id: str) -> None: ...

    def known_keys(self, keys: list[str]) -> set[str]: ...

    def for_item(self, item_id: str) -> list[Collateral]: ...


class Memberships(Protocol):
    """``uow.memberships``: repositories.MembershipRepository."""

    def companies_of(self, user_id: str) -> frozenset[str]: ...

    def get(self, company_id: str, user_id: str) -> Membership | None: ...

    def save(self, membership: Membership) -> None: ...


class Queries(Protocol):
    """``uow.queries``: repositories.QueryRepository."""

    def get(self, query_id: str, with_entries: bool = False) -> CustomerQuery | None: ...

    def add(self, query: CustomerQuery) -> None: ...

    def save(self, query: CustomerQuery) -> None: ...

    def add_entry(self, entry: QueryEntry) -> None: ...

    def entries(self, query_id: str) -> list[QueryEntry]: ...

    def list_for(self, viewer: Viewer, filters: dict[str, Any], limit: int,
                 cursor: Cursor | None) -> list[CustomerQuery]: ...


class Privacy(Protocol):
    """``uow.privacy``: privacy.PrivacyRepository."""

    def queries_of(self, user_id: str) -> list[CustomerQuery]: ...

    def owned_by(self, user_id: str) -> list[CustomerQuery]: ...

    def entries_on_others(self, user_id: str) -> list[QueryEntry]: ...

    def items_touched_by(self, user_id: str) -> list[Item]: ...

    def collaterals_by(self, user_id: str) -> list[Collateral]: ...

    def memberships_of(self, user_id: str) -> list[Membership]: ...

    def kept_complaints_past(self, now: datetime) -> list[CustomerQuery]: ...

    def delete_query(self, query_id: str) -> int: ...

    def keep_under_pseudonym(self, query_id: str, user_id: str, alias: str, retain_until: datetime) -> None: ...

    def replace_in_entries(self, user_id: str, alias: str) -> int: ...

    def replace_authorship(self, user_id: str, alias: str) -> int: ...

    def delete_memberships(self, user_id: str) -> int: ...

    def forget_residual_copies(self, user_id: str) -> int: ...


class Erasures(Protocol):
    """``uow.erasures``: privacy.ErasureRepository."""

    def record(self, user_key: str, request_id: str, at: datetime) -> None: ...

    def contains(self, user_key: str) -> bool: ...


class ContentUow(UnitOfWorkPort, Protocol):
    """The unit of work content's handlers take (``adapters/uow.py`` implements it)."""

    @property
    def items(self) -> Items: ...

    @property
    def collaterals(self) -> Collaterals: ...

    @property
    def memberships(self) -> Memberships: ...

    @property
    def queries(self) -> Queries: ...

    @property
    def privacy(self) -> Privacy: ...

    @property
    def erasures(self) -> Erasures: ...

