"""The ports linking's handlers depend on: the unit of work and its repositories, and identity's directory,
as Protocols. ``adapters/`` implements them (``adapters/uow.py``, ``adapters/repositories.py``,
``adapters/identity_client.py``); unit tests fake them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from services.linking.domain.model import Company, Contact, LinkRequest, Member, Role
from services.linking.domain.users import UserRecord
from shared.uow import UnitOfWorkPort


@dataclass(frozen=True)
class Account:
    contact: Contact
    email_verified: bool  # the person proved they receive mail at ``contact.email``


class UserDirectory(Protocol):
    def lookup(self, user_id: str, request_id: str | None = None) -> Account | None:
        """The user's contact details and whether their address is confirmed, None when identity does not
        know them; raises ``IdentityUnavailable`` when identity cannot answer."""

    def find(self, user_id: str, request_id: str | None = None) -> Contact | None:
        """``lookup``'s contact details."""


class Companies(Protocol):
    """``uow.companies``: repositories.CompanyRepository."""

    def add(self, company: Company) -> None: ...

    def get(self, company_id: str, lock: bool = False) -> Company | None: ...

    def search(self, text: str | None, limit: int, offset: int) -> list[Company]: ...

    def many(self, ids: Iterable[str]) -> dict[str, Company]: ...

    def set_primary_contact(self, company_id: str, user_id: str) -> None: ...

    def led_by(self, user_id: str) -> list[Company]: ...


class Members(Protocol):
    """``uow.members``: repositories.MemberRepository."""

    def add(self, member: Member) -> None: ...

    def get(self, company_id: str, user_id: str) -> Member | None: ...

    def set_role(self, company_id: str, user_id: str, role: Role) -> None: ...

    def remove(self, company_id: str, user_id: str) -> None: ...

    def manager_ids(self, company_id: str) -> list[str]: ...

    def count_managers(self, company_id: str) -> int: ...

    def page(self, company_id: str, limit: int, offset: int) -> list[Member]: ...

    def of_user(self, user_id: str) -> list[Member]: ...


class Requests(Protocol):
    """``uow.requests``: repositories.LinkRequestRepository."""

    def add(self, request: LinkRequest) -> None: ...

    def get(self, request_id: str, lock: bool = False) -> LinkRequest | None: ...

    def pending_of(self, company_id: str, user_id: str) -> LinkRequest | None: ...

    def pending(self, company_id: str, limit: int | None = None, offset: int = 0) -> list[LinkRequest]: ...

    def of_user(self, user_id: str, limit: int, offset: int) -> list[LinkRequest]: ...

    def all_of_user(self, user_id: str) -> list[LinkRequest]: ...

    def decided_by(self, user_id: str) -> list[LinkRequest]: ...

    def anonymize_requester(self, user_id: str, pseudonym: str) -> int: ...

    def forget_decider(self, user_id: str, marker: str) -> int: ...

    def save_decision(self, request: LinkRequest) -> None: ...


class Users(Protocol):
    """``uow.users``: repositories.UserRepository."""

    def get(self, user_id: str) -> UserRecord | None: ...

    def many(self, user_ids: Iterable[str]) -> dict[str, UserRecord]: ...

    def put(self, record: UserRecord) -> None: ...

    def remove(self, user_id: str) -> bool: ...

    def erased(self, user_id: str) -> bool: ...

    def mark_erased(self, user_id: str, request_id: str, at: Any) -> None: ...


class LinkingUow(UnitOfWorkPort, Protocol):
    """The unit of work linking's handlers take (``adapters/uow.py`` implements it)."""

    def forget_copies(self, user_id: str) -> int:
        """Sent outbox rows and dead letters naming the person."""
        ...

    @property
    def companies(self) -> Companies: ...

    @property
    def members(self) -> Members: ...

    @property
    def requests(self) -> Requests: ...

    @property
    def users(self) -> Users: ...

